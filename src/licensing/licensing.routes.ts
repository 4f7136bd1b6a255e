import { z } from "zod";
import { userView } from "../directory/users.schemas.ts";
import type { CtxOf } from "../http/server.ts";
import { type Api, errors, identityParam } from "../http/types.ts";
import { addSku, assignLicence, listSkus, removeLicence, removeSku, setSkuSeats } from "./licensing.service.ts";

export const skuView = z.object({
  id: z.string(),
  skuPartNumber: z.string(),
  name: z.string(),
  seats: z.number(),
  consumed: z.number(),
  available: z.number(),
  servicePlans: z.array(z.string()),
});

const licenceChange = z.object({
  user: userView,
  changed: z.boolean(),
  conferencing: z.string().nullable(),
  warning: z.string().nullable().describe("something that failed after the change was made, e.g. the user's email could not be written"),
});

export function licensingRoutes(api: Api, ctxOf: CtxOf): void {
  api.get(
    "/licences",
    {
      schema: {
        tags: ["licences"],
        summary: "List the tenant's licences with seats used and free",
        response: { 200: z.array(skuView), ...errors },
      },
    },
    async (req) => listSkus(await ctxOf(req)),
  );
  api.post(
    "/licences",
    {
      schema: {
        tags: ["licences"],
        summary: "Add a licence (SKU) with its seats",
        body: z.strictObject({
          skuPartNumber: z.string().min(1).max(64),
          name: z.string().max(128).optional(),
          seats: z.number().int().min(0).max(10_000_000),
          servicePlans: z.array(z.string().min(1).max(64)).max(50).optional(),
        }),
        response: { 201: skuView, ...errors },
      },
    },
    async (req, reply) => reply.status(201).send(await addSku(await ctxOf(req), req.body)),
  );
  api.patch(
    "/licences/:sku",
    {
      schema: {
        tags: ["licences"],
        summary: "Change a licence's seat count",
        params: z.object({ sku: z.string().min(1).max(64) }),
        body: z.strictObject({ seats: z.number().int().min(0).max(10_000_000) }),
        response: { 200: skuView, ...errors },
      },
    },
    async (req) => setSkuSeats(await ctxOf(req), req.params.sku, req.body.seats),
  );
  api.delete(
    "/licences/:sku",
    {
      schema: {
        tags: ["licences"],
        summary: "Remove a licence the tenant no longer has (refused while any user holds a seat)",
        params: z.object({ sku: z.string().min(1).max(64) }),
        response: { 200: skuView, ...errors },
      },
    },
    async (req) => removeSku(await ctxOf(req), req.params.sku),
  );
  api.post(
    "/users/:identity/licences",
    {
      schema: {
        tags: ["licences"],
        summary: "Assign a licence to a user (needs a usage location and a free seat)",
        params: identityParam,
        body: z.strictObject({ sku: z.string().min(1).max(64) }),
        response: { 200: licenceChange, ...errors },
      },
    },
    async (req) => assignLicence(await ctxOf(req), req.params.identity, req.body.sku),
  );
  api.delete(
    "/users/:identity/licences/:sku",
    {
      schema: {
        tags: ["licences"],
        summary: "Remove a licence from a user",
        params: z.object({ identity: z.string().min(1).max(512), sku: z.string().min(1).max(64) }),
        response: { 200: licenceChange, ...errors },
      },
    },
    async (req) => removeLicence(await ctxOf(req), req.params.identity, req.params.sku),
  );
}
