import { accessible, expect, test } from "./fixtures";

// A new admin signs up, lands in the app shell, keeps the session across a reload, signs out, and is then sent to the
// sign-in page by a protected page.
test("sign up → app shell → reload keeps the session → sign out → protected page asks to sign in", async ({ page, context }) => {
  const email = `ada.${Date.now()}@example.com`;

  await page.goto("/signup");
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");

  // Hydrated: the browser checks the password with the shared domain rules while it is typed, before any request.
  await page.getByLabel("Password").fill("short");
  await expect(page.locator("#signup-password-error")).toHaveText("must be at least 10 characters");
  await page.getByLabel("Password").fill("correct horse battery");
  await expect(page.locator("#signup-password-error")).toHaveCount(0);

  await page.getByLabel("Your name").fill("Ada Lovelace");
  await page.getByLabel("Work e-mail").fill(email);
  await page.getByLabel("Company or team name").fill("Analytical Engines");
  await page.getByRole("button", { name: "Create workspace" }).click();

  await expect(page).toHaveURL(/\/contacts$/);
  await expect(page.getByRole("heading", { name: "Contacts", exact: true })).toBeVisible();
  await expect(page.locator(".who-name")).toHaveText("Ada Lovelace");
  await expect(page.locator(".role-badge")).toHaveText("Admin");
  await expect(page.locator("#workspace-switcher")).toContainText("Analytical Engines");
  for (const item of ["Contacts", "Pipeline", "Settings"]) {
    await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: item })).toBeVisible();
  }

  // The session lives in an httpOnly, Secure, SameSite=Lax __Host- cookie that scripts cannot read.
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "__Host-clearview_session");
  expect(session).toBeDefined();
  expect(session!.httpOnly).toBe(true);
  expect(session!.secure).toBe(true);
  expect(session!.sameSite).toBe("Lax");
  expect(await page.evaluate(() => document.cookie)).not.toContain("clearview_session");

  // The pipeline page shows the default stages created with the workspace.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Pipeline" }).click();
  await expect(page).toHaveURL(/\/pipeline$/);
  for (const stage of ["Lead", "Qualified", "Proposal", "Negotiation", "Won", "Lost"]) {
    await expect(page.locator(".column-name", { hasText: stage })).toBeVisible();
  }

  await page.reload();
  await expect(page.locator(".who-name")).toHaveText("Ada Lovelace");

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);

  await page.goto("/settings");
  await expect(page).toHaveURL(/\/login\?next=\/settings$/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();

  // Signing back in returns to the page that asked for it.
  await page.getByLabel("Work e-mail").fill(email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/settings$/);
  await expect(page.locator(".facts")).toContainText("Analytical Engines");
});

// The sign-in page is plain HTML (D-026): a first visit downloads neither the script nor the WASM, and the form works
// as it is, its message coming back with the page.
test("a wrong password gets a clear message and no session, on a page that loads no script", async ({ page }) => {
  const scripts: string[] = [];
  page.on("request", (req) => {
    if (/\.(js|wasm)$/.test(new URL(req.url()).pathname)) scripts.push(req.url());
  });
  await page.goto("/login");
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await accessible(page);
  await page.getByLabel("Work e-mail").fill("nobody@example.com");
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("not right");
  // The page came back with the address as typed and the cursor in the password, at the same address.
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByLabel("Work e-mail")).toHaveValue("nobody@example.com");
  await expect(page.getByLabel("Password")).toHaveValue("");
  await expect(page.getByLabel("Password")).toBeFocused();
  await expect(page.locator("body")).not.toHaveAttribute("data-hydrated", "true");
  expect(scripts).toEqual([]);
  // Nobody was signed in: a protected page still sends the visitor to sign in.
  await page.goto("/contacts");
  await expect(page).toHaveURL(/\/login\?next=\/contacts$/);
});
