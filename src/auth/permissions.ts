// Who may do what: the permissions, the roles that hold them, and the one table that says which
// permission every REST route needs. Pure data and lookups; no I/O.

export const permissions = [
  "tenants.read",
  "tenants.write",
  "users.read",
  "users.write",
  "licences.read",
  "licences.write",
  "conferencing.read",
  "conferencing.write",
  "conferencing.bulk",
  "pin.reset",
  "voice.read",
  "voice.write",
  "directory.write",
  "users.move",
  "jobs.read",
  "jobs.resume",
  "audit.read",
  "auth.admin",
] as const;

export type Permission = (typeof permissions)[number];

/** What a route needs: a permission, any signed-in principal (`authenticated`), or nothing (`public`). */
export type RouteAccess = Permission | "authenticated" | "public";

export const roles = ["global-admin", "voice-admin", "conferencing-admin", "helpdesk", "reader"] as const;
export type Role = (typeof roles)[number];

export function isRole(value: string): value is Role {
  return (roles as readonly string[]).includes(value);
}

const reads: Permission[] = ["tenants.read", "users.read", "licences.read", "conferencing.read", "voice.read", "jobs.read", "audit.read"];

/** The roles, modelled on the reference system's admin roles. */
export const rolePermissions: Record<Role, readonly Permission[]> = {
  /** Everything, including accounts, tokens, tenants and licences. */
  "global-admin": permissions,
  /** Voice routing, the on-premises and online voice settings of users, directory import and sync, moves. */
  "voice-admin": [...reads, "voice.write", "directory.write", "users.move", "jobs.resume"],
  /** Providers, bridges, service numbers, settings, per-user dial-in, bulk moves to Microsoft and their undo. */
  "conferencing-admin": [...reads, "conferencing.write", "conferencing.bulk", "pin.reset", "jobs.resume"],
  /** Reads everything and resets a user's dial-in PIN. */
  helpdesk: [...reads, "pin.reset"],
  /** Reads everything. */
  reader: reads,
};

export const roleDescriptions: Record<Role, string> = {
  "global-admin": "everything, including accounts, API tokens, tenants and licences",
  "voice-admin": "voice routing, users' voice settings, directory import and sync, user moves",
  "conferencing-admin": "providers, bridges, service numbers, dial-in users, PIN resets, bulk moves and their undo",
  helpdesk: "read everything, reset a user's PIN",
  reader: "read everything",
};

export function permissionsOf(role: Role): Permission[] {
  return [...rolePermissions[role]];
}

export function roleHas(role: Role, permission: Permission): boolean {
  return rolePermissions[role].includes(permission);
}

/** The roles that hold a permission, for a message that says who may do it. */
export function rolesWith(permission: Permission): Role[] {
  return roles.filter((r) => roleHas(r, permission));
}

/**
 * The permission of every REST route, keyed `METHOD /api/v1/path/:param` as Fastify names it.
 * buildServer refuses to start with a route under /api/ missing here. Read-only routes take their
 * module's read permission.
 */
