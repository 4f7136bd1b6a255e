import type { CtxOf } from "../http/server.ts";
import { type Api, errors, identityParam } from "../http/types.ts";
import { createUserBody, updateUserBody, userListQuery, userPage, userView } from "./users.schemas.ts";
import { createUser, deleteUser, getUser, listUsers, updateUser } from "./users.service.ts";

export function userRoutes(api: Api, ctxOf: CtxOf): void {
  api.get(
    "/users",
    {
      schema: {
        tags: ["users"],
        summary: "List users (Get-CsOnlineUser), with the admin center's filters",
        querystring: userListQuery,
        response: { 200: userPage, ...errors },
      },
    },
    async (req) => listUsers(await ctxOf(req), req.query),
  );
  api.post(
    "/users",
    { schema: { tags: ["users"], summary: "Add a user", body: createUserBody, response: { 201: userView, ...errors } } },
    async (req, reply) => reply.status(201).send(await createUser(await ctxOf(req), req.body)),
  );
  api.get(
    "/users/:identity",
    {
      schema: {
        tags: ["users"],
        summary: "Show a user by UPN, SIP address, alias or object id",
        params: identityParam,
        response: { 200: userView, ...errors },
      },
    },
    async (req) => getUser(await ctxOf(req), req.params.identity),
  );
  api.patch(
    "/users/:identity",
    {
      schema: {
        tags: ["users"],
        summary: "Change a user's directory attributes",
        params: identityParam,
        body: updateUserBody,
        response: { 200: userView, ...errors },
      },
    },
    async (req) => updateUser(await ctxOf(req), req.params.identity, req.body),
  );
  api.delete(
    "/users/:identity",
    { schema: { tags: ["users"], summary: "Remove a user", params: identityParam, response: { 200: userView, ...errors } } },
    async (req) => deleteUser(await ctxOf(req), req.params.identity),
  );
}
