import { formatOf, importDirectory, sourceFromText, syncDirectory } from "../directory/sync.service.ts";
import type { CtxOf } from "../http/server.ts";
import { type Api, errors, identityParam } from "../http/types.ts";
import {
  bulkMoveBody,
  bulkMoveStart,
  checklistView,
  enableOnPremBody,
  importBody,
  importResult,
  moveBody,
  moveReportRow,
  onlineVoiceChange,
  onPremChange,
  onPremUserView,
  policyBody,
  setOnlineVoiceBody,
  setOnPremBody,
  syncBody,
  syncResult,
} from "./hybrid.schemas.ts";
import {
  enableOnPremUser,
  getChecklist,
  getOnPremUser,
  grantOnlineVoiceRoutingPolicy,
  grantOnPremVoiceRoutingPolicy,
  setOnlineVoice,
  setOnPremUser,
} from "./hybrid.service.ts";
import { moveUser, moveUsers } from "./move.service.ts";

/** Directory import and sync, the on-premises voice commands, moves and online voice. */
export function hybridRoutes(api: Api, ctxOf: CtxOf): void {
  const tags = ["hybrid voice"];
  api.post(
    "/directory/import",
    {
      bodyLimit: 64 * 1024 * 1024,
      schema: {
        tags,
        summary: "Load an on-premises directory export (CSV or LDIF) into the directory mirror",
        body: importBody,
        response: { 200: importResult, ...errors },
      },
    },
    async (req) => {
      const { format, fileName, content, full } = req.body;
      return importDirectory(await ctxOf(req), sourceFromText(formatOf(fileName, format), fileName, content), { full });
    },
  );
  api.post(
    "/directory/sync",
    {
      schema: {
        tags,
        summary: "Synchronise the on-premises directory to the online users (Azure AD Connect)",
        body: syncBody,
        response: { 200: syncResult, ...errors },
      },
    },
    async (req) => syncDirectory(await ctxOf(req), req.body),
  );
  api.get(
    "/onprem/users/:identity",
    {
      schema: {
        tags,
        summary: "Show an on-premises user (Get-CsUser)",
        params: identityParam,
        response: { 200: onPremUserView, ...errors },
      },
    },
    async (req) => getOnPremUser(await ctxOf(req), req.params.identity),
  );
  api.post(
    "/onprem/users/:identity/enable",
    {
      schema: {
        tags,
        summary: "Enable an on-premises user for Skype for Business Server (Enable-CsUser)",
        params: identityParam,
        body: enableOnPremBody,
        response: { 200: onPremChange, ...errors },
      },
    },
    async (req) => enableOnPremUser(await ctxOf(req), req.params.identity, req.body),
  );
  api.patch(
    "/onprem/users/:identity",
    {
      schema: {
        tags,
        summary: "Set Enterprise Voice and the line URI on-premises (Set-CsUser)",
        params: identityParam,
        body: setOnPremBody,
        response: { 200: onPremChange, ...errors },
      },
    },
    async (req) => setOnPremUser(await ctxOf(req), req.params.identity, req.body),
  );
  api.put(
    "/onprem/users/:identity/voice-routing-policy",
    {
      schema: {
        tags,
        summary: "Grant an on-premises voice routing policy (Grant-CsVoiceRoutingPolicy)",
        params: identityParam,
        body: policyBody,
        response: { 200: onPremChange, ...errors },
      },
    },
    async (req) => grantOnPremVoiceRoutingPolicy(await ctxOf(req), req.params.identity, req.body.policyName),
  );
  api.post(
    "/users/:identity/move",
    {
      schema: {
        tags,
        summary: "Move a user online or back to a pool (Move-CsUser)",
        params: identityParam,
        body: moveBody,
        response: { 200: moveReportRow, ...errors },
      },
    },
    async (req) => moveUser(await ctxOf(req), req.params.identity, req.body),
  );
  api.post(
    "/users/move",
    {
      bodyLimit: 64 * 1024 * 1024,
      schema: {
        tags,
        summary: "Move many users (Move-CsUser -UserList): a resumable job",
        body: bulkMoveBody,
        response: { 200: bulkMoveStart, 202: bulkMoveStart, ...errors },
      },
    },
    async (req, reply) => {
      const { csvBase64, csvName, wait, ...rest } = req.body;
      const csv = csvBase64 !== undefined ? { content: Buffer.from(csvBase64, "base64"), name: csvName ?? "upload.csv" } : undefined;
      const result = await moveUsers(await ctxOf(req), { ...rest, csv }, { wait: wait === true });
      return reply.status(wait ? 200 : 202).send(result);
    },
  );
  api.patch(
    "/users/:identity/voice",
    {
      schema: {
        tags,
        summary: "Online Enterprise Voice and hosted voicemail (Set-CsUser online)",
        params: identityParam,
        body: setOnlineVoiceBody,
        response: { 200: onlineVoiceChange, ...errors },
      },
    },
    async (req) => setOnlineVoice(await ctxOf(req), req.params.identity, req.body),
  );
  api.put(
    "/users/:identity/online-voice-routing-policy",
    {
      schema: {
        tags,
        summary: "Grant an online voice routing policy (Grant-CsOnlineVoiceRoutingPolicy)",
        params: identityParam,
        body: policyBody,
        response: { 200: onlineVoiceChange, ...errors },
      },
    },
    async (req) => grantOnlineVoiceRoutingPolicy(await ctxOf(req), req.params.identity, req.body.policyName),
  );
  api.get(
    "/users/:identity/checklist",
    {
      schema: {
        tags,
        summary: "The hybrid voice steps for a user, done or missing",
        params: identityParam,
        response: { 200: checklistView, ...errors },
      },
    },
    async (req) => getChecklist(await ctxOf(req), req.params.identity),
  );
}
