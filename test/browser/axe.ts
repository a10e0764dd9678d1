/** axe-core in the console's pages: serious and critical violations fail a test, the rest are listed in its output. */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const axeSource = readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** axe's violations on the page as it is now. */
async function violations(page: Page): Promise<Violation[]> {
  // Evaluated through the DevTools protocol: the console's Content-Security-Policy refuses inline scripts.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(await axeSource);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document): Promise<{ violations: Violation[] }> } }).axe;
    const result = await axe.run(document);
    return result.violations.map(({ id, impact, help, nodes }) => ({ id, impact, help, nodes: nodes.map(({ target }) => ({ target })) }));
  });
}

/** Checks the page, naming it in the failure; minor and moderate findings are only reported. */
export async function check(page: Page, where: string, found: string[]): Promise<void> {
  for (const violation of await violations(page)) {
    const line = `${where}: ${violation.impact ?? '?'} ${violation.id} (${violation.help}) at ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`;
    if (violation.impact === 'serious' || violation.impact === 'critical') found.push(line);
    else console.log(`# axe, not failing: ${line}`);
  }
}

