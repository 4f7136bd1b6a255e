import { z } from "zod";
import type { CtxOf } from "../http/server.ts";
import { type Api, errors, identityParam } from "../http/types.ts";
import { bulkReport, jobView } from "../jobs/jobs.schemas.ts";
import {
  addServiceNumber,
  createBridge,
  findBridge,
  listBridges,
  listServiceNumbers,
  removeServiceNumber,
  setBridge,
  setServiceNumber,
} from "./bridges.service.ts";
import {
  acpEntryView,
  bridgeView,
  dialInChange,
  dialInView,
  enableBody,
  moveBody,
  moveStart,
  providerView,
  restoreView,
  serviceNumberView,
  setAcpBody,
  setBody,
  settingsPatch,
  settingsView,
  summaryView,
} from "./conferencing.schemas.ts";
import {
  disableDialIn,
  enableDialIn,
  getConferencingSummary,
  getDialIn,
  listDialInUsers,
  restoreUser,
  setDialIn,
} from "./dial-in.service.ts";
import { moveUsersToMicrosoft } from "./move-to-microsoft.service.ts";
import { addProvider, getUserAcp, listProviders, removeUserAcp, setUserAcp } from "./providers.service.ts";
import { restoreJob } from "./restore-job.service.ts";
import { getConferencingSettings, resetConferencingSettings, setConferencingSettings } from "./settings.service.ts";

const tags = ["conferencing"];

