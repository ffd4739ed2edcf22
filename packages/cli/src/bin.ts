#!/usr/bin/env node
import { endQuietlyOnBrokenPipe } from './broken-pipe.js';
import { main } from './main.js';

endQuietlyOnBrokenPipe(process.stdout, process.stderr, (code) => process.exit(code));
const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
});
process.exitCode = code;
// Whatever a library left open (a socket in TIME_WAIT, a timer) must not keep `blk` alive.
setTimeout(() => process.exit(code), 1000).unref();
