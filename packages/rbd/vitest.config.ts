import { mergeConfig } from 'vitest/config';
import { packageTestConfig } from '../../vitest.shared.js';

// One Ceph cluster for every test file (test/global-setup.ts); files share it, so they run one at a time.
export default mergeConfig(packageTestConfig({ fileParallelism: false }), { test: { globalSetup: ['test/global-setup.ts'] } });
