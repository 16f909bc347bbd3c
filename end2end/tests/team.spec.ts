import * as fs from "node:fs";
import * as path from "node:path";
import { type Page } from "@playwright/test";
import { accessible, expect, test } from "./fixtures";

// The journeys' mail goes through a real SMTP server (scripts/smtp-sink), which keeps each message in MAIL_DIR.
const mailDir = process.env.MAIL_DIR ?? "";

/** The newest mail to `address`, waiting for it to arrive (the server's worker sends it). */
async function mailTo(address: string): Promise<{ text: string; message_id: string; subject: string }> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const names = fs.existsSync(mailDir) ? fs.readdirSync(mailDir).filter((n) => n.endsWith(".json") && !n.startsWith(".")) : [];
    const found = names
      .sort()
      .reverse()
      .map((n) => JSON.parse(fs.readFileSync(path.join(mailDir, n), "utf8")))
      .find((m) => String(m.to).toLowerCase().includes(address.toLowerCase()));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no mail to ${address} in ${mailDir}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function linkIn(text: string): string {
  const line = text.split("\n").find((l) => l.includes("/invite?token="));
  if (!line) throw new Error(`no invitation link in: ${text}`);
  return line.trim();
}

async function signUp(page: Page, name: string, email: string, team: string) {
  await page.goto("/signup");
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("Work e-mail").fill(email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByLabel("Company or team name").fill(team);
  await page.getByRole("button", { name: "Create workspace" }).click();
  await expect(page).toHaveURL(/\/contacts$/);
}

test("an admin invites a person by mail, they join as a rep, are promoted, and a new stage reaches the board", async ({ page, browser }) => {
  const stamp = Date.now();
  const invitee = `grace.${stamp}@example.com`;
  await signUp(page, "Ada Admin", `ada.${stamp}@example.com`, "Engines Ltd");

  // Members: only Ada; wrong input is named before anything is sent.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click();
  await page.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "Members" }).click();
  await expect(page).toHaveURL(/\/settings\/members$/);
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await accessible(page);
  await page.getByLabel("E-mail").fill("not-an-address");
  await page.getByRole("button", { name: "Send invitation" }).click();
  await expect(page.locator("#invite-email-error")).toHaveText("must be a valid address");

  await page.getByLabel("E-mail").fill(invitee);
  await page.getByLabel("Role", { exact: true }).selectOption("rep");
  await page.getByRole("button", { name: "Send invitation" }).click();
  await expect(page.getByRole("status")).toHaveText(`Invitation sent to ${invitee}.`);
  await expect(page.locator(`tr[data-invite="${invitee}"]`)).toContainText("Sales rep");
  // Inviting a member is refused (409), and the form says why.
  await page.getByLabel("E-mail").fill(`ada.${stamp}@example.com`);
  await page.getByRole("button", { name: "Send invitation" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "is already a member of this workspace" })).toBeVisible();

  // The mail went through the SMTP server, with a Message-ID made from its job.
  const mail = await mailTo(invitee);
  expect(mail.subject).toBe("Ada Admin invited you to Engines Ltd on Clearview");
  expect(mail.message_id).toMatch(/^<[0-9a-f-]{36}@clearview\.localhost>$/);
  const link = linkIn(mail.text);

  // The invitee, in a browser of their own, creates an account from the link.
  const theirs = await browser.newContext();
  const grace = await theirs.newPage();
  await grace.goto(link);
  await expect(grace.getByRole("heading", { name: "Join Engines Ltd" })).toBeVisible();
  await expect(grace.locator("body")).toHaveAttribute("data-hydrated", "true");
  await accessible(grace);
  await grace.getByLabel("Your name").fill("Grace Hopper");
  await grace.getByLabel("Password").fill("short");
  await grace.getByRole("button", { name: "Create account and join" }).click();
  await expect(grace.locator("#accept-password-error")).toHaveText("must be at least 10 characters");
  await grace.getByLabel("Password").fill("correct horse battery");
  await grace.getByRole("button", { name: "Create account and join" }).click();
  await expect(grace).toHaveURL(/\/contacts$/);
  await expect(grace.locator(".role-badge")).toHaveText("Sales rep");
  await expect(grace.locator("#workspace-switcher")).toContainText("Engines Ltd");

  // As a rep: the members, but no admin controls, and no admin settings.
  await grace.goto("/settings/members");
  await expect(grace.locator(`tr[data-member="${invitee}"]`)).toContainText("Grace Hopper");
  await expect(grace.getByRole("button", { name: "Send invitation" })).toHaveCount(0);
  await expect(grace.locator("select[name=role]")).toHaveCount(0);
  const tabs = grace.getByRole("navigation", { name: "Settings" });
  await expect(tabs.getByRole("link", { name: "Mail" })).toHaveCount(0);
  await expect(tabs.getByRole("link", { name: "Pipelines" })).toHaveCount(0);
  await accessible(grace);
  // The link is used up.
  const used = await theirs.newPage();
  await used.goto(link);
  await expect(used.getByRole("heading", { name: "This invitation cannot be used" })).toBeVisible();

  // Grace's deal: as a rep she cannot set its probability.
  const created = await grace.request.post("/api/deals", {
    headers: { Origin: new URL(grace.url()).origin },
    data: { title: "Navy contract" },
  });
  expect(created.status()).toBe(201);
  const deal = await created.json();
  await grace.goto(`/deals/${deal.id}`);
  await expect(grace.getByRole("heading", { level: 1, name: "Navy contract" })).toBeVisible();
  await expect(grace.getByLabel("Win probability (%)")).toHaveCount(0);

  // The admin promotes her; the pending invitation is gone.
  await page.reload();
  await expect(page.locator(`tr[data-invite="${invitee}"]`)).toHaveCount(0);
  const row = page.locator(`tr[data-member="${invitee}"]`);
  await row.getByLabel("Role of Grace Hopper").selectOption("manager");
  await row.getByRole("button", { name: "Save" }).click();
  await expect(page.locator(`tr[data-member="${invitee}"] select`)).toHaveValue("manager");
  // The last admin cannot step down: the page says why.
  const own = page.locator(`tr[data-member="ada.${stamp}@example.com"]`);
  await own.getByLabel("Role of Ada Admin").selectOption("rep");
  await own.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("alert").first()).toContainText("only admin");

  // At her next request she is a manager and sets the probability.
  await grace.reload();
  await expect(grace.locator(".role-badge")).toHaveText("Sales manager");
  await expect(grace.locator("body")).toHaveAttribute("data-hydrated", "true");
  await grace.getByLabel("Win probability (%)").fill("70");
  await grace.getByRole("button", { name: "Set", exact: true }).click();
  await expect(grace.locator(".deal-probability")).toHaveText("70 %");

  // The admin adds a stage; it appears on the board, for her too.
  await page.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "Pipelines" }).click();
  await expect(page).toHaveURL(/\/settings\/pipelines$/);
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await accessible(page);
  await page.getByLabel("New stage name").fill("Demo");
  await page.getByLabel("Default probability (%) of an open stage").fill("40");
  await page.getByRole("button", { name: "Add stage" }).click();
  // An open stage goes before the won and lost ones.
  const stages = page.locator("tr[data-stage]");
  await expect(stages.nth(4)).toHaveAttribute("data-stage", "Demo");
  // Reordered from the keyboard: up, before Negotiation.
  await page.getByRole("button", { name: "Move Demo up" }).focus();
  await page.keyboard.press("Enter");
  await expect(stages.nth(3)).toHaveAttribute("data-stage", "Demo");
  // And by dragging its handle onto Qualified's row: it takes Qualified's place.
  await page.locator('tr[data-stage="Demo"] .drag-handle').dragTo(page.locator('tr[data-stage="Qualified"]'));
  await expect(stages.nth(1)).toHaveAttribute("data-stage", "Demo");
  // A bad probability: the browser refuses it at the field, and the server, asked anyway, names it.
  await page.getByLabel("New stage name").fill("Broken");
  await page.getByLabel("Default probability (%) of an open stage").fill("150");
  await page.getByRole("button", { name: "Add stage" }).click();
  expect(await page.getByLabel("Default probability (%) of an open stage").evaluate((e: HTMLInputElement) => e.validity.valid)).toBe(false);
  const pipelineId = (await (await page.request.get("/api/pipelines")).json()).items[0].id;
  const refused = await page.request.post(`/api/pipelines/${pipelineId}/stages`, {
    headers: { Origin: new URL(page.url()).origin },
    data: { name: "Broken", probability: 150 },
  });
  expect(refused.status()).toBe(422);
  expect((await refused.json()).error.fields.probability).toBeTruthy();
  await page.reload();
  await expect(page.locator('tr[data-stage="Broken"]')).toHaveCount(0);
  await grace.goto("/pipeline");
  const columns = grace.locator(".column-name");
  await expect(columns.nth(1)).toHaveText("Demo");

  // The other settings pages pass too.
  for (const p of ["/settings", "/settings/mail"]) {
    await page.goto(p);
    await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
    await accessible(page);
  }
  await expect(page.getByText("All mail has gone out.")).toBeVisible();
  await theirs.close();
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("an admin invites and revokes with plain forms", async ({ page }) => {
    const stamp = Date.now();
    await page.goto("/signup");
    await page.getByLabel("Your name").fill("Nora NoJS");
    await page.getByLabel("Work e-mail").fill(`nora.${stamp}@example.com`);
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByLabel("Company or team name").fill("Plain Forms");
    await page.getByRole("button", { name: "Create workspace" }).click();
    await expect(page).toHaveURL(/\/contacts$/);
    await page.goto("/settings/members");
    const invitee = `linus.${stamp}@example.com`;
    await page.getByLabel("E-mail").fill(invitee);
    await page.getByRole("button", { name: "Send invitation" }).click();
    await expect(page).toHaveURL(/\/settings\/members/);
    await expect(page.locator(`tr[data-invite="${invitee}"]`)).toBeVisible();
    await page.getByRole("button", { name: `Revoke ${invitee}` }).click();
    await expect(page.locator(`tr[data-invite="${invitee}"]`)).toHaveCount(0);
    const link = linkIn((await mailTo(invitee)).text);
    await page.goto(link);
    await expect(page.getByRole("alert")).toContainText("withdrawn");
    await page.goto("/settings/pipelines");
    await page.getByLabel("New stage name").fill("Plain");
    await page.getByRole("button", { name: "Add stage" }).click();
    await expect(page.locator('tr[data-stage="Plain"]')).toBeVisible();

    // Deleting the workspace needs its exact name; then, in no workspace, the app offers to start one.
    await page.goto("/settings");
    await page.getByLabel("Type “Plain Forms” to confirm").fill("plain forms");
    await page.getByRole("button", { name: "Delete workspace" }).click();
    await expect(page.locator("#delete-confirm-error")).toHaveText("type the workspace's name exactly to delete it");
    await page.getByLabel("Type “Plain Forms” to confirm").fill("Plain Forms");
    await page.getByRole("button", { name: "Delete workspace" }).click();
    await expect(page.getByRole("heading", { name: "No workspace" })).toBeVisible();
    await page.getByLabel("Workspace name").fill("Fresh Start");
    await page.getByRole("button", { name: "Create workspace" }).click();
    await expect(page.locator("#workspace-switcher")).toContainText("Fresh Start");
  });
});
