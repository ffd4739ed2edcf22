import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { makeTempDir, SoakChild, throughput } from '@blk/test-kit';
import { connect } from '../src/index.js';
const dir = makeTempDir('blk-xs-hog-');
const socket = `${dir.path}/xs.sock`;
const server = await SoakChild.start(fileURLToPath(new URL('./soak-server.ts', import.meta.url)), [socket]);
const normal = await connect({ path: socket });
let w = 0;
const run = () => {
  const base = w++ * 4;
  let i = 0;
  return throughput(
    () =>
      normal.immediate(async (x) => {
        const p = `/normal/${base + (i++ % 4)}`;
        await x.write(p, 'value');
        await x.read(p);
      }),
    1500,
    4,
  );
};
await run();
for (let r = 0; r < 3; r++) {
  const a = await run();
  const hog = spawn('node', ['-e', 'for(;;){}'], { stdio: 'ignore' });
  const b = await run();
  hog.kill();
  console.log(`alone ${a.toFixed(0)} hog ${b.toFixed(0)} ratio ${(b / a).toFixed(2)}`);
}
await normal.close();
await server.stop();
dir.remove();
