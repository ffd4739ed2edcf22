import { openDevice, parseDeviceSpec } from '@blk/cli';

// The same SPECs as the blk command: ram:SIZE, mem:SIZE, file:PATH, fmap:PATH, nbd://…
const { device, close } = await openDevice(parseDeviceSpec('ram:64MiB'), { readOnly: true });
console.log(await device.getInfo());
await close();
