// The mail outbox in the admin center, walked in Chromium on a demo tenant whose users got emails:
// one sent (written as an .eml file, the default transport), one deferred (the outbox folder cannot be
// written, as a mail server that is down), one failed (a user whose name is not a mail address). The
// administrator sees the queue's counts, the messages by state, a message's headers, answer, content
// and history but never its PIN, retries (one, then every failed one), a user's messages and the
// dashboard's queue; a reader sees the same without Retry.
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync } from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type AdminCenter, describeBrowser, launchBrowser, openAdminCenter, screenshot, signIn } from "./support.ts";

interface UserList {
  items: { id: string; userPrincipalName: string; displayName: string }[];
}

interface DialInChange {
  pin: string | null;
  dialIn: { conferenceId: string; serviceNumber: string | null } | null;
  mail: { id: string; to: string; status: string; error: string | null } | null;
}

interface Mail {
  id: string;
  messageId: string;
  to: string;
  status: string;
}

const BROKEN = "no,mail@contoso.com";

describeBrowser("admin center: the mail outbox", () => {
  let ac: AdminCenter;
  let page: Page;
  let csrf = "";
  let outbox = "";
  let kept = "";
  /** The user whose dial-in was turned on (message sent), then whose PIN was reset (message deferred). */
  let alex = { id: "", upn: "", name: "" };
  let brokenId = "";
  let conferenceId = "";
  const pins: string[] = [];
  let deferredId = "";

  /** The API as the signed-in browser sees it (same cookies). */
  async function api<T>(method: "GET" | "POST", p: string, data?: unknown, status = 200): Promise<T> {
    const res =
      method === "GET"
        ? await page.request.get(`${ac.url}/api/v1${p}`)
        : await page.request.post(`${ac.url}/api/v1${p}`, { data: data ?? {}, headers: { "x-csrf-token": csrf } });
    expect(res.status(), await res.text()).toBe(status);
    return (await res.json()) as T;
  }

  const seg = encodeURIComponent;
  const figure = (scope: Page | ReturnType<Page["locator"]>, status: string) => scope.locator(`.mail-figure[data-status="${status}"] dd`);
  const bodyText = () => page.locator("body").innerText();

  beforeAll(async () => {
    // The server's own retries wait ten minutes: every attempt the test sees is one it made.
    const before = process.env.CALLPLANE_MAIL_RETRY_MS;
    process.env.CALLPLANE_MAIL_RETRY_MS = "600000";
    try {
      ac = await openAdminCenter({ demoUsers: 60 });
    } finally {
      if (before === undefined) delete process.env.CALLPLANE_MAIL_RETRY_MS;
      else process.env.CALLPLANE_MAIL_RETRY_MS = before;
    }
    page = ac.page;
    csrf = (await api<{ csrfToken: string }>("GET", "/auth/session")).csrfToken;
    outbox = path.join(ac.server.dataDir, "outbox");
    kept = `${outbox}.kept`;

    // Sent: a third-party user's provider becomes Microsoft; the email is written to the outbox folder.
    const ready = await api<UserList>("GET", "/users?readyForAudioConferencing=true&provider=third-party&limit=1");
    const u = ready.items[0];
    if (!u) throw new Error("the demo tenant has no third-party user ready to move");
    alex = { id: u.id, upn: u.userPrincipalName, name: u.displayName };
    const enabled = await api<DialInChange>("POST", `/conferencing/users/${seg(alex.upn)}/enable`, { replaceProvider: true });
    expect(enabled.mail?.status).toBe("sent");
    conferenceId = enabled.dialIn?.conferenceId ?? "";
    if (enabled.pin) pins.push(enabled.pin);

    // Failed: a user whose name is not a mail address gets dial-in with a licence; the email cannot be sent.
    await api("POST", "/licences", { skuPartNumber: "MAIL_TEST", seats: 5, servicePlans: ["MCOMEETADV"] }, 201);
    brokenId = (
      await api<{ id: string }>("POST", "/users", { userPrincipalName: BROKEN, displayName: "Nomail Person", usageLocation: "US" }, 201)
    ).id;
    const licensed = await api<{ warning: string | null }>("POST", `/users/${seg(BROKEN)}/licences`, { sku: "MAIL_TEST" });
    expect(licensed.warning).toContain("is not a mail address");

    // Deferred: the outbox folder cannot be written (a link to /proc, where nobody can create a file),
    // so the PIN reset's email waits in the outbox, holding its PIN sealed.
    renameSync(outbox, kept);
    symlinkSync("/proc", outbox);
    const reset = await api<DialInChange>("POST", `/conferencing/users/${seg(alex.upn)}/reset-pin`, {});
    expect(reset.mail?.status).toBe("deferred");
    deferredId = reset.mail?.id ?? "";
    if (reset.pin) pins.push(reset.pin);
    expect(pins).toHaveLength(2);
  }, 180_000);

  afterAll(async () => {
    if (outbox && existsSync(kept)) {
      rmSync(outbox, { force: true });
      renameSync(kept, outbox);
    }
    await ac?.close();
  });

  it("the Mail page: the queue's counts, the messages newest first, filtered by state in the query string", async () => {
    await page.getByRole("navigation", { name: "Admin center" }).getByRole("link", { name: "Mail" }).click();
    await page.getByRole("heading", { name: "Mail", level: 1 }).waitFor();
    const queue = page.getByRole("region", { name: "Queue" });
    await expect.poll(() => figure(queue, "sent").innerText()).toBe("1");
    expect(await figure(queue, "deferred").innerText()).toBe("1");
    expect(await figure(queue, "failed").innerText()).toBe("1");
    expect(await figure(queue, "queued").innerText()).toBe("0");
    expect(await figure(queue, "sending").innerText()).toBe("0");
    // Failed messages stand out; the others do not.
    expect(await queue.locator(".mail-figure-alert").getAttribute("data-status")).toBe("failed");
    expect(await queue.locator(".mail-figure-alert").count()).toBe(1);

    const rows = page.locator("#mail-table tbody tr");
    await expect.poll(() => rows.count()).toBe(3);
    // Newest first: the PIN reset (deferred), the broken address (failed), the first email (sent).
    expect(await rows.nth(0).innerText()).toMatch(
      new RegExp(`${alex.upn}[\\s\\S]*Your new dial-in conferencing PIN[\\s\\S]*PIN reset[\\s\\S]*Deferred`),
    );
    expect(await rows.nth(0).innerText()).toContain("Could not write to the outbox folder");
    expect(await rows.nth(1).innerText()).toMatch(/no,mail@contoso\.com[\s\S]*Dial-in turned on[\s\S]*Failed[\s\S]*is not a mail address/);
    expect(await rows.nth(2).innerText()).toMatch(new RegExp(`${alex.upn}[\\s\\S]*Your dial-in conferencing details[\\s\\S]*Sent`));
    await screenshot(page, "mail-page");

    await page.getByLabel("State", { exact: true }).selectOption({ label: "Failed" });
    await expect.poll(() => page.url()).toContain("/mail?status=failed");
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().innerText()).toContain(BROKEN);
    // The filter is in the query string: a reload (or a bookmark) shows the same.
    await page.reload();
    await expect.poll(() => rows.count()).toBe(1);
    expect(await page.getByLabel("State", { exact: true }).inputValue()).toBe("failed");
    // A count is a link to its messages.
    await figure(page.getByRole("region", { name: "Queue" }), "sent")
      .getByRole("link")
      .click();
    await expect.poll(() => page.url()).toContain("/mail?status=sent");
    await expect.poll(() => rows.first().innerText()).toContain("Sent");
    expect(await rows.count()).toBe(1);
    const text = await bodyText();
    for (const pin of pins) expect(text).not.toContain(pin);
    // Every control is named, for a screen reader.
    await page.waitForLoadState("networkidle");
    const unnamed = await page.evaluate(`[...document.querySelectorAll("main input, main select, main textarea")]
      .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute("aria-label") && !e.getAttribute("aria-labelledby"))
      .map((e) => e.outerHTML.slice(0, 120))`);
    expect(unnamed).toEqual([]);
  });

  it("a message: its headers, the mail server's answer, its content but never the PIN, its history; Retry sends it", async () => {
    await page.goto(`${ac.url}/mail?status=deferred`);
    await page.locator("#mail-table tbody tr").first().getByRole("link", { name: "Your new dial-in conferencing PIN" }).click();
    await page.waitForURL(`${ac.url}/mail/${deferredId}`);
    await page.getByRole("heading", { name: "Your new dial-in conferencing PIN", level: 1 }).waitFor();
    const headers = page.getByRole("region", { name: "Headers" });
    const headerText = await headers.innerText();
    expect(headerText).toContain("Audio Conferencing <no-reply@contoso.com>");
    expect(headerText).toContain(`${alex.name} <${alex.upn}>`);
    expect(headerText).toContain(`<${deferredId}@callplane>`);
    expect(headerText).toContain("PIN reset");
    expect(await page.getByTestId("mail-status").innerText()).toBe("Deferred");
    expect(await page.getByTestId("mail-attempts").innerText()).toBe("1");
    expect(await page.getByTestId("mail-last-error").innerText()).toContain(`Could not write to the outbox folder ${outbox}`);
    const content = page.getByRole("region", { name: "Content" });
    const contentText = await content.innerText();
    expect(contentText).toContain("Your leader PIN was reset.");
    expect(contentText).toContain(conferenceId);
    expect(await page.getByTestId("mail-pin").innerText()).toBe("held sealed until the mail server accepts the message; never shown");
    const history = page.locator("#mail-history tbody tr");
    expect(await history.count()).toBe(2);
    expect(await history.nth(0).innerText()).toContain("Queued");
    expect(await history.nth(1).innerText()).toMatch(/Deferred\s+1\s+Could not write to the outbox folder/);
    for (const pin of pins) expect(await bodyText()).not.toContain(pin);
    await screenshot(page, "mail-message-deferred");

    // The folder can be written again: Retry delivers the message now and says so.
    rmSync(outbox, { force: true });
    renameSync(kept, outbox);
    await page.getByRole("button", { name: "Retry", exact: true }).click();
    await expect
      .poll(() => page.getByTestId("retry-outcome").innerText())
      .toBe(`Sent again: the mail server took the message to ${alex.upn}.`);
    await expect.poll(() => page.getByTestId("mail-status").innerText()).toBe("Sent");
    await expect.poll(() => history.count()).toBe(4);
    expect(await history.nth(2).innerText()).toMatch(/Queued[\s\S]*retried by account:admin/);
    expect(await history.nth(3).innerText()).toMatch(/Sent\s+1\s+written to/);
    expect(await page.getByTestId("mail-last-error").innerText()).toBe("—");
    // Accepted: the stored copy no longer holds the PIN, and a sent message is not offered again.
    expect(await page.getByTestId("mail-pin").count()).toBe(0);
    expect(await page.getByRole("button", { name: "Retry", exact: true }).count()).toBe(0);
    for (const pin of pins) expect(await bodyText()).not.toContain(pin);
    await screenshot(page, "mail-message-retried");
    // The user got it, PIN and all, in the outbox folder.
    const file = readdirSync(outbox).find((f) => f.includes(deferredId));
    expect(file).toBeTruthy();
    const eml = readFileSync(path.join(outbox, file ?? ""), "utf8");
    expect(eml).toContain(`Message-ID: <${deferredId}@callplane>`);
    expect(eml).toContain(`Leader PIN: ${pins[1]}`);
  });

  it("Retry all failed: the outcome is shown, and a message that cannot be sent fails again with its reason", async () => {
    await page.getByRole("link", { name: "← Mail" }).click();
    await page.getByRole("heading", { name: "Mail", level: 1 }).waitFor();
    await page.getByRole("button", { name: "Retry all failed" }).click();
    await page.getByText("1 failed message is being sent again: the counts and the list follow how it goes.").waitFor();
    const queue = page.getByRole("region", { name: "Queue" });
    await expect.poll(() => figure(queue, "failed").innerText()).toBe("1");
    await expect.poll(() => figure(queue, "queued").innerText()).toBe("0");
    expect(await figure(queue, "sent").innerText()).toBe("2");
    expect(await figure(queue, "deferred").innerText()).toBe("0");

    const failed = page.locator("#mail-table tbody tr", { hasText: BROKEN });
    await failed.getByRole("link").click();
    await page.getByRole("heading", { name: "Your dial-in conferencing details", level: 1 }).waitFor();
    const history = page.locator("#mail-history tbody tr");
    // Queued, failed at once (no address to send to), queued again by the retry, failed again.
    await expect.poll(() => history.count()).toBe(4);
    expect(await history.nth(0).innerText()).toContain("Queued");
    expect(await history.nth(1).innerText()).toMatch(/Failed\s+—\s+"no,mail@contoso\.com" is not a mail address/);
    expect(await history.nth(2).innerText()).toContain("retried by account:admin");
    expect(await history.nth(3).innerText()).toMatch(/Failed\s+1\s+"no,mail@contoso\.com" is not a mail address/);
    // One message: Retry answers at once with the mail server's (here the outbox's) reason.
    await page.getByRole("button", { name: "Retry", exact: true }).click();
    await expect
      .poll(() => page.getByTestId("retry-outcome").innerText())
      .toMatch(/^Failed again: .*"no,mail@contoso\.com" is not a mail address/);
    await expect.poll(() => history.count()).toBe(6);
    expect(await page.getByTestId("mail-status").innerText()).toBe("Failed");
    await screenshot(page, "mail-message-failed");
  });

  it("a user's page lists the messages sent to them, each opening its message", async () => {
    await page.goto(`${ac.url}/users/${seg(alex.upn)}`);
    const messages = page.getByRole("region", { name: "Messages" });
    const rows = messages.locator("tbody tr");
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.nth(0).innerText()).toMatch(/Your new dial-in conferencing PIN[\s\S]*PIN reset[\s\S]*Sent/);
    expect(await rows.nth(1).innerText()).toMatch(/Your dial-in conferencing details[\s\S]*Dial-in turned on[\s\S]*Sent/);
    for (const pin of pins) expect(await bodyText()).not.toContain(pin);
    await screenshot(page, "user-messages");
    await rows.nth(1).getByRole("link").click();
    await page.getByRole("heading", { name: "Your dial-in conferencing details", level: 1 }).waitFor();
    expect(await page.getByRole("region", { name: "Headers" }).innerText()).toContain(`<${alex.upn}>`);

    // Another user's page lists only theirs.
    await page.goto(`${ac.url}/users/${seg(BROKEN)}`);
    const theirs = page.getByRole("region", { name: "Messages" }).locator("tbody tr");
    await expect.poll(() => theirs.count()).toBe(1);
    expect(await theirs.first().innerText()).toContain("Failed");
    const listed = await api<Mail[]>("GET", `/mail?user=${brokenId}`);
    expect(listed.map((m) => m.to)).toEqual([BROKEN]);
  });

  it("the dashboard shows the mail queue, failed messages standing out, with a link to the Mail page", async () => {
    await page.getByRole("navigation", { name: "Admin center" }).getByRole("link", { name: "Dashboard" }).click();
    const card = page.getByRole("region", { name: "Mail to users" });
    await expect.poll(() => figure(card, "failed").innerText()).toBe("1");
    expect(await figure(card, "sent").innerText()).toBe("2");
    expect(await figure(card, "deferred").innerText()).toBe("0");
    expect(await figure(card, "queued").innerText()).toBe("0");
    expect(await card.locator(".mail-figure-alert").getAttribute("data-status")).toBe("failed");
    expect(await card.getByRole("alert").innerText()).toContain("1 email to users could not be sent");
    await screenshot(page, "dashboard-mail-queue");
    await card.getByRole("link", { name: "see why" }).click();
    await expect.poll(() => page.url()).toContain("/mail?status=failed");
    await page.getByRole("heading", { name: "Mail", level: 1 }).waitFor();
    await page.goto(`${ac.url}/dashboard`);
    await page.getByRole("region", { name: "Mail to users" }).getByRole("link", { name: "All messages" }).click();
    await expect.poll(() => page.url()).toBe(`${ac.url}/mail`);
  });

  it("a reader sees the Mail page and its messages, but no Retry", async () => {
    await api("POST", "/auth/accounts", { name: "mailreader", role: "reader", password: "Mail-reader-password-1" }, 201);
    const reader = await launchBrowser();
    try {
      const rp = reader.page;
      await signIn(rp, ac.url, "mailreader", "Mail-reader-password-1");
      await rp.getByRole("navigation", { name: "Admin center" }).getByRole("link", { name: "Mail" }).click();
      await expect.poll(() => rp.locator("#mail-table tbody tr").count()).toBe(3);
      expect(await rp.getByRole("button", { name: "Retry all failed" }).count()).toBe(0);
      await rp.locator("#mail-table tbody tr", { hasText: BROKEN }).getByRole("link").click();
      await rp.getByTestId("mail-status").waitFor();
      expect(await rp.getByTestId("mail-status").innerText()).toBe("Failed");
      expect(await rp.getByRole("button", { name: "Retry", exact: true }).count()).toBe(0);
      // The server refuses it too: the hidden button is a convenience, not the guard.
      const session = (await (await rp.request.get(`${ac.url}/api/v1/auth/session`)).json()) as { csrfToken: string };
      const res = await rp.request.post(`${ac.url}/api/v1/mail/retry`, {
        data: { failed: true },
        headers: { "x-csrf-token": session.csrfToken },
      });
      expect(res.status()).toBe(403);
    } finally {
      await reader.close();
    }
  });
});
