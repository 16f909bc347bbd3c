import { type Page } from "@playwright/test";
import { expect, test } from "./fixtures";

async function signUp(page: Page, email: string, hydrated = true) {
  await page.goto("/signup");
  if (hydrated) await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Your name").fill("Rita Rep");
  await page.getByLabel("Work e-mail").fill(email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByLabel("Company or team name").fill("Rep Co");
  await page.getByRole("button", { name: "Create workspace" }).click();
  await expect(page).toHaveURL(/\/contacts$/);
}

// A sales rep adds a contact (the browser flags bad fields before the server does), finds it by searching as she
// types, and sorts the table.
test("a rep adds a contact, gets field errors for bad input, and finds it by searching", async ({ page }) => {
  await signUp(page, `rita.${Date.now()}@example.com`);
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await expect(page.getByRole("heading", { name: "No contacts yet" })).toBeVisible();

  await page.locator("summary", { hasText: "New contact" }).click();
  await page.getByLabel("E-mail", { exact: true }).fill("not-an-address");
  await page.getByRole("button", { name: "Save contact" }).click();
  await expect(page.locator("#contact-first-name-error")).toHaveText("is required");
  await expect(page.locator("#contact-email-error")).toHaveText("must be a valid address");

  await page.getByLabel("First name", { exact: true }).fill("Grace");
  await page.getByLabel("Last name", { exact: true }).fill("Hopper");
  await page.getByLabel("E-mail", { exact: true }).fill("grace@navy.example");
  await page.getByLabel("Company", { exact: true }).fill("US Navy");
  await page.getByRole("button", { name: "Save contact" }).click();
  await expect(page.getByRole("status")).toHaveText("Grace Hopper was added.");
  await expect(page.locator("#contact-email-error")).toHaveCount(0);
  await expect(page.getByRole("cell", { name: "Grace Hopper" })).toBeVisible();

  await page.getByLabel("First name", { exact: true }).fill("Alan");
  await page.getByLabel("Last name", { exact: true }).fill("Turing");
  await page.getByLabel("Company", { exact: true }).fill("Bletchley Park");
  await page.getByRole("button", { name: "Save contact" }).click();
  await expect(page.getByRole("cell", { name: "Alan Turing" })).toBeVisible();

  // Search as you type: the table and the address follow the box.
  await page.getByLabel("Search contacts").pressSequentially("navy");
  await expect(page).toHaveURL(/q=navy/);
  await expect(page.locator("tbody tr")).toHaveCount(1);
  await expect(page.locator("tbody tr")).toContainText("Grace Hopper");
  await page.getByLabel("Search contacts").fill("zzzz");
  await expect(page.getByRole("heading", { name: "No contacts match" })).toBeVisible();
  await page.getByLabel("Search contacts").fill("");
  await expect(page.locator("tbody tr")).toHaveCount(2);

  // Sorting by company, descending: US Navy before Bletchley Park.
  await page.getByRole("columnheader", { name: "Company" }).getByRole("link").click();
  await page.getByRole("columnheader", { name: "Company" }).getByRole("link").click();
  await expect(page).toHaveURL(/sort=company&dir=desc/);
  await expect(page.locator("tbody tr").first()).toContainText("US Navy");

  // The table survives a reload (it is rendered on the server from the address).
  await page.reload();
  await expect(page.locator("tbody tr").first()).toContainText("US Navy");
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the rep's contact journey works with plain forms", async ({ page }) => {
    await signUp(page, `rita.nojs.${Date.now()}@example.com`, false);
    await page.locator("summary", { hasText: "New contact" }).click();
    await page.getByLabel("First name", { exact: true }).fill("Katherine");
    await page.getByLabel("Last name", { exact: true }).fill("Johnson");
    await page.getByLabel("Company", { exact: true }).fill("NASA");
    await page.getByRole("button", { name: "Save contact" }).click();
    await expect(page).toHaveURL(/\/contacts/);
    await expect(page.getByRole("cell", { name: "Katherine Johnson" })).toBeVisible();

    await page.getByLabel("Search contacts").fill("nasa");
    await page.getByRole("button", { name: "Search" }).click();
    await expect(page).toHaveURL(/q=nasa/);
    await expect(page.locator("tbody tr")).toHaveCount(1);
  });
});
