/**
 * The one error type of Callplane. Services throw it with a stable `code`;
 * the HTTP layer and the CLI map the code to a status and an exit code here,
 * and nowhere else.
 */
export const errorCodes = {
  invalid_input: { status: 400, exit: 2 },
  unauthenticated: { status: 401, exit: 2 },
  forbidden: { status: 403, exit: 2 },
  csrf: { status: 403, exit: 2 },
  password_change_required: { status: 403, exit: 2 },
  rate_limited: { status: 429, exit: 2 },
  user_not_found: { status: 404, exit: 2 },
  not_found: { status: 404, exit: 2 },
  ambiguous_identity: { status: 409, exit: 2 },
  duplicate: { status: 409, exit: 2 },
  licence_required: { status: 409, exit: 2 },
  no_free_seat: { status: 409, exit: 2 },
  licence_in_use: { status: 409, exit: 2 },
  usage_location_required: { status: 409, exit: 2 },
  provider_conflict: { status: 409, exit: 2 },
  provider_unknown: { status: 400, exit: 2 },
  conference_id_invalid: { status: 400, exit: 2 },
  conference_id_taken: { status: 409, exit: 2 },
  service_number_invalid: { status: 400, exit: 2 },
  service_number_not_on_bridge: { status: 400, exit: 2 },
  not_microsoft_provider: { status: 409, exit: 2 },
  not_enabled: { status: 409, exit: 2 },
  nothing_to_restore: { status: 409, exit: 2 },
  bridge_required: { status: 409, exit: 2 },
  tenant_required: { status: 400, exit: 2 },
  job_not_resumable: { status: 409, exit: 2 },
  job_claimed: { status: 409, exit: 2 },
  publish_in_progress: { status: 409, exit: 2 },
  cloud_only_user: { status: 409, exit: 2 },
  on_premises_authority: { status: 409, exit: 2 },
  already_enabled: { status: 409, exit: 2 },
  policy_not_allowed: { status: 409, exit: 2 },
  store_in_use: { status: 423, exit: 2 },
  unavailable: { status: 503, exit: 3 },
  internal: { status: 500, exit: 3 },
} as const;

export type ErrorCode = keyof typeof errorCodes;

export interface ErrorDetail {
  /** The field, row or item the detail is about, e.g. `body.pinLength` or `line 3`. */
  path?: string;
  message: string;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetail[];

  constructor(code: ErrorCode, message: string, details: ErrorDetail[] = []) {
    super(message);
    this.name = "AppError";
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return errorCodes[this.code].status;
  }

  get exitCode(): number {
    return errorCodes[this.code].exit;
  }
}

/**
 * Runs `fn`; an AppError it throws without details comes out naming the input field it is about
 * (`details: [{ path, message }]`), so a form can show the message next to that field.
 */
export function atField<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof AppError && err.details.length === 0) throw new AppError(err.code, err.message, [{ path, message: err.message }]);
    throw err;
  }
}

/** An error about one input field: the message, and the field it names for a form (`body.name`). */
export function fieldError(path: string, message: string, code: ErrorCode = "invalid_input"): AppError {
  return new AppError(code, message, [{ path, message }]);
}

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(errorCodes, value);
}

export function httpStatusFor(code: string): number {
  return isErrorCode(code) ? errorCodes[code].status : 500;
}

export function exitCodeFor(code: string): number {
  return isErrorCode(code) ? errorCodes[code].exit : 3;
}

interface PgLikeError {
  code?: unknown;
  constraint?: unknown;
  detail?: unknown;
  cause?: unknown;
}

function pgErrorOf(err: unknown): PgLikeError | undefined {
  let cur: unknown = err;
  for (let depth = 0; depth < 4 && cur && typeof cur === "object"; depth++) {
    const e = cur as PgLikeError;
    if (typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)) return e;
    cur = e.cause;
  }
  return undefined;
}

