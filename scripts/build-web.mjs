// Builds the web admin center (web/ → web/dist) when web/dist is missing or older than its sources,
// so `npm start` on a fresh clone, and the browser tests, always serve the current pages.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function newest(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let m = 0;
  for (const e of readdirSync(path)) m = Math.max(m, newest(join(path, e)));
  return m;
}

/** Whether web/dist is missing or older than web/src, web/index.html, the Vite config or the lock file. */
export function webIsStale() {
  const built = join(root, "web", "dist", "index.html");
  if (!existsSync(built)) return true;
  const at = statSync(built).mtimeMs;
  const sources = ["web/src", "web/index.html", "web/vite.config.ts", "package-lock.json"].map((p) => join(root, p)).filter(existsSync);
  return sources.some((s) => newest(s) > at);
}

/** Builds the web when stale (or always, with force); throws when the build fails. */
export function ensureWebBuilt({ quiet = false, force = false } = {}) {
  if (!force && !webIsStale()) return false;
  if (!quiet) process.stderr.write("Building the web admin center (web/dist)…\n");
  const vite = join(root, "node_modules", "vite", "bin", "vite.js");
  // Always the production build: under a test runner NODE_ENV is "test", which would bundle React's
  // development build (twice the size, slower) into web/dist.
  const r = spawnSync(process.execPath, [vite, "build", "web", "--logLevel", "warn"], {
    cwd: root,
    stdio: quiet ? "pipe" : "inherit",
    env: { ...process.env, NODE_ENV: "production" },
  });
  if (r.status !== 0) {
    throw new Error(`The web build failed (exit ${r.status}):\n${r.stderr?.toString() ?? ""}${r.stdout?.toString() ?? ""}`);
  }
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    ensureWebBuilt({ force: process.argv.includes("--force") });
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
