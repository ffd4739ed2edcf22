import { packageTestConfig } from '../../vitest.shared.js';

// Every test spawns the built binary and often a real peer; one file at a time keeps the two
// shared cores from starving the children.
export default packageTestConfig({ testTimeout: 60_000, fileParallelism: false });
