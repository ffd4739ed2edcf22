import { describeBlockDevice } from '@blk/conformance';
import { __CLASS__ } from '../src/index.js';

describeBlockDevice('__CLASS__', () => new __CLASS__({ sizeSectors: 256 }));
