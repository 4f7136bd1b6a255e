import { z } from "zod";
import type { ActingOf } from "../http/server.ts";
import { type Api, errors } from "../http/types.ts";
import type { Runtime } from "../runtime.ts";
import { buildDemoTenant } from "./demo.service.ts";

export function demoRoutes(api: Api, runtime: Runtime, actingOf: ActingOf): void {
  api.post(
    "/demo",
    {
      schema: {
        tags: ["tenants"],
        summary: "Build a deterministic demo tenant",
        body: z.strictObject({
          users: z.number().int().min(1).max(1_000_000),
          seed: z.union([z.string().max(64), z.number()]).optional(),
          name: z.string().min(1).max(64).optional(),
          domain: z.string().min(3).max(253).optional(),
        }),
        response: {
          201: z.object({
            tenant: z.object({ id: z.string(), name: z.string(), domain: z.string(), createdAt: z.string() }),
            users: z.number(),
            licensedForAudioConferencing: z.number(),
            byProvider: z.record(z.string(), z.number()),
            bridge: z.string(),
            serviceNumbers: z.number(),
          }),
          ...errors,
        },
      },
    },
    async (req, reply) => reply.status(201).send(await buildDemoTenant(runtime.store.db, runtime.env, req.body, actingOf(req))),
  );
}
