/**
 * Runs in a child process: our xenstored on argv[2] and a plain echo server on argv[3], both
 * Unix sockets, so the benchmark's clients and the servers do not share an event loop.
 */
import { createServer as createNetServer } from 'node:net';
import { createServer } from '../src/index.js';

const [xsPath, echoPath] = process.argv.slice(2) as [string, string];
const xenstored = createServer();
await xenstored.listen(xsPath);
const echo = createNetServer((socket) => {
  socket.pipe(socket);
  socket.on('error', () => undefined);
});
await new Promise<void>((resolve) => echo.listen(echoPath, resolve));
process.stdout.write('ready\n');
process.stdin.resume();
process.stdin.on('end', () => {
  echo.close();
  void xenstored.close().then(() => process.exit(0));
});
