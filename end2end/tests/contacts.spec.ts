import { type Page } from "@playwright/test";
import { accessible, expect, test } from "./fixtures";

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

  // Best match first: a whole word, then a word it starts, then a word it is only inside; accents and case aside.
  for (const [first, last] of [["Navya", "Rao"], ["Chloé", "Navarre"], ["Ada", "Canavy"]]) {
    await page.getByLabel("First name", { exact: true }).fill(first);
    await page.getByLabel("Last name", { exact: true }).fill(last);
    await page.getByLabel("Company", { exact: true }).fill("");
    await page.getByRole("button", { name: "Save contact" }).click();
    await expect(page.getByRole("status")).toHaveText(`${first} ${last} was added.`);
  }
  await page.getByLabel("Search contacts").fill("NAVY");
  await expect(page.locator("tbody tr")).toHaveCount(3);
  await expect(page.locator("tbody tr td:first-child a")).toHaveText(["Grace Hopper", "Navya Rao", "Ada Canavy"]);
  await page.getByLabel("Search contacts").fill("chloe nav");
  await expect(page.locator("tbody tr td:first-child a")).toHaveText(["Chloé Navarre"]);
  await page.getByLabel("Search contacts").fill("");
  await expect(page.locator("tbody tr")).toHaveCount(5);

  // Sorting by company, descending: US Navy before Bletchley Park (and before those with none).
  await page.getByRole("columnheader", { name: "Company" }).getByRole("link").click();
  await page.getByRole("columnheader", { name: "Company" }).getByRole("link").click();
  await expect(page).toHaveURL(/sort=company&dir=desc/);
  await expect(page.locator("tbody tr").first()).toContainText("US Navy");

  // The table survives a reload (it is rendered on the server from the address).
  await page.reload();
  await expect(page.locator("tbody tr").first()).toContainText("US Navy");
  await accessible(page);
});

// The first visit: the browser's files come precompressed and content-named, to be kept for a year (D-024). Chromium
// offers Brotli only over TLS, so on this plain-HTTP test server it gets gzip; the API tests cover Brotli.
test("the script, the WASM and the stylesheet arrive compressed and are cached for a year", async ({ page }) => {
  const seen = new Map<string, { accepted: string; headers: Record<string, string> }>();
  page.on("response", async (res) => {
    const path = new URL(res.url()).pathname;
    if (!path.startsWith("/pkg/")) return;
    const accepted = (await res.request().allHeaders())["accept-encoding"] ?? "";
    seen.set(path, { accepted, headers: res.headers() });
  });
  await page.goto("/signup");
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await expect.poll(() => seen.size).toBe(3);
  const kinds = [...seen.keys()].map((p) => p.split(".").pop());
  expect(kinds.sort()).toEqual(["css", "js", "wasm"]);
  for (const [path, { accepted, headers }] of seen) {
    expect(path, "a content-hashed name").toMatch(/^\/pkg\/clearview\.[0-9a-f]{16}\.(js|wasm|css)$/);
    expect(headers["content-encoding"], `${path} for ${accepted}`).toBe(/\bbr\b/.test(accepted) ? "br" : "gzip");
    expect(headers["cache-control"], path).toBe("public, max-age=31536000, immutable");
  }
  await accessible(page);
});
