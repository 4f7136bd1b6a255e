// The admin center follows the signed-in role: a helpdesk account, given a one-time password, must
// choose its own first, then sees the pages but not the changes its role cannot make (it may reset a
// PIN, not change a provider or move users), and can sign out.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type AdminCenter, type BrowserHandle, describeBrowser, launchBrowser, openAdminCenter, screenshot } from "./support.ts";

describeBrowser("admin center: pages and actions follow the signed-in role", () => {
  let ac: AdminCenter;
  let helpdesk: BrowserHandle;
  let page: Page;
  let oneTimePassword = "";

  beforeAll(async () => {
    ac = await openAdminCenter({ demoUsers: 200 });
    const session = await (await ac.page.request.get(`${ac.url}/api/v1/auth/session`)).json();
    const res = await ac.page.request.post(`${ac.url}/api/v1/auth/accounts`, {
      data: { name: "helpdesk1", role: "helpdesk" },
      headers: { "x-csrf-token": session.csrfToken },
    });
    expect(res.status(), await res.text()).toBe(201);
    oneTimePassword = (await res.json()).oneTimePassword;
    helpdesk = await launchBrowser();
    page = helpdesk.page;
  }, 180_000);

  afterAll(async () => {
    await helpdesk?.close();
    await ac?.close();
  });

  it("a one-time password leads to the change-password form, then into the admin center", async () => {
    await page.goto(`${ac.url}/users`);
    await page.getByLabel("User name").fill("helpdesk1");
    await page.getByLabel("Password").fill(oneTimePassword);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Choose a new password" }).waitFor();
    await page.getByLabel("Current password").fill(oneTimePassword);
    await page.getByLabel("New password", { exact: true }).fill("Helpdesk-own-pass-1");
    await page.getByLabel("New password again").fill("Helpdesk-own-pass-2");
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByText("The two new passwords are not the same.").waitFor();
    await screenshot(page, "change-password-mismatch");
    await page.getByLabel("New password again").fill("Helpdesk-own-pass-1");
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByRole("navigation", { name: "Admin center" }).waitFor();
    await page.getByRole("heading", { name: "Users", level: 1 }).waitFor();
    expect(await page.locator("header").innerText()).toContain("helpdesk1 (helpdesk)");
  });

  it("helpdesk sees users but cannot move them, nor change a provider; it may reset a PIN", async () => {
    await page.locator("#users-table tbody tr").first().waitFor();
    expect(await page.getByRole("button", { name: /Move selected to Microsoft/ }).count()).toBe(0);
    await page.goto(`${ac.url}/users?provider=microsoft`);
    await page.locator("#users-table tbody tr").first().waitFor();
    await page.locator("#users-table tbody tr a").first().click();
    await page.getByTestId("conference-id").waitFor();
    expect(await page.getByLabel("Provider name").isDisabled()).toBe(true);
    expect(await page.getByRole("button", { name: "Save", exact: true }).count()).toBe(0);
    await page.getByRole("button", { name: "Reset PIN" }).click();
    expect(await page.getByTestId("new-pin").innerText()).toMatch(/^\d{4,12}$/);
    await screenshot(page, "helpdesk-user-page");
    await page.getByRole("link", { name: "Bulk jobs" }).click();
    await page.getByRole("heading", { name: "Jobs", level: 2 }).waitFor();
    expect(await page.getByRole("heading", { name: "New bulk move to Microsoft" }).count()).toBe(0);
  });

  it("signing out goes back to the sign-in page, and the pages need signing in again", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByText("You are signed out.").waitFor();
    await page.goto(`${ac.url}/conferencing`);
    await page.getByRole("heading", { name: "Sign in to Callplane" }).waitFor();
    expect((await page.request.get(`${ac.url}/api/v1/conferencing/summary`)).status()).toBe(401);
  });

  it("with two tenants, the admin center works on the one chosen in the top bar (an empty one shows its empty state)", async () => {
    const admin = ac.page;
    const session = await (await admin.request.get(`${ac.url}/api/v1/auth/session`)).json();
    const res = await admin.request.post(`${ac.url}/api/v1/tenants`, {
      data: { name: "Fabrikam", domain: "fabrikam.com" },
      headers: { "x-csrf-token": session.csrfToken },
    });
    expect(res.status(), await res.text()).toBe(201);
    await admin.goto(`${ac.url}/users`);
    const tenant = admin.getByLabel("Tenant");
    await tenant.waitFor();
    await admin.locator("#users-table tbody tr").first().waitFor();
    const contoso = await tenant.inputValue();
    await tenant.selectOption({ label: "Fabrikam (fabrikam.com)" });
    await admin.getByText("No users match these filters.").waitFor();
    await screenshot(admin, "tenant-switcher-empty-tenant");
    await admin.getByLabel("Tenant").selectOption(contoso);
    await admin.locator("#users-table tbody tr").first().waitFor();
  });
});
