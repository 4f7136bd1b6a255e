import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";

/** Where `npm run build:web` writes the admin center. */
export const WEB_DIST = fileURLToPath(new URL("../../web/dist/", import.meta.url));

const notBuilt = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Callplane</title>
<p>The admin center is not built yet: run <code>npm run build:web</code> (or <code>npm start</code>, which builds it), then reload.</p></html>`;

/**
 * Serves the web admin center (web/dist) at `/`: its files, and index.html for every other path
 * outside /api/ so the browser's router can show deep links such as /users/alice@contoso.com.
 */
export async function registerWeb(app: FastifyInstance, dist: string = WEB_DIST): Promise<void> {
  const apiNotFound = (method: string, url: string) => ({
    error: {
      code: "not_found",
      message: `There is no ${method} ${url.split("?")[0]}: see /api/openapi.json for the API.`,
      details: [],
    },
  });
  if (!existsSync(`${dist}index.html`)) {
    app.get("/*", { schema: { hide: true } }, async (req, reply) => {
      if (req.url.startsWith("/api/")) return reply.status(404).send(apiNotFound(req.method, req.url));
      return reply.status(503).type("text/html; charset=utf-8").send(notBuilt);
    });
    return;
  }
  await app.register(fastifyStatic, {
    root: dist,
    prefix: "/",
    wildcard: false,
    index: false,
    // Vite names assets by content hash: they never change; index.html must always be fresh.
    setHeaders(res, path) {
      res.setHeader("cache-control", path.includes("/assets/") ? "public, max-age=31536000, immutable" : "no-cache");
    },
  });
  const shell = async (req: { url: string; method: string }, reply: import("fastify").FastifyReply) => {
    if (req.url.startsWith("/api/")) return reply.status(404).send(apiNotFound(req.method, req.url));
    return reply.header("cache-control", "no-cache").sendFile("index.html", { cacheControl: false });
  };
  app.get("/", { schema: { hide: true } }, shell);
  app.get("/*", { schema: { hide: true } }, shell);
}
