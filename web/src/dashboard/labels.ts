/** How the pages name the lifecycle states (InterpretedUserType), keeping the reference's name visible. */
export const LIFECYCLE_LABELS: Record<string, string> = {
  HybridOnpremSfBUserNeedsProvisioning: "On-premises, needs provisioning",
  HybridOnpremSfBUser: "On-premises, ready to move",
  HybridOnlineSfBUserNeedsProvisioning: "Moved online, needs online voice",
  HybridOnlineSfBUser: "Online, done",
  CloudOnlyUser: "Cloud only",
  SoftDeletedUser: "Soft-deleted",
};

export const JOB_KINDS: Record<string, string> = {
  "move-to-microsoft": "Move to Microsoft",
  restore: "Undo a bulk move",
  "move-users": "Move users (Move-CsUser)",
};

export function jobKindLabel(kind: string): string {
  return JOB_KINDS[kind] ?? kind;
}
