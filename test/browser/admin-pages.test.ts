// The admin center pages for what only the CLI did before, walked in Chromium on a demo tenant as the
// global administrator: accounts (a one-time password shown once), API tokens (shown once, working,
// then revoked and refused), licences (add a SKU, change its seats), a new audio conferencing
// provider, a user's third-party provider entry, and a tenant; a reader sees none of these changes.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type AdminCenter, describeBrowser, launchBrowser, openAdminCenter, screenshot, signIn } from "./support.ts";

interface UserList {
  items: { userPrincipalName: string; provider: { kind: string; name: string | null } }[];
}

describeBrowser("admin center: access, licences, providers and third-party entries", () => {
  let ac: AdminCenter;
  let page: Page;

  beforeAll(async () => {
    ac = await openAdminCenter({ demoUsers: 200 });
    page = ac.page;
  }, 180_000);

  afterAll(async () => {
    await ac?.close();
  });

  /** The API as the signed-in browser sees it (same cookies). */
  async function api<T>(p: string): Promise<T> {
    const res = await page.request.get(`${ac.url}/api/v1${p}`);
    expect(res.status(), await res.text()).toBe(200);
    return (await res.json()) as T;
  }

  const nav = () => page.getByRole("navigation", { name: "Admin center" });

  /** Every input, select and textarea of the page has a label (a screen reader names it). */
  async function unnamedControls(): Promise<string[]> {
    await page.waitForLoadState("networkidle");
    return page.evaluate(`[...document.querySelectorAll("main input, main select, main textarea")]
      .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute("aria-label") && !e.getAttribute("aria-labelledby"))
      .map((e) => e.outerHTML.slice(0, 120))`);
  }

  it("Access: a new reader account's one-time password is shown once", async () => {
    await nav().getByRole("link", { name: "Access" }).click();
    await page.getByRole("heading", { name: "Access", level: 1 }).waitFor();
    const accounts = page.getByRole("region", { name: "Accounts" });
    await accounts.locator("#accounts-table").waitFor();
    expect(await accounts.locator("#accounts-table").innerText()).toContain("admin");

    // A name the server refuses: its message is next to the field.
    await accounts.getByLabel("Account name").fill("not a name!");
    await accounts.getByLabel("Role", { exact: true }).selectOption("reader");
    await accounts.getByRole("button", { name: "Create account" }).click();
    await accounts.locator(".field-error", { hasText: "is not an account name" }).waitFor();

    await accounts.getByLabel("Account name").fill("reader1");
    await accounts.getByRole("button", { name: "Create account" }).click();
    const otp = accounts.getByTestId("one-time-password");
    await otp.waitFor();
    const password = (await otp.innerText()).trim();
    expect(password.length).toBeGreaterThanOrEqual(12);
    await accounts.locator("#accounts-table tr", { hasText: "reader1" }).waitFor();
    expect(await accounts.locator("#accounts-table tr", { hasText: "reader1" }).innerText()).toContain("must choose a password");
    expect(await accounts.getByLabel("Role of reader1").inputValue()).toBe("reader");
    await screenshot(page, "access-one-time-password");

    // Dismissed, it is gone, and the page never shows it again (nor does the list).
    await accounts.getByRole("button", { name: "I have copied it" }).click();
    expect(await accounts.getByTestId("one-time-password").count()).toBe(0);
    await page.reload();
    await page.locator("#accounts-table tr", { hasText: "reader1" }).waitFor();
    expect(await page.locator("body").innerText()).not.toContain(password);

    // The account signs in with it (and is asked to choose its own).
    const signInAs = (pw: string) =>
      fetch(`${ac.url}/api/v1/auth/sign-in`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "reader1", password: pw }),
      });
    const res = await signInAs(password);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { mustChangePassword: boolean }).mustChangePassword).toBe(true);

    // Set role (the drop-down alone changes nothing), reset the password (a new one, shown once), disable.
    const row = page.locator("#accounts-table tr", { hasText: "reader1" });
    await page.getByLabel("Role of reader1").selectOption("helpdesk");
    await row.getByRole("button", { name: "Set role of reader1" }).click();
    await page.getByText("reader1 is now helpdesk.").waitFor();
    await row.getByRole("button", { name: "Reset password of reader1" }).click();
    const again = page.getByTestId("one-time-password");
    await again.waitFor();
    const second = (await again.innerText()).trim();
    expect(second).not.toBe(password);
    expect((await signInAs(password)).status).toBe(401);
    await page.getByRole("button", { name: "I have copied it" }).click();
    await row.getByRole("button", { name: "Disable reader1" }).click();
    await row.getByText("disabled").waitFor();
    expect((await signInAs(second)).status).toBe(401);
    await row.getByRole("button", { name: "Enable reader1" }).click();
    await row.getByText("enabled").waitFor();
    expect((await signInAs(second)).status).toBe(200);
    expect((await api<{ name: string; role: string }[]>("/auth/accounts")).find((a) => a.name === "reader1")?.role).toBe("helpdesk");
  });

  it("Access: an API token is shown once, works, and stops working once revoked in the page", async () => {
    const tokens = page.getByRole("region", { name: "API tokens" });
    await tokens.getByLabel("Token name").fill("ci-reports");
    await tokens.getByLabel("Token role").selectOption("reader");
    await tokens.getByLabel(/Expires in/).fill("soon");
    await tokens.getByRole("button", { name: "Create token" }).click();
    await tokens.locator(".field-error", { hasText: "is not a duration" }).waitFor();

    await tokens.getByLabel(/Expires in/).fill("30d");
    await tokens.getByRole("button", { name: "Create token" }).click();
    const shown = tokens.getByTestId("new-token");
    await shown.waitFor();
    const token = (await shown.innerText()).trim();
    expect(token).toMatch(/^cpt_/);
    const row = tokens.locator("#tokens-table tr", { hasText: "ci-reports" });
    await row.waitFor();
    expect(await row.innerText()).toContain("reader");
    expect(await row.innerText()).toContain("active");
    expect(await row.innerText()).not.toContain(token);
    await screenshot(page, "access-new-token");

    const call = () => fetch(`${ac.url}/api/v1/users?limit=1`, { headers: { authorization: `Bearer ${token}` } });
    expect((await call()).status).toBe(200);

    await tokens.getByRole("button", { name: "I have copied it" }).click();
    expect(await tokens.getByTestId("new-token").count()).toBe(0);
    // Cancel leaves the token working and the focus back on its Revoke button.
    await row.getByRole("button", { name: /Revoke/ }).click();
    await tokens.getByRole("alertdialog").getByRole("button", { name: "Cancel" }).click();
    await expect.poll(() => row.getByRole("button", { name: /Revoke/ }).evaluate((b) => b.matches(":focus"))).toBe(true);
    expect((await call()).status).toBe(200);
    await row.getByRole("button", { name: /Revoke/ }).click();
    const confirm = tokens.getByRole("alertdialog");
    await confirm.waitFor();
    // The confirmation takes the focus, so a keyboard user answers it at once.
    expect(await confirm.getByRole("button", { name: "Yes, revoke" }).evaluate((b) => b.matches(":focus"))).toBe(true);
    await confirm.getByRole("button", { name: "Yes, revoke" }).click();
    await tokens.getByText("Token ci-reports is revoked").waitFor();
    await row.getByText(/revoked/).waitFor();
    expect(await row.getByRole("button", { name: /Revoke/ }).count()).toBe(0);
    expect((await call()).status).toBe(401);
    await screenshot(page, "access-page");
    expect(await unnamedControls()).toEqual([]);
  });

  it("Licences: add a SKU, refuse a duplicate next to its field, change its seats", async () => {
    await nav().getByRole("link", { name: "Licences" }).click();
    await page.getByRole("heading", { name: "Licences", level: 1 }).waitFor();
    await page.locator("#skus-table").waitFor();
    const add = page.getByRole("region", { name: "Add a licence" });
    await add.getByLabel("SKU part number").fill("CALLPLANE_TEST");
    await add.getByLabel(/Licence name/).fill("Browser test licence");
    await add.getByLabel("Seats", { exact: true }).fill("10");
    await add.getByLabel(/Service plans/).fill("MCOMEETADV, MCOEV");
    await add.getByRole("button", { name: "Add licence" }).click();
    await page.getByText("CALLPLANE_TEST added with 10 seats.").waitFor();
    const row = page.locator("#skus-table tbody tr", { hasText: "CALLPLANE_TEST" });
    expect(await row.innerText()).toMatch(/MCOEV, MCOMEETADV|MCOMEETADV, MCOEV/);

    await add.getByLabel("SKU part number").fill("CALLPLANE_TEST");
    await add.getByLabel("Seats", { exact: true }).fill("5");
    await add.getByRole("button", { name: "Add licence" }).click();
    await add.locator(".field-error", { hasText: "already exists" }).waitFor();

    await row.getByLabel("Seats of CALLPLANE_TEST").fill("25");
    await row.getByRole("button", { name: /Save/ }).click();
    await page.getByText("CALLPLANE_TEST now has 25 seats.").waitFor();
    const skus = await api<{ skuPartNumber: string; seats: number; available: number }[]>("/licences");
    expect(skus.find((s) => s.skuPartNumber === "CALLPLANE_TEST")).toMatchObject({ seats: 25, available: 25 });
    await screenshot(page, "licences-page");
    expect(await unnamedControls()).toEqual([]);

    // A licence users hold cannot be removed: the API's reason shows on its row, and it stays.
    const held = page.locator("#skus-table tbody tr").filter({ has: page.locator("th", { hasText: /^MCOMEETADV$/ }) });
    await held.getByRole("button", { name: "Remove MCOMEETADV", exact: true }).click();
    await held.getByRole("button", { name: "Remove MCOMEETADV from the tenant" }).click();
    await held.getByText(/is assigned to .* users: remove it from them first/).waitFor();
    // One nobody holds goes, after the confirmation.
    await row.getByRole("button", { name: "Remove CALLPLANE_TEST", exact: true }).click();
    await row.getByRole("button", { name: "Remove CALLPLANE_TEST from the tenant" }).click();
    await page.getByText("The licence CALLPLANE_TEST was removed.").waitFor();
    const after = await api<{ skuPartNumber: string }[]>("/licences");
    expect(after.map((s) => s.skuPartNumber)).toContain("MCOMEETADV");
    expect(after.map((s) => s.skuPartNumber)).not.toContain("CALLPLANE_TEST");
  });

  it("Audio conferencing: add a provider", async () => {
    await nav().getByRole("link", { name: "Audio conferencing" }).click();
    const providers = page.getByRole("region", { name: "Providers" });
    await providers.locator("#providers-list").waitFor();
    await providers.getByLabel("Provider domain").fill("not a domain");
    await providers.getByLabel("Provider name").fill("Zoomline");
    await providers.getByRole("button", { name: "Add provider" }).click();
    await providers.locator(".field-error", { hasText: "is not a domain name" }).waitFor();
    await providers.getByLabel("Provider domain").fill("zoomline.example.com");
    await providers.getByRole("button", { name: "Add provider" }).click();
    await providers.getByText("Provider Zoomline added.").waitFor();
    await providers.locator("#providers-list li", { hasText: "zoomline.example.com" }).waitFor();
    await screenshot(page, "conferencing-add-provider");
  });

  it("a user's page: set a third-party provider entry", async () => {
    const users = await api<UserList>("/users?provider=third-party&limit=1");
    const upn = users.items[0]?.userPrincipalName;
    expect(upn).toBeTruthy();
    await page.goto(`${ac.url}/users/${encodeURIComponent(upn ?? "")}`);
    const acp = page.getByRole("region", { name: "Third-party provider entries" });
    await acp.locator("#acp-table").waitFor();
    await acp.getByLabel("Third-party provider").selectOption("Zoomline");
    await acp.getByLabel("Toll number", { exact: true }).fill("+14255550199");
    await acp.getByLabel("Participant passcode").fill("12ab");
    await acp.getByRole("button", { name: "Set provider entry" }).click();
    await acp.locator(".field-error", { hasText: "must be 1 to 20 digits" }).waitFor();
    await acp.getByLabel("Participant passcode").fill("4455667");
    await acp.getByRole("button", { name: "Set provider entry" }).click();
    await acp.getByText("The Zoomline entry is saved.").waitFor();
    const row = acp.locator("#acp-table tbody tr", { hasText: "Zoomline" });
    await row.waitFor();
    expect(await row.innerText()).toContain("4455667");
    const entries = await api<{ name: string; tollNumber: string | null; participantPasscode: string | null; isDefault: boolean }[]>(
      `/users/${encodeURIComponent(upn ?? "")}/acp`,
    );
    expect(entries.find((e) => e.name === "Zoomline")).toMatchObject({
      tollNumber: "+14255550199",
      participantPasscode: "4455667",
      isDefault: true,
    });
    await screenshot(page, "user-third-party-entry");
    expect(await unnamedControls()).toEqual([]);

    // Remove it again, after the browser's confirmation.
    page.once("dialog", (d) => void d.accept());
    await row.getByRole("button", { name: "Remove the Zoomline entry" }).click();
    await acp.getByText("Removed the Zoomline entry.").waitFor();
    await expect.poll(() => acp.locator("#acp-table tbody tr", { hasText: "Zoomline" }).count()).toBe(0);
    const left = await api<{ name: string }[]>(`/users/${encodeURIComponent(upn ?? "")}/acp`);
    expect(left.map((e) => e.name)).not.toContain("Zoomline");
  });

  it("a reader sees Licences without its changes, and neither the Access link nor its page", async () => {
    const session = (await api<{ csrfToken: string }>("/auth/session")).csrfToken;
    const res = await page.request.post(`${ac.url}/api/v1/auth/accounts`, {
      data: { name: "viewer", role: "reader", password: "Viewer-password-123" },
      headers: { "x-csrf-token": session },
    });
    expect(res.status(), await res.text()).toBe(201);
    const reader = await launchBrowser();
    try {
      const rp = reader.page;
      await signIn(rp, ac.url, "viewer", "Viewer-password-123");
      const links = rp.getByRole("navigation", { name: "Admin center" });
      await links.getByRole("link", { name: "Licences" }).click();
      await rp.locator("#skus-table").waitFor();
      expect(await links.getByRole("link", { name: "Access" }).count()).toBe(0);
      expect(await rp.getByRole("region", { name: "Add a licence" }).count()).toBe(0);
      expect(await rp.getByRole("button", { name: /Save|Remove/ }).count()).toBe(0);
      await rp.goto(`${ac.url}/access`);
      await rp.getByText("Accounts and API tokens are managed by global administrators.").waitFor();
      expect(await rp.locator("#accounts-table").count()).toBe(0);
    } finally {
      await reader.close();
    }
  });

  it("Access: add a tenant (last: a second tenant brings the tenant switcher)", async () => {
    await page.goto(`${ac.url}/access`);
    const tenants = page.getByRole("region", { name: "Tenants" });
    await tenants.locator("#tenants-table").waitFor();
    await tenants.getByLabel("Tenant name").fill("Fabrikam");
    await tenants.getByLabel("Tenant domain").fill("fabrikam.com");
    await tenants.getByRole("button", { name: "Create tenant" }).click();
    await tenants.locator("#tenants-table tr", { hasText: "fabrikam.com" }).waitFor();
    await tenants.getByLabel("Tenant name").fill("Fabrikam");
    await tenants.getByLabel("Tenant domain").fill("fabrikam2.com");
    await tenants.getByRole("button", { name: "Create tenant" }).click();
    await tenants
      .locator(".field-error", { hasText: "A tenant named Fabrikam already exists (domain fabrikam.com): choose another name." })
      .waitFor();
    const list = await api<{ name: string }[]>("/tenants");
    expect(list.map((t) => t.name).sort()).toEqual(["Contoso", "Fabrikam"]);
    await screenshot(page, "access-tenants");
  });
});
