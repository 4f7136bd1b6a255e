// The seed's admin-center steps, walked in Chromium on a demo tenant: the Users filter "Users ready to
// be moved to Audio Conferencing", the properties page's Provider name and Default toll number
// drop-downs and Save, Reset PIN, a bulk job from an uploaded CSV, and the banner's move.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type AdminCenter, describeBrowser, openAdminCenter, screenshot } from "./support.ts";

interface UserPage {
  total: number;
  items: { userPrincipalName: string; displayName: string; provider: { kind: string; name: string | null } }[];
}

describeBrowser("admin center: the seed's steps in Chromium", () => {
  let ac: AdminCenter;
  let page: Page;
  let tmp: string;

  beforeAll(async () => {
    ac = await openAdminCenter({ demoUsers: 300 });
    page = ac.page;
    tmp = mkdtempSync(path.join(tmpdir(), "callplane-browser-files-"));
  }, 180_000);

  afterAll(async () => {
    await ac?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** The API as the signed-in browser sees it (same cookies). */
  async function api<T>(p: string): Promise<T> {
    const res = await page.request.get(`${ac.url}/api/v1${p}`);
    expect(res.status(), await res.text()).toBe(200);
    return (await res.json()) as T;
  }

  const table = () => page.locator("#users-table");

  it("the Users filter 'Users ready to be moved to Audio Conferencing' lists exactly those users", async () => {
    const ready = await api<UserPage>("/users?readyForAudioConferencing=true&limit=1");
    expect(ready.total).toBeGreaterThan(0);
    await page.getByRole("link", { name: "Users", exact: true }).click();
    await expect.poll(() => table().locator("tbody tr").count()).toBe(50);
    await page.getByLabel("Filter", { exact: true }).selectOption({ label: "Users ready to be moved to Audio Conferencing" });
    await expect.poll(() => page.url()).toContain("view=ready");
    await expect.poll(() => table().getAttribute("data-state")).toBe("ready");
    await expect
      .poll(() => table().locator("caption").innerText())
      .toContain(`of ${new Intl.NumberFormat("en").format(ready.total)} users`);
    const rows = await table().locator("tbody tr").count();
    expect(rows).toBe(Math.min(50, ready.total));
    expect(await table().locator("tbody tr", { hasText: "ready to move" }).count()).toBe(rows);
    await screenshot(page, "users-ready-to-move-filter");
  });

  let upn = "";

  it("the properties page: Provider name → Microsoft → Save shows the conference ID and numbers", async () => {
    const ready = await api<UserPage>("/users?readyForAudioConferencing=true&provider=third-party&limit=1");
    const user = ready.items[0];
    if (!user) throw new Error("the demo tenant has no third-party user ready to move");
    upn = user.userPrincipalName;
    await page.getByRole("link", { name: user.displayName }).first().click();
    await page.getByRole("heading", { name: user.displayName, level: 1 }).waitFor();
    const provider = page.getByLabel("Provider name");
    expect(await provider.inputValue()).toBe(user.provider.name);
    await provider.selectOption("Microsoft");
    await page.getByText(/archived and can be restored/).waitFor();
    await page.getByRole("button", { name: "Save", exact: true }).click();
    const conferenceId = page.getByTestId("conference-id");
    await conferenceId.waitFor();
    expect(await conferenceId.innerText()).toMatch(/^\d{5,}$/);
    expect(await page.getByTestId("toll-number").innerText()).toMatch(/^\+\d{8,}$/);
    expect(await page.getByTestId("toll-free-number").innerText()).toMatch(/^\+\d{8,}|—$/);
    expect(await page.getByTestId("new-pin").innerText()).toMatch(/^\d{4,12}$/);
    expect(await page.getByLabel("Provider name").inputValue()).toBe("Microsoft");
    await screenshot(page, "user-provider-microsoft-saved");
    const shown = await api<{ conferenceId: string }>(`/conferencing/users/${encodeURIComponent(upn)}`);
    expect(await conferenceId.innerText()).toBe(shown.conferenceId);
  });

  it("the Default toll number drop-down changes the user's toll number", async () => {
    const toll = page.getByLabel("Default toll number");
    // Saved and settled: nothing to save until a drop-down changes.
    await expect.poll(() => page.getByRole("button", { name: "Save", exact: true }).isDisabled()).toBe(true);
    const current = await toll.inputValue();
    const options = (await Promise.all((await toll.locator("option").all()).map((o) => o.getAttribute("value")))).filter((v): v is string =>
      Boolean(v),
    );
    const other = options.find((o) => o !== current);
    if (!other) throw new Error(`the bridge has one toll number only: ${options.join(", ")}`);
    await toll.selectOption(other);
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await expect.poll(() => page.getByTestId("toll-number").innerText(), { timeout: 10_000 }).toBe(other);
    await page.reload();
    await expect.poll(() => page.getByTestId("toll-number").innerText(), { timeout: 10_000 }).toBe(other);
    await expect.poll(() => page.getByLabel("Default toll number").inputValue()).toBe(other);
    await screenshot(page, "user-default-toll-number-changed");
  });

  it("Reset PIN shows the new PIN once", async () => {
    await page.getByRole("button", { name: "Reset PIN" }).click();
    const pin = page.getByTestId("new-pin");
    await pin.waitFor();
    expect(await pin.innerText()).toMatch(/^\d{4,12}$/);
    await screenshot(page, "user-reset-pin");
    await page.reload();
    await page.getByTestId("conference-id").waitFor();
    expect(await page.getByTestId("new-pin").count()).toBe(0);
  });

  it("a bulk job from an uploaded CSV: dry-run preview, live progress, per-user results and the CSV of results", async () => {
    const ready = await api<UserPage>("/users?readyForAudioConferencing=true&limit=5");
    const upns = ready.items.map((u) => u.userPrincipalName);
    expect(upns).toHaveLength(5);
    const csv = path.join(tmp, "move.csv");
    writeFileSync(csv, `UserPrincipalName\r\n${upns.join("\r\n")}\r\nnobody.here@contoso.com\r\n`);

    await page.getByRole("link", { name: "Bulk jobs" }).click();
    await page.getByLabel("A CSV file").check();
    await page.getByLabel("CSV file", { exact: true }).setInputFiles(csv);
    await page.getByText("move.csv,").waitFor();
    await page.getByRole("button", { name: "Preview (dry run)" }).click();
    await page.getByText("Dry run: nothing was changed").waitFor();
    await expect.poll(() => page.getByTestId("report-summary").innerText()).toMatch(/Would change 5, unchanged 0, failed 1/);
    await screenshot(page, "bulk-csv-dry-run");

    await page.getByRole("button", { name: "Move to Microsoft", exact: true }).click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
    const progress = page.getByTestId("job-progress");
    await expect.poll(() => progress.innerText(), { timeout: 30_000 }).toContain("6 of 6 users processed (100%)");
    expect(await progress.innerText()).toContain("changed 5, unchanged 0, failed 1");
    const results = page.locator("table.data tbody tr");
    await expect.poll(() => results.count()).toBe(6);
    for (const u of upns) expect(await page.locator("table.data tbody tr", { hasText: u }).innerText()).toMatch(/changed/i);
    expect(await page.locator("table.data tbody tr", { hasText: "nobody.here@contoso.com" }).innerText()).toMatch(/no user has this UPN/);
    await screenshot(page, "bulk-csv-job-results");

    const href = await page.getByRole("link", { name: "Download results (CSV)" }).getAttribute("href");
    expect(href).toMatch(/\/results\.csv$/);
    const res = await page.request.get(`${ac.url}${href}`);
    expect(res.status()).toBe(200);
    const body = await res.text();
    for (const u of upns) expect(body).toContain(u);
    expect(body).toContain("nobody.here@contoso.com");
  });

  it("Restore undoes that job: every user it changed goes back to their provider", async () => {
    const jobUrl = page.url();
    await page.getByRole("button", { name: "Restore (undo this job)" }).click();
    await page.waitForURL((u) => u.toString() !== jobUrl && /\/jobs\/[0-9a-f-]{36}$/.test(u.toString()));
    await page.getByRole("heading", { name: /Restore/, level: 1 }).waitFor();
    await expect.poll(() => page.getByTestId("job-progress").innerText(), { timeout: 30_000 }).toContain("(100%)");
    expect(await page.getByTestId("job-progress").innerText()).toContain("changed 5");
    await screenshot(page, "bulk-job-restored");
  });

  it("the Users table sorts on the server by a column header, announced with aria-sort", async () => {
    await page.getByRole("link", { name: "Users", exact: true }).click();
    await page.getByLabel("Filter", { exact: true }).selectOption("all");
    const header = table().locator("th", { hasText: "Display name" });
    await header.getByRole("button").click();
    await expect.poll(() => header.getAttribute("aria-sort")).toBe("ascending");
    await expect.poll(() => table().getAttribute("data-state")).toBe("ready");
    await header.getByRole("button").click();
    await expect.poll(() => header.getAttribute("aria-sort")).toBe("descending");
    await expect.poll(() => page.url()).toContain("sort=displayName&order=desc");
    await expect.poll(() => table().getAttribute("data-state")).toBe("ready");
    const first = await table().locator("tbody tr").first().locator("td").nth(1).innerText();
    const api = await (await page.request.get(`${ac.url}/api/v1/users?sort=displayName&order=desc&limit=1`)).json();
    expect(first).toBe(api.items[0].displayName);
    await screenshot(page, "users-sorted-by-display-name");
  });

  it("adds a user: the API's refusal next to the field, then the new user's properties", async () => {
    await page.getByRole("link", { name: "Users", exact: true }).click();
    await page.getByRole("button", { name: "Add a user…" }).click();
    const upnField = page.getByLabel("User principal name");
    await upnField.fill("not-an-upn");
    await page.getByLabel("Usage location").fill("GB");
    await page.getByRole("button", { name: "Add user" }).click();
    await expect.poll(() => upnField.getAttribute("aria-invalid")).toBe("true");
    await screenshot(page, "users-add-refused");
    await upnField.fill("new.person@contoso.com");
    await page.getByLabel("Display name").fill("New Person");
    await page.getByRole("button", { name: "Add user" }).click();
    await page.getByRole("heading", { name: "New Person", level: 1 }).waitFor();
    expect(page.url()).toContain("/users/new.person%40contoso.com");
  });

  it("a setting the API refuses shows the API's message next to its field", async () => {
    await page.getByRole("link", { name: "Audio conferencing" }).click();
    const pin = page.getByLabel(/PIN length/);
    await pin.fill("3");
    await page.getByRole("button", { name: "Save settings" }).click();
    await expect.poll(() => pin.getAttribute("aria-invalid")).toBe("true");
    const describedBy = (await pin.getAttribute("aria-describedby")) ?? "";
    expect(await page.locator(`[id="${describedBy.split(" ")[0]}"]`).innerText()).toMatch(/PIN length 3 is out of range/);
    await screenshot(page, "conferencing-settings-field-error");
    await page.reload();
    expect(await page.getByLabel(/PIN length/).inputValue()).not.toBe("3");
  });

  it("is usable from the keyboard and by a screen reader: skip link, focus on the new page's heading, every control named", async () => {
    await page.goto(`${ac.url}/users`);
    await table().locator("tbody tr").first().waitFor();
    // The skip link is the first stop of the tab order, and Enter on it takes the focus to the page.
    const firstStop = `document.querySelector('a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])').textContent`;
    expect(await page.evaluate(firstStop)).toBe("Skip to content");
    await page.locator(".skip-link").focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => page.evaluate("document.activeElement && document.activeElement.id")).toBe("main");
    await page.getByRole("link", { name: "Audio conferencing" }).click();
    await page.getByRole("heading", { name: "Bridges and service numbers" }).waitFor();
    await expect
      .poll(() => page.evaluate("document.activeElement && document.activeElement.tagName + ':' + document.activeElement.textContent"))
      .toBe("H1:Audio conferencing");
    for (const path of ["/users", "/conferencing", "/jobs", `/users/${encodeURIComponent(upn)}`]) {
      await page.goto(`${ac.url}${path}`);
      await page.locator("main h1").waitFor();
      await page.waitForLoadState("networkidle");
      // Every input, select and textarea has a label or an aria-label: a screen reader names it.
      const unnamed = await page.evaluate(`[...document.querySelectorAll("main input, main select, main textarea")]
        .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute("aria-label") && !e.getAttribute("aria-labelledby"))
        .map((e) => e.outerHTML.slice(0, 120))`);
      expect(unnamed, path).toEqual([]);
    }
  });

  it("the banner: 'Click here to move them' moves every ready user, and the banner is gone", async () => {
    await page.getByRole("link", { name: "Audio conferencing" }).click();
    const banner = page.getByRole("region", { name: "Users to move" });
    await banner.waitFor();
    expect(await banner.innerText()).toMatch(/Audio Conferencing licen[cs]e/);
    await screenshot(page, "conferencing-banner");
    await banner.getByRole("button", { name: "Click here to move them" }).click();
    await page.getByRole("button", { name: "Move to Microsoft", exact: true }).click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
    await expect.poll(() => page.getByTestId("job-progress").innerText(), { timeout: 60_000 }).toContain("(100%)");
    await page.getByRole("link", { name: "Audio conferencing" }).click();
    await page.getByRole("heading", { name: "Users by provider" }).waitFor();
    expect(await page.getByRole("region", { name: "Users to move" }).count()).toBe(0);
    await page.getByText("Every user with an Audio Conferencing licence has Microsoft as their audio conferencing provider.").waitFor();
    expect((await api<UserPage>("/users?readyForAudioConferencing=true&limit=0")).total).toBe(0);
    await screenshot(page, "conferencing-banner-gone");
  });
});
