import { AxeBuilder } from "@axe-core/playwright";
import { test as base, expect, type Page } from "@playwright/test";

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

/**
 * axe-core finds nothing serious or critical on the page as it is now, and everything on it sits in a landmark under
 * one `main` (the "region" and "landmark-one-main" rules, which axe itself rates moderate).
 */
export async function accessible(page: Page) {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical" || v.id === "region" || v.id === "landmark-one-main")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  expect(bad, `axe on ${page.url()}`).toEqual([]);
}
