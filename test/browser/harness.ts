// The browser harness (for the tests and bench:web): a real Callplane server (its own port, a fresh
// data folder, a demo tenant) and Debian's Chromium driven by playwright-core, which never downloads a browser.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Where each test saves a screenshot of its page for review (named in the README). */
export const screenshotDir = path.join(root, "test", "browser", "screenshots");

export const chromiumPath = process.env.CALLPLANE_CHROMIUM ?? "/usr/bin/chromium";
export const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export const ADMIN_USER = "admin";
export const ADMIN_PASSWORD = "Browser-tests-only-1";

/** Builds web/dist when missing or stale; one build at a time across test files (a directory lock). */
export async function ensureWebBuilt(): Promise<void> {
  const lock = path.join(root, "web", ".build-lock");
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${lock} is held for too long: remove it if no build is running.`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    const r = spawnSync(process.execPath, [path.join(root, "scripts", "build-web.mjs")], { cwd: root, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`The web build failed:\n${r.stderr}${r.stdout}`);
  } finally {
    rmdirSync(lock);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      const port = typeof address === "object" && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface ServerHandle {
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

/** Starts `callplane serve` on a free port of 127.0.0.1 with a fresh data folder and a demo tenant of `demoUsers`. */
export async function startServer(opts: { demoUsers?: number; timeoutMs?: number } = {}): Promise<ServerHandle> {
  await ensureWebBuilt();
  const dataDir = mkdtempSync(path.join(tmpdir(), "callplane-browser-"));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, CALLPLANE_ADMIN_PASSWORD: ADMIN_PASSWORD };
  for (const name of ["DATABASE_URL", "CALLPLANE_SERVER", "CALLPLANE_DATA", "CALLPLANE_TENANT", "CALLPLANE_OUTBOX"]) delete env[name];
  const child: ChildProcess = spawn(
    process.execPath,
    [
      path.join(root, "bin", "callplane.mjs"),
      "serve",
      "--data",
      dataDir,
      "--port",
      String(port),
      "--demo-users",
      String(opts.demoUsers ?? 300),
    ],
    { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const url = `http://127.0.0.1:${port}`;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`The server did not start in time:\n${output}`));
    }, opts.timeoutMs ?? 120_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes("Callplane is listening on")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`The server exited (${code}) before listening:\n${output}`));
    });
  });
  return {
    url,
    dataDir,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface BrowserHandle {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** Launches Debian's Chromium with a fresh profile and opens one page. */
export async function launchBrowser(): Promise<BrowserHandle> {
  const profile = mkdtempSync(path.join(tmpdir(), "callplane-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: chromiumArgs,
    viewport: { width: 1366, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Signs in through the sign-in page as the first administrator and waits for the admin center. */
export async function signIn(page: Page, baseUrl: string, user = ADMIN_USER, password = ADMIN_PASSWORD): Promise<void> {
  await page.goto(`${baseUrl}/dashboard`);
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Admin center" }).waitFor();
}

/** Saves a full-page screenshot as test/browser/screenshots/NAME.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const file = path.join(screenshotDir, `${name.replace(/[^a-z0-9._-]+/gi, "-")}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** A server, a browser and a signed-in page, for a test file's beforeAll. */
export interface AdminCenter {
  server: ServerHandle;
  browser: BrowserHandle;
  page: Page;
  url: string;
  close(): Promise<void>;
}

export async function openAdminCenter(opts: { demoUsers?: number } = {}): Promise<AdminCenter> {
  const server = await startServer(opts);
  let browser: BrowserHandle | undefined;
  try {
    browser = await launchBrowser();
    await signIn(browser.page, server.url);
  } catch (e) {
    await browser?.close();
    await server.stop();
    throw e;
  }
  const b = browser;
  return {
    server,
    browser: b,
    page: b.page,
    url: server.url,
    async close() {
      await b.close();
      await server.stop();
    },
  };
}
