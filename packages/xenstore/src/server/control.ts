import { XenstoreError } from '../errors.js';
import { nulTerminated } from '../codec/payload.js';
import { QUOTA_NAMES } from './quotas.js';
import type { ServerCore } from './server-core.js';
import type { ServerConnection } from './server-connection.js';
import { atoiUnsigned } from './atoi.js';

const OK = nulTerminated('OK');

const COMMANDS: readonly [string, string][] = [
  ['check', ''],
  ['log', 'on|off'],
  ['print', '<string>'],
  ['quota', '[set <name> <val>|<domid>]'],
  ['quota-soft', '[set <name> <val>]'],
  ['help', ''],
];

function invalid(message: string): never {
  throw new XenstoreError('EINVAL', message);
}

function checkStore(core: ServerCore): void {
  const { store } = core;
  for (const [path, node] of store.walk()) {
    for (const name of node.children) {
      if (!store.get(path === '/' ? `/${name}` : `${path}/${name}`)) {
        throw new XenstoreError('EIO', `${path} lists missing child ${name}`);
      }
    }
  }
}

/**
 * CONTROL (formerly DEBUG), the subset of C xenstored's commands that makes sense here:
 * check, log on|off, print, quota [set <name> <val>|<domid>], quota-soft, help. Others: EINVAL.
 */
export function runControl(core: ServerCore, _connection: ServerConnection, args: readonly string[]): Uint8Array {
  const [command, ...params] = args;
  switch (command) {
    case 'check':
      if (params.length > 0) invalid('check takes no parameters');
      checkStore(core);
      return OK;
    case 'log':
      if (params.length !== 1 || (params[0] !== 'on' && params[0] !== 'off')) invalid('log takes on or off');
      core.logging = params[0] === 'on';
      return OK;
    case 'print':
      if (params.length !== 1) invalid('print takes one string');
      core.log(`control: ${params[0]!}`);
      return OK;
    case 'quota':
      return quota(core, params);
    case 'quota-soft':
      if (params.length > 0) invalid('no soft quotas here');
      return nulTerminated('Quota settings:\n');
    case 'help':
      if (params.length > 0) invalid('help takes no parameters');
      return nulTerminated(COMMANDS.map(([name, pars]) => `${name}\t${pars}\n`).join(''));
    default:
      invalid(`unknown control command ${JSON.stringify(command ?? '')}`);
  }
}

function quota(core: ServerCore, params: readonly string[]): Uint8Array {
  if (params.length === 0) {
    let text = 'Quota settings:\n';
    for (const [name, { key, description }] of Object.entries(QUOTA_NAMES)) {
      text += `${name.padEnd(17)}: ${String(core.quotas[key]).padStart(8)} ${description}\n`;
    }
    return nulTerminated(text);
  }
  if (params[0] === 'set') {
    if (params.length !== 3) invalid('quota set takes a name and a value');
    const entry = QUOTA_NAMES[params[1]!] ?? invalid(`unknown quota ${params[1]!}`);
    const value = Number(/^\d+$/.exec(params[2]!)?.[0] ?? NaN);
    if (!(value >= 1)) invalid('quota values must be positive');
    core.setQuota(entry.key, value);
    return OK;
  }
  if (params.length !== 1) invalid('quota takes set <name> <val> or a domid');
  const domid = atoiUnsigned(params[0]!);
  if (!core.domains.isIntroduced(domid)) throw new XenstoreError('ENOENT', `domain ${domid} is not introduced`);
  const line = (name: string, n: number) => `${name.padEnd(16)}: ${String(n).padStart(8)}\n`;
  return nulTerminated(
    `Domain ${domid}:\n` +
      line('nodes', core.store.ownedBy(domid)) +
      line('watches', core.watchCount(domid)) +
      line('transactions', core.transactionCount(domid)),
  );
}
