import { browserTestFiles } from './src/browser-list.js';
import { runInChromium } from './src/chromium.js';
const fs = browserTestFiles().filter((x) => x.packageName === 'opfs');
const t = performance.now();
const rs = await runInChromium('/usr/bin/chromium', fs);
console.log(Math.round(performance.now() - t));
for (const r of rs) {
  console.log(r.error?.slice(0, 500), r.unhandled);
  const c: Record<string, number> = {};
  for (const x of r.results) c[x.state] = (c[x.state] ?? 0) + 1;
  console.log(c);
  for (const x of r.results.filter((x) => x.state === 'failed')) console.log(x.path.join(' > '), '>', x.title, '\n   ', (x.note ?? '').slice(0, 300));
}
