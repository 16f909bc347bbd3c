import { test as base, expect } from "@playwright/test";

// Every journey also checks that the page's script never failed: a hydration mismatch or a panic in the browser
// leaves a page that looks right but silently falls back to plain forms.
export const test = base.extend({
  page: async ({ page }, use) => {
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error" && /hydration|panicked/i.test(m.text())) errors.push(m.text());
    });
    await use(page);
    expect(errors, "the page's script ran without errors").toEqual([]);
  },
});

export { expect };
