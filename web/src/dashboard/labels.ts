import { lifecycleLabel } from "../types.ts";

/** The lifecycle states as the Users page names them (one name per concept); soft-deleted users are not listed there. */
export function lifecycleName(state: string): string {
  return state === "SoftDeletedUser" ? "Soft-deleted" : lifecycleLabel(state);
}

export const JOB_KINDS: Record<string, string> = {
  "move-to-microsoft": "Move to Microsoft",
  restore: "Undo a bulk move",
  "move-users": "Move users (Move-CsUser)",
};

export function jobKindLabel(kind: string): string {
  return JOB_KINDS[kind] ?? kind;
}
