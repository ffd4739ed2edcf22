// A server that libnbd tools can spawn: nbdinfo -- [ node serve-inherited.js ]  or  nbd_connect_command
import { createServer, inheritedSocketFds, stdioStream } from '@blk/nbd';
import { Ramdisk } from '@blk/ramdisk';

const server = createServer({ exports: { '': new Ramdisk({ sizeSectors: 2048 }) } });
const fds = inheritedSocketFds();
if (fds.length > 0) for (const fd of fds) await server.listen({ fd });
else await server.serve(stdioStream());
