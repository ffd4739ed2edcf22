// Runs in a dedicated worker of headless Chromium (scripts/browser-packages.json): the README's
// example, run as the README shows it.
import { expect, it } from 'vitest';
import { removeOpfsDevice } from '../src/index.js';

it('runs the README example in a dedicated worker, and it prints what its comment says', async () => {
  await removeOpfsDevice('vm1.img');
  const printed: unknown[][] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => printed.push(args);
  try {
    await import('../examples/worker-disk.js');
  } finally {
    console.log = log;
  }
  expect(printed).toEqual([[131072, 7]]);
  await removeOpfsDevice('vm1.img');
});
