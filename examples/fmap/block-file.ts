import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlockFile, isFmapError } from '@blk/fmap';

const dir = await mkdtemp(join(tmpdir(), 'blk-fmap-'));
const file = BlockFile.create(join(dir, 'tree.fmap'), { blockSize: 4096 }); // or BlockFile.open(path)
const root = file.allocate(); // a zeroed block: its byte offset
file.do(root, 1, (bytes) => bytes.set([1, 2, 3])); // synchronous callback, writable view
const lease = file.get(root, 1); // a copy-out lease, `using lease = …` where supported
try {
  console.log(lease.bytes[0]); // 1
} finally {
  lease.release();
}
file.setControlDataNoSync(new TextEncoder().encode(JSON.stringify({ root })));
file.flush(); // the commit: durable and crash-safe
try {
  file.free(root);
  file.free(root);
} catch (e) {
  if (isFmapError(e, 'E_DOUBLE_FREE')) console.log('refused, nothing changed');
  else throw e;
}
file.close();
await rm(dir, { recursive: true });
