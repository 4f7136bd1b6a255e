import { z } from "zod";
import type { ActingOf } from "../http/server.ts";
import { type Api, errors } from "../http/types.ts";
import type { Runtime } from "../runtime.ts";
import { createTenant, listTenants } from "./tenant.service.ts";

const tenantView = z.object({ id: z.string(), name: z.string(), domain: z.string(), createdAt: z.string() });

export function tenantRoutes(api: Api, runtime: Runtime, actingOf: ActingOf): void {
  api.get(
    "/tenants",
    { schema: { tags: ["tenants"], summary: "List tenants", response: { 200: z.array(tenantView), ...errors } } },
    async () => listTenants(runtime.store.db),
  );
  api.post(
    "/tenants",
    {
      schema: {
        tags: ["tenants"],
        summary: "Create a tenant with default providers and conferencing settings",
        body: z.strictObject({ name: z.string().min(1).max(128), domain: z.string().min(3).max(253) }),
        response: { 201: tenantView, ...errors },
      },
    },
    async (req, reply) => reply.status(201).send(await createTenant(runtime.store.db, req.body, actingOf(req))),
  );
}