export const routePermissions: Record<string, RouteAccess> = {
  // Sign-in and the signed-in principal (src/auth)
  "POST /api/v1/auth/sign-in": "public",
  "GET /api/v1/auth/session": "authenticated",
  "POST /api/v1/auth/sign-out": "authenticated",
  "POST /api/v1/auth/password": "authenticated",
  "GET /api/v1/auth/roles": "authenticated",
  "GET /api/v1/auth/tokens": "auth.admin",
  "POST /api/v1/auth/tokens": "auth.admin",
  "DELETE /api/v1/auth/tokens/:id": "auth.admin",
  "GET /api/v1/auth/accounts": "auth.admin",
  "POST /api/v1/auth/accounts": "auth.admin",
  "PATCH /api/v1/auth/accounts/:name": "auth.admin",
  "POST /api/v1/auth/accounts/:name/reset-password": "auth.admin",
  "POST /api/v1/auth/accounts/:name/unlock": "auth.admin",

  // Tenants and the demo
  "GET /api/v1/tenants": "tenants.read",
  "POST /api/v1/tenants": "tenants.write",
  "POST /api/v1/demo": "tenants.write",

  // Users (directory)
  "GET /api/v1/users": "users.read",
  "POST /api/v1/users": "users.write",
  "GET /api/v1/users/:identity": "users.read",
  "PATCH /api/v1/users/:identity": "users.write",
  "DELETE /api/v1/users/:identity": "users.write",
  "GET /api/v1/users/:identity/checklist": "users.read",

  // Licences
  "GET /api/v1/licences": "licences.read",
  "POST /api/v1/licences": "licences.write",
  "PATCH /api/v1/licences/:sku": "licences.write",
  "DELETE /api/v1/licences/:sku": "licences.write",
  "POST /api/v1/users/:identity/licences": "licences.write",
  "DELETE /api/v1/users/:identity/licences/:sku": "licences.write",

  // Audio conferencing
  "GET /api/v1/conferencing/summary": "conferencing.read",
  "GET /api/v1/conferencing/providers": "conferencing.read",
  "POST /api/v1/conferencing/providers": "conferencing.write",
  "GET /api/v1/conferencing/settings": "conferencing.read",
  "PATCH /api/v1/conferencing/settings": "conferencing.write",
  "DELETE /api/v1/conferencing/settings": "conferencing.write",
  "GET /api/v1/conferencing/bridges": "conferencing.read",
  "POST /api/v1/conferencing/bridges": "conferencing.write",
  "GET /api/v1/conferencing/bridges/:bridge": "conferencing.read",
  "PATCH /api/v1/conferencing/bridges/:bridge": "conferencing.write",
  "GET /api/v1/conferencing/service-numbers": "conferencing.read",
  "POST /api/v1/conferencing/service-numbers": "conferencing.write",
  "PATCH /api/v1/conferencing/service-numbers/:number": "conferencing.write",
  "DELETE /api/v1/conferencing/service-numbers/:number": "conferencing.write",
  "GET /api/v1/users/:identity/acp": "conferencing.read",
  "PUT /api/v1/users/:identity/acp": "conferencing.write",
  "DELETE /api/v1/users/:identity/acp": "conferencing.write",
  "GET /api/v1/conferencing/users": "conferencing.read",
  "GET /api/v1/conferencing/users/:identity": "conferencing.read",
  "PATCH /api/v1/conferencing/users/:identity": "conferencing.write",
  "POST /api/v1/conferencing/users/:identity/enable": "conferencing.write",
  "POST /api/v1/conferencing/users/:identity/disable": "conferencing.write",
  "POST /api/v1/conferencing/users/:identity/restore": "conferencing.write",
  "POST /api/v1/conferencing/users/:identity/reset-pin": "pin.reset",
  "POST /api/v1/conferencing/move-to-microsoft": "conferencing.bulk",
  "POST /api/v1/conferencing/restore-job": "conferencing.bulk",

  // Voice routing
  "GET /api/v1/voice/pstn-usages": "voice.read",
  "POST /api/v1/voice/pstn-usages": "voice.write",
  "PATCH /api/v1/voice/pstn-usages": "voice.write",
  "DELETE /api/v1/voice/pstn-usages/:name": "voice.write",
  "GET /api/v1/voice/gateways": "voice.read",
  "POST /api/v1/voice/gateways": "voice.write",
  "GET /api/v1/voice/gateways/:identity": "voice.read",
  "PATCH /api/v1/voice/gateways/:identity": "voice.write",
  "DELETE /api/v1/voice/gateways/:identity": "voice.write",
  "GET /api/v1/voice/routes": "voice.read",
  "POST /api/v1/voice/routes": "voice.write",
  "GET /api/v1/voice/routes/:identity": "voice.read",
  "PATCH /api/v1/voice/routes/:identity": "voice.write",
  "DELETE /api/v1/voice/routes/:identity": "voice.write",
  "GET /api/v1/voice/routing-policies": "voice.read",
  "POST /api/v1/voice/routing-policies": "voice.write",
  "GET /api/v1/voice/routing-policies/:identity": "voice.read",
  "PATCH /api/v1/voice/routing-policies/:identity": "voice.write",
  "DELETE /api/v1/voice/routing-policies/:identity": "voice.write",
  "GET /api/v1/voice/dial-plans": "voice.read",
  "POST /api/v1/voice/dial-plans": "voice.write",
  "GET /api/v1/voice/dial-plans/:identity": "voice.read",
  "PATCH /api/v1/voice/dial-plans/:identity": "voice.write",
  "DELETE /api/v1/voice/dial-plans/:identity": "voice.write",
  "GET /api/v1/voice/normalization-rules": "voice.read",
  "POST /api/v1/voice/normalization-rules": "voice.write",
  "GET /api/v1/voice/normalization-rules/:identity": "voice.read",
  "PATCH /api/v1/voice/normalization-rules/:identity": "voice.write",
  "DELETE /api/v1/voice/normalization-rules/:identity": "voice.write",
  // The test tools change nothing.
  "POST /api/v1/voice/test/dial-plan": "voice.read",
  "POST /api/v1/voice/test/normalization-rule": "voice.read",
  "POST /api/v1/voice/test/voice-route": "voice.read",
  "POST /api/v1/voice/test/route": "voice.read",
  "GET /api/v1/voice/proxies": "voice.read",
  "POST /api/v1/voice/proxies": "voice.write",
  "DELETE /api/v1/voice/proxies/:name": "voice.write",
  "POST /api/v1/voice/publish": "voice.write",
  "POST /api/v1/voice/publish/plan": "voice.read",
  "GET /api/v1/voice/publish/status": "voice.read",
  "GET /api/v1/kamailio/config": "voice.read",

  // Hybrid voice: the directory mirror, on-premises and online voice settings, moves
  "POST /api/v1/directory/import": "directory.write",
  "POST /api/v1/directory/sync": "directory.write",
  "GET /api/v1/onprem/users/:identity": "users.read",
  "PATCH /api/v1/onprem/users/:identity": "directory.write",
  "POST /api/v1/onprem/users/:identity/enable": "directory.write",
  "PUT /api/v1/onprem/users/:identity/voice-routing-policy": "directory.write",
  "PATCH /api/v1/users/:identity/voice": "directory.write",
  "PUT /api/v1/users/:identity/online-voice-routing-policy": "directory.write",
  "POST /api/v1/users/:identity/move": "users.move",
  "POST /api/v1/users/move": "users.move",

  // Jobs and the audit log
  // The outbox (src/notify)
  "GET /api/v1/mail": "conferencing.read",
  "GET /api/v1/mail/queue": "conferencing.read",
  "GET /api/v1/mail/:id": "conferencing.read",
  "POST /api/v1/mail/retry": "conferencing.write",
  "GET /api/v1/jobs": "jobs.read",
  "GET /api/v1/jobs/:id": "jobs.read",
  "GET /api/v1/jobs/:id/results": "jobs.read",
  "GET /api/v1/jobs/:id/results.csv": "jobs.read",
  "POST /api/v1/jobs/:id/resume": "jobs.resume",
  "GET /api/v1/audit": "audit.read",

  // The admin center's read models (src/dashboard): the dashboard, and sync runs read from the audit log
  "GET /api/v1/dashboard": "users.read",
  "GET /api/v1/directory/sync-runs": "audit.read",
  "GET /api/v1/directory/sync-runs/:id": "audit.read",
};

/** Routes an account that must change its password may still use. */
export const allowedWhilePasswordChangeRequired = new Set([
  "GET /api/v1/auth/session",
  "POST /api/v1/auth/sign-out",
  "POST /api/v1/auth/password",
]);

/** The table key of a route: HEAD routes Fastify adds for GET routes share the GET entry. */
export function routeKey(method: string, url: string): string {
  return `${method === "HEAD" ? "GET" : method} ${url}`;
}

/** The access a route needs, or undefined when the table has no entry (a route under /api/ must have one). */
export function accessOf(method: string, url: string): RouteAccess | undefined {
  return Object.hasOwn(routePermissions, routeKey(method, url)) ? routePermissions[routeKey(method, url)] : undefined;
}