export function conferencingRoutes(api: Api, ctxOf: CtxOf): void {
  api.get(
    "/conferencing/summary",
    {
      schema: {
        tags,
        summary: "The audio conferencing page at a glance: banner count and users by provider",
        response: { 200: summaryView, ...errors },
      },
    },
    async (req) => getConferencingSummary(await ctxOf(req)),
  );

  // Providers (Get-CsAudioConferencingProvider)
  api.get(
    "/conferencing/providers",
    {
      schema: {
        tags,
        summary: "List audio conferencing providers (Get-CsAudioConferencingProvider)",
        querystring: z.strictObject({ filter: z.string().max(200).optional().describe("wildcards, e.g. *Call*") }),
        response: { 200: z.array(providerView), ...errors },
      },
    },
    async (req) => listProviders(await ctxOf(req), req.query.filter),
  );
  api.post(
    "/conferencing/providers",
    {
      schema: {
        tags,
        summary: "Add a third-party provider",
        body: z.strictObject({
          name: z.string().min(1).max(100),
          domain: z.string().min(3).max(253),
          url: z.string().max(2000).optional(),
        }),
        response: { 201: providerView, ...errors },
      },
    },
    async (req, reply) => reply.status(201).send(await addProvider(await ctxOf(req), req.body)),
  );

  // Tenant settings
  api.get(
    "/conferencing/settings",
    { schema: { tags, summary: "Tenant conferencing settings", response: { 200: settingsView, ...errors } } },
    async (req) => getConferencingSettings(await ctxOf(req)),
  );
  api.patch(
    "/conferencing/settings",
    {
      schema: {
        tags,
        summary: "Change tenant conferencing settings (Set-CsOnlineDialInConferencingTenantSettings)",
        body: settingsPatch,
        response: { 200: settingsView, ...errors },
      },
    },
    async (req) => setConferencingSettings(await ctxOf(req), req.body),
  );
  api.delete(
    "/conferencing/settings",
    { schema: { tags, summary: "Reset tenant conferencing settings to the defaults", response: { 200: settingsView, ...errors } } },
    async (req) => resetConferencingSettings(await ctxOf(req)),
  );

  // Bridges and service numbers
  api.get(
    "/conferencing/bridges",
    { schema: { tags, summary: "List bridges with their service numbers", response: { 200: z.array(bridgeView), ...errors } } },
    async (req) => listBridges(await ctxOf(req)),
  );
  api.post(
    "/conferencing/bridges",
    {
      schema: {
        tags,
        summary: "Create a bridge (the first is the default)",
        body: z.strictObject({ name: z.string().min(1).max(128), conferenceIdLength: z.number().int().optional() }),
        response: { 201: bridgeView, ...errors },
      },
    },
    async (req, reply) => reply.status(201).send(await createBridge(await ctxOf(req), req.body)),
  );
  api.get(
    "/conferencing/bridges/:bridge",
    {
      schema: {
        tags,
        summary: "Show a bridge",
        params: z.object({ bridge: z.string().min(1).max(128) }),
        response: { 200: bridgeView, ...errors },
      },
    },
    async (req) => findBridge(await ctxOf(req), req.params.bridge),
  );
  api.patch(
    "/conferencing/bridges/:bridge",
    {
      schema: {
        tags,
        summary: "Change a bridge's name, default numbers or default flag (Set-CsOnlineDialInConferencingBridge)",
        params: z.object({ bridge: z.string().min(1).max(128) }),
        body: z.strictObject({
          name: z.string().min(1).max(128).optional(),
          defaultServiceNumber: z.string().max(40).optional(),
          defaultTollFreeServiceNumber: z.string().max(40).optional(),
          setDefault: z.boolean().optional(),
        }),
        response: { 200: bridgeView, ...errors },
      },
    },
    async (req) => setBridge(await ctxOf(req), req.params.bridge, req.body),
  );
  api.get(
    "/conferencing/service-numbers",
    {
      schema: {
        tags,
        summary: "List service numbers (Get-CsOnlineDialInConferencingServiceNumber)",
        querystring: z.strictObject({
          number: z.string().max(40).optional(),
          bridge: z.string().max(128).optional(),
          city: z.string().max(100).optional(),
        }),
        response: { 200: z.array(serviceNumberView), ...errors },
      },
    },
    async (req) => listServiceNumbers(await ctxOf(req), req.query),
  );
  api.post(
    "/conferencing/service-numbers",
    {
      schema: {
        tags,
        summary: "Add a service number to a bridge",
        body: z.strictObject({
          number: z.string().min(1).max(40),
          type: z.enum(["toll", "toll-free"]),
          bridge: z.string().max(128).optional(),
          city: z.string().max(100).optional(),
          country: z.string().max(2).optional(),
          primaryLanguage: z.string().max(20).optional(),
          secondaryLanguages: z.array(z.string().max(20)).optional(),
        }),
        response: { 201: serviceNumberView, ...errors },
      },
    },
    async (req, reply) => reply.status(201).send(await addServiceNumber(await ctxOf(req), req.body)),
  );
  api.patch(
    "/conferencing/service-numbers/:number",
    {
      schema: {
        tags,
        summary: "Change a service number's languages (Set-CsOnlineDialInConferencingServiceNumber)",
        params: z.object({ number: z.string().min(1).max(40) }),
        body: z.strictObject({
          primaryLanguage: z.string().max(20).optional(),
          secondaryLanguages: z.array(z.string().max(20)).optional(),
          restoreDefaultLanguages: z.boolean().optional(),
        }),
        response: { 200: serviceNumberView, ...errors },
      },
    },
    async (req) => setServiceNumber(await ctxOf(req), req.params.number, req.body),
  );
  api.delete(
    "/conferencing/service-numbers/:number",
    {
      schema: {
        tags,
        summary: "Remove an unused service number",
        params: z.object({ number: z.string().min(1).max(40) }),
        response: { 200: serviceNumberView, ...errors },
      },
    },
    async (req) => removeServiceNumber(await ctxOf(req), req.params.number),
  );

  // Per-user third-party entries (Set-/Get-/Remove-CsUserAcp)
  api.get(
    "/users/:identity/acp",
    {
      schema: {
        tags,
        summary: "A user's third-party provider entries (Get-CsUserAcp)",
        params: identityParam,
        response: { 200: z.array(acpEntryView), ...errors },
      },
    },
    async (req) => getUserAcp(await ctxOf(req), req.params.identity),
  );
  api.put(
    "/users/:identity/acp",
    {
      schema: {
        tags,
        summary: "Add or update a third-party provider entry (Set-CsUserAcp)",
        params: identityParam,
        body: setAcpBody,
        response: { 200: z.array(acpEntryView), ...errors },
      },
    },
    async (req) => setUserAcp(await ctxOf(req), req.params.identity, req.body),
  );
  api.delete(
    "/users/:identity/acp",
    {
      schema: {
        tags,
        summary: "Remove one or all third-party provider entries (Remove-CsUserAcp)",
        params: identityParam,
        querystring: z.strictObject({ name: z.string().max(100).optional() }),
        response: { 200: z.array(acpEntryView), ...errors },
      },
    },
    async (req) => removeUserAcp(await ctxOf(req), req.params.identity, req.query.name),
  );

  // Dial-in users (Enable-/Set-/Disable-/Get-CsOnlineDialInConferencingUser)
  api.get(
    "/conferencing/users",
    {
      schema: {
        tags,
        summary: "Users on Microsoft dial-in conferencing (Get-CsOnlineDialInConferencingUser)",
        querystring: z.strictObject({
          resultSize: z.coerce.number().int().min(0).max(100000).optional(),
          offset: z.coerce.number().int().min(0).optional(),
        }),
        response: { 200: z.array(dialInView), ...errors },
      },
    },
    async (req) => listDialInUsers(await ctxOf(req), req.query),
  );
  api.get(
    "/conferencing/users/:identity",
    {
      schema: { tags, summary: "A user's Microsoft dial-in conferencing", params: identityParam, response: { 200: dialInView, ...errors } },
    },
    async (req) => getDialIn(await ctxOf(req), req.params.identity),
  );
  api.post(
    "/conferencing/users/:identity/enable",
    {
      schema: {
        tags,
        summary: "Make Microsoft the user's audio conferencing provider (Enable-CsOnlineDialInConferencingUser)",
        params: identityParam,
        // A POST without a body arrives as null: accept it as "no options".
        body: enableBody.nullish(),
        response: { 200: dialInChange, ...errors },
      },
    },
    async (req) => enableDialIn(await ctxOf(req), req.params.identity, req.body ?? {}),
  );
  api.patch(
    "/conferencing/users/:identity",
    {
      schema: {
        tags,
        summary: "Change a user's dial-in settings, reset the PIN or conference ID (Set-CsOnlineDialInConferencingUser)",
        params: identityParam,
        body: setBody,
        response: { 200: dialInChange, ...errors },
      },
    },
    async (req) => setDialIn(await ctxOf(req), req.params.identity, req.body),
  );
  api.post(
    "/conferencing/users/:identity/reset-pin",
    {
      schema: {
        tags,
        summary: "Reset a user's PIN, nothing else (Set-CsOnlineDialInConferencingUser -ResetLeaderPin): the helpdesk's action",
        params: identityParam,
        body: z.strictObject({ sendEmail: z.boolean().optional() }).nullish(),
        response: { 200: dialInChange, ...errors },
      },
    },
    async (req) => setDialIn(await ctxOf(req), req.params.identity, { resetLeaderPin: true, sendEmail: req.body?.sendEmail }),
  );
  api.post(
    "/conferencing/users/:identity/disable",
    {
      schema: {
        tags,
        summary: "Turn off Microsoft dial-in and release the conference ID (Disable-CsOnlineDialInConferencingUser)",
        params: identityParam,
        body: z.strictObject({ sendEmail: z.boolean().optional() }).nullish(),
        response: { 200: dialInChange, ...errors },
      },
    },
    async (req) => disableDialIn(await ctxOf(req), req.params.identity, req.body ?? {}),
  );
  api.post(
    "/conferencing/users/:identity/restore",
    {
      schema: {
        tags,
        summary: "Go back to the archived provider and dial-in settings",
        params: identityParam,
        response: { 200: restoreView, ...errors },
      },
    },
    async (req) => restoreUser(await ctxOf(req), req.params.identity),
  );

  // Bulk
  api.post(
    "/conferencing/move-to-microsoft",
    {
      bodyLimit: 64 * 1024 * 1024,
      schema: {
        tags,
        summary: "Move many users to Microsoft: by list, CSV, current provider or the banner's selection",
        body: moveBody,
        response: { 200: moveStart, 202: moveStart, ...errors },
      },
    },
    async (req, reply) => {
      const { csvBase64, csvName, wait, ...rest } = req.body;
      const csv = csvBase64 !== undefined ? { content: Buffer.from(csvBase64, "base64"), name: csvName ?? "upload.csv" } : undefined;
      const result = await moveUsersToMicrosoft(await ctxOf(req), { ...rest, csv }, { wait: wait === true });
      return reply.status(wait ? 200 : 202).send(result);
    },
  );
  api.post(
    "/conferencing/restore-job",
    {
      schema: {
        tags,
        summary: "Undo a bulk job: every user it changed goes back to what was archived",
        body: z.strictObject({ job: z.uuid(), wait: z.boolean().optional(), dryRun: z.boolean().optional() }),
        response: {
          200: z.object({ job: jobView, report: bulkReport.nullable() }),
          202: z.object({ job: jobView, report: bulkReport.nullable() }),
          ...errors,
        },
      },
    },
    async (req, reply) => {
      const result = await restoreJob(await ctxOf(req), req.body.job, { wait: req.body.wait === true, dryRun: req.body.dryRun });
      return reply.status(req.body.wait ? 200 : 202).send(result);
    },
  );
}
