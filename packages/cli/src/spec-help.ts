/** The SPEC grammar as `blk --help` prints it (the README has the long form). */
export const SPEC_HELP = `Devices (SPEC):
  ram:SIZE[,sector=N]   sparse in-memory disk for this run (@blk/ramdisk), e.g. ram:1GiB
  mem:SIZE[,sector=N]   dense in-memory disk for this run (@blk/simple-mem), e.g. mem:64M
  file:PATH             a raw image file (@blk/fmap's file device)
  fmap:PATH             a disk inside an fmap block file (@blk/fmap)
  rbd:POOL/[NS/]IMAGE[@SNAP][?conf=PATH&id=NAME&keyring=PATH]
                        a Ceph RBD image (@blk/rbd; needs librbd); @SNAP opens a snapshot read-only
  nbd://HOST[:PORT][/EXPORT]              an NBD export over TCP (port 10809 by default)
  nbd+unix:///[EXPORT]?socket=PATH        an NBD export on a Unix socket
  nbds://…, nbds+unix://…                 the same with TLS (tls-psk-file=FILE in the query)
  overlay:BASE+TOP      copy-on-write over BASE (opened read-only), changes kept in TOP (@blk/overlay),
                        e.g. overlay:file:golden.img+file:changes.img (TOP is created when missing)
  http://HOST/PATH, https://HOST/PATH     a read-only image on a web server with byte ranges (@blk/http)
SIZE: a byte count with an optional suffix: K M G T P or KiB MiB GiB TiB PiB (powers of 1024),
KB MB GB TB PB (powers of 1000); decimals allowed when the result is whole, e.g. 1.5G.
`;
