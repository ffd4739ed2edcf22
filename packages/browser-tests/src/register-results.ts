import { describe, it } from 'vitest';
import type { BrowserFileReport, BrowserTestResult } from './results.js';

interface Block {
  readonly title: string;
  readonly children: (Block | BrowserTestResult)[];
}

/** The flat results back into their describe blocks, in the order they ran. */
function tree(results: readonly BrowserTestResult[]): Block {
  const root: Block = { title: '', children: [] };
  for (const result of results) {
    let block = root;
    for (const title of result.path) {
      const last = block.children.at(-1);
      if (last && 'children' in last && last.title === title) block = last;
      else {
        const next: Block = { title, children: [] };
        block.children.push(next);
        block = next;
      }
    }
    block.children.push(result);
  }
  return root;
}

function registerResult(result: BrowserTestResult): void {
  const { note } = result;
  if (result.state === 'passed') it(result.title, () => undefined);
  else if (result.state === 'failed')
    it(result.title, () => {
      throw new Error(`failed in Chromium:\n${note ?? ''}`);
    });
  else if (note !== undefined) it(result.title, (context) => context.skip(note));
  else it.skip(result.title, () => undefined);
}

function registerBlock(block: Block): void {
  for (const child of block.children) {
    if ('children' in child) describe(child.title, () => registerBlock(child));
    else registerResult(child);
  }
}

/**
 * One vitest test in Node for each test that ran in the browser, under the same describe blocks
 * and titles, with the same outcome (a skip keeps its note, so a conformance skip declared by a
 * device's manifest counts as one), plus a failing test for a file that did not load or left
 * unhandled errors.
 */
export function registerReport(title: string, report: BrowserFileReport): void {
  describe(title, () => {
    const { error, unhandled = [] } = report;
    if (error !== undefined)
      it('loads and runs in Chromium', () => {
        throw new Error(error);
      });
    if (unhandled.length > 0)
      it('leaves no unhandled error in Chromium', () => {
        throw new Error(unhandled.join('\n\n'));
      });
    registerBlock(tree(report.results));
  });
}
