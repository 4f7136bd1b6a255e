// The voice, directory sync, audit and dashboard pages in Debian's Chromium against a real server with
// a demo tenant: what an administrator sees and does on each, checked against what the API says.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { DashboardView } from "../../src/dashboard/dashboard.schemas.ts";
import type { UserPage } from "../../src/directory/users.service.ts";
import { type AdminCenter, describeBrowser, openAdminCenter, screenshot } from "./support.ts";

let ac: AdminCenter;
let page: Page;

/** A GET on the API with the page's session (no CSRF token needed for reads). */
async function api<T>(path: string): Promise<T> {
  const res = await page.request.get(`${ac.url}/api/v1${path}`);
  expect(res.status(), `GET ${path}: ${await res.text()}`).toBe(200);
  return (await res.json()) as T;
}

/** A change on the API with the page's session and its CSRF token, as the admin center sends it. */
async function apiChange(method: "PATCH" | "POST", path: string, data: unknown): Promise<unknown> {
  const session = (await api<{ csrfToken: string }>("/auth/session")).csrfToken;
  const res = await page.request.fetch(`${ac.url}/api/v1${path}`, { method, data, headers: { "x-csrf-token": session } });
  expect(res.status(), `${method} ${path}: ${await res.text()}`).toBeLessThan(300);
  return res.json();
}

