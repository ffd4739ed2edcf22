import { describeBlockDevice } from '@blk/conformance';
import { connect } from '../src/index.js';

let n = 0;
describeBlockDevice('simple-mem 512', () => connect(`suite-512-${n++}`, { sizeSectors: 256 }));
describeBlockDevice('simple-mem 4096', () => connect(`suite-4096-${n++}`, { sizeSectors: 48, sectorSize: 4096 }));
