import { z } from "zod";
import type { CtxOf } from "../../http/server.ts";
import { type Api, errors } from "../../http/types.ts";
import { generateKamailioConfig } from "./kamailio-config.service.ts";
import {
  kamailioConfigQuery,
  kamailioConfigView,
  planBody,
  planView,
  proxyCreate,
  proxyView,
  publishBody,
  publishStatusView,
  publishView,
} from "./publish.schemas.ts";
import { addProxy, listProxies, planPublish, publishStatus, publishVoice, removeProxy } from "./publish.service.ts";

const tags = ["voice"];

export function publishRoutes(api: Api, ctxOf: CtxOf): void {
  api.get(
    "/voice/proxies",
    {
      schema: {
        tags,
        summary: "The SIP proxies (Kamailio) voice routing is published to",
        response: { 200: z.array(proxyView), ...errors },
      },
    },
    async (req) => listProxies(await ctxOf(req)),
  );
  api.post(
    "/voice/proxies",
    {
      schema: {
        tags,
        summary: "Add a SIP proxy: its JSON-RPC address and the folder of tables it reads",
        body: proxyCreate,
        response: { 201: proxyView, ...errors },
      },
    },
    async (req, reply) => reply.status(201).send(await addProxy(await ctxOf(req), req.body)),
  );
  api.delete(
    "/voice/proxies/:name",
    {
      schema: {
        tags,
        summary: "Remove a SIP proxy from the publish list (it keeps routing on what it has)",
        params: z.object({ name: z.string().min(1).max(100) }),
        response: { 200: proxyView, ...errors },
      },
    },
    async (req) => removeProxy(await ctxOf(req), req.params.name),
  );
  api.post(
    "/voice/publish",
    {
      schema: {
        tags,
        summary:
          "Publish the voice routing to every SIP proxy as a new generation (or, with rollback, generation N's tables again); refused, nothing published, when a rule or route would route differently from test-route",
        body: publishBody,
        response: { 200: publishView, ...errors },
      },
    },
    async (req) => publishVoice(await ctxOf(req), { rollback: req.body?.rollback }),
  );
  api.post(
    "/voice/publish/plan",
    {
      schema: {
        tags,
        summary:
          "Impact preview: every caller × likely destinations (and the numbers given) routed by the live generation and by what would be published; the calls that change, with examples. Publishes nothing",
        body: planBody,
        response: { 200: planView, ...errors },
      },
    },
    async (req) => planPublish(await ctxOf(req), { listed: req.body?.numbers }),
  );
  api.get(
    "/voice/publish/status",
    {
      schema: {
        tags,
        summary: "The latest generation, unpublished changes, and each proxy's generation read back from it (drift)",
        response: { 200: publishStatusView, ...errors },
      },
    },
    async (req) => publishStatus(await ctxOf(req)),
  );
  api.get(
    "/kamailio/config",
    {
      schema: {
        tags,
        summary: "A complete, commented kamailio.cfg that routes calls from what Callplane publishes, and the command that runs it",
        querystring: kamailioConfigQuery,
        response: { 200: kamailioConfigView, ...errors },
      },
    },
    async (req) => {
      await ctxOf(req);
      return generateKamailioConfig(req.query);
    },
  );
}