describeBrowser("voice, sync, audit and dashboard pages", () => {
  beforeAll(async () => {
    ac = await openAdminCenter({ demoUsers: 300 });
    page = ac.page;
  });

  afterAll(async () => {
    await ac?.close();
  });

  it("tests a route for a demo user: the normalized number, the chosen route and gateways, and the full trace", async () => {
    // A demo user on the Global policy and the Global dial plan (the demo grants no per-user ones).
    const users = await api<UserPage>("/users?limit=50");
    const caller = users.items.find((u) => u.voice.tenantDialPlan === null && u.voice.effectiveOnlineVoiceRoutingPolicy === "Global");
    if (!caller) throw new Error("the demo tenant has no user on the Global policy");

    await page.goto(`${ac.url}/voice`);
    await page.getByRole("heading", { name: "Voice routing", level: 1 }).waitFor();
    expect(await page.getByRole("tab", { name: "Route tester" }).getAttribute("aria-selected")).toBe("true");
    await page.getByRole("combobox", { name: "User" }).fill(caller.userPrincipalName);
    await page.getByLabel("Dialled number").fill("4255550123");
    await page.getByRole("button", { name: "Test route" }).click();

    await expect.poll(() => page.getByTestId("chosen-route").textContent()).toBe("US and Canada");
    const result = page.locator(".route-test-result");
    const text = (await result.textContent()) ?? "";
    expect(text).toContain("+14255550123 by rule Ten digits");
    expect(text).toContain("sbc1.contoso.com");
    expect(text).toContain("US and Canada backup");
    expect(await page.getByRole("status").filter({ hasText: "Routed by US and Canada" }).count()).toBe(1);

    // Every normalization rule of Global, with why it won or lost.
    const rules = page.getByTestId("normalization-trace").locator("tbody tr");
    expect(await rules.count()).toBe(3);
    expect(await rules.filter({ hasText: "Ten digits" }).textContent()).toContain("chosen");
    expect(await rules.filter({ hasText: "Eleven digits" }).textContent()).toContain("does not match");

    // Every route considered: the chosen one, its backup, the ones whose pattern did not match, the
    // usage never evaluated and the route outside the policy — each with its reason.
    const trace = page.getByTestId("route-trace").locator("tbody tr");
    const row = async (route: string) =>
      (await trace.filter({ has: page.getByRole("rowheader", { name: route, exact: true }) }).textContent()) ?? "";
    expect(await row("US and Canada")).toMatch(/chosen.*first route of usage "US"/);
    expect(await row("US and Canada backup")).toContain("backup");
    expect(await row("Emergency")).toContain("does not match");
    expect(await row("Redmond local")).toContain("not in the policy");
    expect(await trace.filter({ hasText: "not evaluated" }).count()).toBe(1);
    await screenshot(page, "voice-route-test");
  });

  it("Publish tab: says nothing is published, previews the impact as the API counts it, and refuses a proxy address on its field", async () => {
    await page.goto(`${ac.url}/voice?tab=publish`);
    await page.getByRole("heading", { name: "Publish to SIP proxies" }).waitFor();
    expect(await page.getByTestId("publish-summary").textContent()).toContain("Nothing has been published yet.");
    expect(await page.getByText("No SIP proxy yet").count()).toBe(1);
    await page.getByRole("button", { name: "Preview impact" }).click();
    const plan = page.getByTestId("publish-plan");
    await plan.waitFor();
    const counted = (await apiChange("POST", "/voice/publish/plan", {})) as {
      callers: number;
      destinations: number;
      changed: { routable: number };
    };
    const text = (await plan.textContent()) ?? "";
    expect(text).toContain("Compared with nothing published yet");
    expect(text).toContain(`${counted.callers.toLocaleString("en")} callers`);
    expect(text).toContain(`${counted.destinations.toLocaleString("en")} calls`);
    expect(text).toContain(`${counted.changed.routable.toLocaleString("en")}become routable`);
    await screenshot(page, "voice-publish-plan");

    await page.getByRole("button", { name: "New proxy" }).click();
    await page.getByLabel("Name").fill("kamailio1");
    await page.getByLabel("RPC address").fill("not an address");
    await page.getByRole("button", { name: "Add proxy" }).click();
    const field = page.getByLabel("RPC address");
    await expect.poll(async () => (await field.getAttribute("aria-invalid")) ?? "").toBe("true");
    expect(await api<unknown[]>("/voice/proxies")).toEqual([]);
  });

  it("shows the API's refusal of a dangerous route pattern next to the pattern field, and stores nothing", async () => {
    await page.getByRole("tab", { name: "Voice routes" }).click();
    await page.getByRole("button", { name: "New route" }).click();
    await page.getByLabel("Name", { exact: true }).fill("Catastrophic");
    const pattern = page.getByLabel("Number pattern");
    await pattern.fill("^(\\d+)+$");
    await page.getByRole("button", { name: "Add route" }).click();

    await expect.poll(() => pattern.getAttribute("aria-invalid")).toBe("true");
    // The message is tied to the field (aria-describedby), so a screen reader reads it with the field.
    const describedBy = (await pattern.getAttribute("aria-describedby")) ?? "";
    const messages = await Promise.all(describedBy.split(" ").map((id) => page.locator(`[id="${id}"]`).textContent()));
    expect(messages.join(" ")).toMatch(/repeats a repetition.*super-linear/);
    expect((await api<{ name: string }[]>("/voice/routes")).map((r) => r.name)).not.toContain("Catastrophic");
    await screenshot(page, "voice-route-refused");
    await page.getByRole("button", { name: "Cancel" }).click();

    // The arrow keys move between tabs (the WAI-ARIA tabs pattern).
    await page.getByRole("tab", { name: "Voice routes" }).focus();
    await page.keyboard.press("ArrowRight");
    await expect.poll(() => page.locator(":focus").textContent()).toBe("PSTN usages");
    expect(await page.locator(".usage-list li").allTextContents()).toEqual([
      expect.stringContaining("Local"),
      expect.stringContaining("US"),
      expect.stringContaining("Intl"),
    ]);
  });

  it("previews a directory sync, changes nothing until applied, then shows the run and what it changed", async () => {
    const users = await api<UserPage>("/users?source=on-premises&limit=100");
    const target = users.items.find((u) => u.voice.onPremSipEnabled && u.voice.homing === "on-premises");
    if (!target) throw new Error("the demo tenant has no user homed on-premises");
    const upn = target.userPrincipalName;
    await apiChange("PATCH", `/onprem/users/${encodeURIComponent(upn)}`, { lineUri: "tel:+14255559876" });

    await page.goto(`${ac.url}/sync`);
    await page.getByRole("heading", { name: "Directory sync", level: 1 }).waitFor();
    await page.getByRole("button", { name: "Preview a sync" }).click();
    const preview = page.getByRole("table", { name: "What would change" });
    await preview.waitFor();
    expect(await preview.locator("tbody tr").filter({ hasText: upn }).textContent()).toContain("onPremLineUri");
    // A preview is a dry run: the online user still has the old line URI.
    expect((await api<{ voice: { onPremLineUri: string | null } }>(`/users/${encodeURIComponent(upn)}`)).voice.onPremLineUri).toBe(
      target.voice.onPremLineUri,
    );

    await page.getByRole("button", { name: "Apply these changes" }).click();
    await page.getByRole("table", { name: "What changed" }).waitFor();
    await expect.poll(async () => (await page.getByTestId("last-sync").textContent()) ?? "").toMatch(/account:admin.*1 updated/);
    expect((await api<{ voice: { onPremLineUri: string | null } }>(`/users/${encodeURIComponent(upn)}`)).voice.onPremLineUri).toBe(
      "tel:+14255559876",
    );
    const runChanges = page.getByRole("table", { name: /What the sync of .* changed/ });
    await runChanges.waitFor();
    const changed = (await runChanges.locator("tbody tr").filter({ hasText: upn }).textContent()) ?? "";
    expect(changed).toContain("tel:+14255559876");
    expect(changed).toContain(target.voice.onPremLineUri ?? "(none)");
    await screenshot(page, "sync-run-applied");
  });

  it("filters the audit log and shows an event's before and after", async () => {
    await page.goto(`${ac.url}/audit`);
    await page.getByRole("heading", { name: "Audit log", level: 1 }).waitFor();
    const rows = page.locator("table.data > tbody > tr");
    await rows.first().waitFor();
    const all = await api<unknown[]>("/audit?limit=1000");
    expect(await rows.count()).toBe(Math.min(50, all.length));
    if (all.length > 50) expect(await page.getByRole("button", { name: "Older" }).isEnabled()).toBe(true);

    await page.getByLabel("Operation").fill("user.sync.*");
    await page.getByRole("button", { name: "Filter" }).click();
    await expect.poll(() => rows.count()).toBe(1);
    expect(page.url()).toContain("operation=user.sync.*");
    expect(await rows.first().textContent()).toMatch(/account:admin.*user\.sync\.update/);
    await page.getByRole("button", { name: "Before / after" }).click();
    const detail = (await rows.nth(1).textContent()) ?? "";
    expect(detail).toContain('"onPremLineUri": "tel:+14255559876"');

    // A time range in the future holds nothing.
    await page.getByLabel("From").fill("2999-01-01T00:00");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.getByText("No events match these filters.").waitFor();
    await page.getByLabel("From").fill("");
    await page.getByRole("button", { name: "Filter" }).click();
    await expect.poll(() => rows.count()).toBe(1);
    await screenshot(page, "audit-sync-event");
  });

  it("shows the dashboard's figures and charts as the API gives them, with tables for screen readers", async () => {
    const d = await api<DashboardView>("/dashboard");
    await page.goto(`${ac.url}/dashboard`);
    await page.getByRole("heading", { name: "Dashboard", level: 1 }).waitFor();
    const figures = page.locator("dl.figures");
    await figures.waitFor();
    expect(await figures.textContent()).toContain(`Users${d.users.total}`);

    for (const title of [
      "Users by audio conferencing provider",
      "Users by hybrid voice state (InterpretedUserType)",
      "Licence seats used and free",
    ]) {
      expect(await page.getByRole("img", { name: title }).count(), title).toBe(1);
    }
    // The table under each chart has the exact figures.
    const providers = page.getByRole("table", { name: "Users by audio conferencing provider" });
    await page.locator("details.chart-table summary").first().click();
    for (const p of d.byProvider) {
      const label = p.provider === "none" ? "No provider" : p.provider;
      expect(await providers.getByRole("row", { name: new RegExp(`^${label} `) }).textContent()).toContain(String(p.users));
    }
    const onPremReady = d.lifecycle.find((s) => s.state === "HybridOnpremSfBUser")?.users ?? 0;
    expect(onPremReady).toBeGreaterThan(0);
    expect(await page.locator(".donut").textContent()).toContain(`On-premises, ready to move — ${onPremReady}`);
    expect(await page.locator("section", { hasText: "Licences" }).textContent()).toContain("MCOMEETADV");
    // The sync of the previous test is the last one.
    expect(await page.locator("section", { hasText: "Directory sync" }).textContent()).toMatch(/by account:admin.*1 updated/);
    expect(await page.getByText("No bulk jobs yet").count()).toBe(1);
    await screenshot(page, "dashboard-charts");

    // A state in the legend leads to the users in that state.
    await page.locator(".donut").getByRole("link", { name: "On-premises, ready to move" }).click();
    await page.getByRole("heading", { name: "Users", level: 1 }).waitFor();
    expect(page.url()).toContain("lifecycle=HybridOnpremSfBUser");
  });
});