/** Messages for unique constraints, keyed by constraint name, so a race still reads well. */
const uniqueMessages: Record<string, { code: ErrorCode; message: string; path?: string }> = {
  dial_in_users_bridge_conference_id: {
    code: "conference_id_taken",
    message: "That conference ID is already held by another user on this bridge: choose another, or omit it to have one generated.",
  },
  users_tenant_upn: { code: "duplicate", message: "A user with that user principal name already exists.", path: "body.userPrincipalName" },
  users_tenant_sip: { code: "duplicate", message: "A user with that SIP address already exists.", path: "body.sipAddress" },
  users_tenant_alias: { code: "duplicate", message: "A user with that alias already exists.", path: "body.alias" },
  service_numbers_tenant_number: { code: "duplicate", message: "That service number is already on a bridge.", path: "body.number" },
  bridges_tenant_name: { code: "duplicate", message: "A bridge with that name already exists.", path: "body.name" },
  tenants_name: { code: "duplicate", message: "A tenant with that name already exists.", path: "body.name" },
  accounts_name: { code: "duplicate", message: "An account with that name already exists.", path: "body.name" },
  skus_tenant_part_number: {
    code: "duplicate",
    message: "A licence with that SKU part number already exists.",
    path: "body.skuPartNumber",
  },
  providers_tenant_name: { code: "duplicate", message: "A provider with that name already exists.", path: "body.name" },
  directory_objects_tenant_upn: { code: "duplicate", message: "Another on-premises object has that user principal name." },
  directory_objects_tenant_line_uri: {
    code: "duplicate",
    message: "That line URI is already assigned to another on-premises user.",
    path: "body.lineUri",
  },
  users_tenant_on_prem_line_uri: {
    code: "duplicate",
    message: "That line URI is already held by another online user.",
    path: "body.lineUri",
  },
  users_tenant_immutable_id: { code: "duplicate", message: "Another online user is already anchored to that on-premises object." },
  user_acp_entries_user_name: {
    code: "duplicate",
    message: "The user already has an entry for that provider: edit it with `callplane conferencing acp set`.",
    path: "body.name",
  },
  dial_in_users_pkey: {
    code: "already_enabled",
    message: "The user was given Microsoft dial-in conferencing by another change at the same moment: look at the user again.",
  },
  jobs_unfinished_fingerprint: {
    code: "job_claimed",
    message: "The same bulk command is already planned as an unfinished job: run it again to continue that job.",
  },
  directory_objects_tenant_immutable_id: { code: "duplicate", message: "Another on-premises object has that immutable id." },
  pstn_usages_tenant_name: { code: "duplicate", message: "A PSTN usage with that name already exists.", path: "body.name" },
  pstn_gateways_tenant_fqdn: { code: "duplicate", message: "A PSTN gateway with that address already exists.", path: "body.fqdn" },
  voice_routes_tenant_name: { code: "duplicate", message: "A voice route with that name already exists.", path: "body.name" },
  voice_routing_policies_tenant_identity: {
    code: "duplicate",
    message: "A voice routing policy with that identity already exists.",
    path: "body.identity",
  },
  dial_plans_tenant_identity: { code: "duplicate", message: "A dial plan with that identity already exists.", path: "body.identity" },
  normalization_rules_plan_name: {
    code: "duplicate",
    message: "A normalization rule with that name already exists in this dial plan.",
    path: "body.name",
  },
};

/** Says which value clashed, from the constraint's name and PostgreSQL's detail, for a constraint without its own message. */
function unknownDuplicate(constraint: unknown, detail: unknown): AppError {
  const name = typeof constraint === "string" ? constraint : "a unique constraint";
  // PostgreSQL's detail reads `Key (column)=(value) already exists.`: the value is the caller's own input.
  const key = typeof detail === "string" ? /^Key \((.{1,200}?)\)=\((.{0,200})\)/.exec(detail) : null;
  return new AppError(
    "duplicate",
    key
      ? `That ${key[1]} (${key[2]}) is already in use (${name}): choose another.`
      : `That value is already in use (${name}): choose another.`,
  );
}

/** Translates database driver errors into domain errors; anything else passes through unchanged. */
export function translateError(err: unknown): unknown {
  if (err instanceof AppError) return err;
  const pg = pgErrorOf(err);
  if (!pg) return err;
  if (pg.code === "23505") {
    const known = typeof pg.constraint === "string" ? uniqueMessages[pg.constraint] : undefined;
    if (known) return new AppError(known.code, known.message, known.path ? [{ path: known.path, message: known.message }] : []);
    return unknownDuplicate(pg.constraint, pg.detail);
  }
  if (pg.code === "23503") {
    const name = typeof pg.constraint === "string" ? ` (${pg.constraint})` : "";
    return new AppError("not_found", `A referenced item does not exist${name}: it may have been removed meanwhile; look it up again.`);
  }
  // Two writers waited on each other (PostgreSQL broke the cycle) or a serializable conflict: nothing was changed.
  if (pg.code === "40P01" || pg.code === "40001") {
    return new AppError("unavailable", "The change collided with another change at the same moment and was not made: try again.");
  }
  if (pg.code === "22P02" || pg.code === "22003") return new AppError("invalid_input", "A value has the wrong format.");
  // NUL and other characters PostgreSQL text cannot hold (22021, 22P05).
  if (pg.code === "22021" || pg.code === "22P05") {
    return new AppError("invalid_input", "A value holds a character that cannot be stored (such as NUL): remove it.");
  }
  if (pg.code === "42501") return new AppError("forbidden", "Audit events cannot be changed or deleted.");
  return err;
}
