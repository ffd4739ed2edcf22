import { XenstoreError, isWireErrorCode } from '../errors.js';
import type { Frame } from '../codec/frame.js';
import { MessageType } from '../codec/message-type.js';
import { countNuls, findNul, fromLatin1, latin1, latin1Slice, nulTerminated, oneLatin1Arg, splitStrings } from '../codec/payload.js';
import { PAYLOAD_MAX } from '../codec/limits.js';
import { canonicalize, domainPath, isValidPath } from '../paths.js';
import { formatPermission, parsePermission, type Permission } from '../permissions.js';
import { atoiSigned, atoiUnsigned } from './atoi.js';
import { permits } from './caller.js';
import { runControl } from './control.js';
import { DOMID_SELF } from './domains.js';
import { Overlay } from './overlay.js';
import type { ServerCore } from './server-core.js';
import type { ServerConnection } from './server-connection.js';
import { Transaction } from './transaction.js';
import {
  listChildren,
  makeDirectory,
  readNode,
  readValue,
  remove,
  resolvePath,
  setPermissions,
  writeValue,
  type OpContext,
} from './tree-ops.js';
import { isSpecialWatch, type Watch } from './watch.js';

export interface RequestContext {
  readonly core: ServerCore;
  readonly connection: ServerConnection;
  readonly frame: Frame;
  /** The transaction named by tx_id, for types that take one. */
  readonly tx: Transaction | undefined;
}

interface Handler {
  /** Only privileged callers (EACCES otherwise). */
  readonly privileged?: boolean;
  /** tx_id is ignored (WATCH, UNWATCH). */
  readonly noTx?: boolean;
  run(ctx: RequestContext): Uint8Array;
}

const OK = nulTerminated('OK');

function invalid(message: string): never {
  throw new XenstoreError('EINVAL', message);
}

function arg(ctx: RequestContext): string {
  return oneLatin1Arg(ctx.frame.payload) ?? invalid('expected exactly one NUL-terminated argument');
}

function strings(ctx: RequestContext): string[] {
  return splitStrings(ctx.frame.payload, fromLatin1).strings;
}

function treeContext(ctx: RequestContext, layer: OpContext['layer']): OpContext {
  return { layer, caller: ctx.connection.caller, quotas: ctx.core.quotas, events: [] };
}

/** Runs a read-only tree operation against the transaction's view or the store. */
function reading<T>(ctx: RequestContext, fn: (op: OpContext) => T): T {
  return fn(treeContext(ctx, ctx.tx ? ctx.tx.layer : ctx.core.store));
}

/** Runs a changing tree operation in scratch space; applies it (and fires or queues events) only if it succeeds. */
function changing(ctx: RequestContext, fn: (op: OpContext, path: string) => void, path: string): Uint8Array {
  const { core, tx } = ctx;
  if (!tx) core.assertWritable();
  const scratch = new Overlay(tx ? tx.layer : core.store, () => core.store.nextGeneration());
  const op = treeContext(ctx, scratch);
  fn(op, resolvePath(op, path));
  tx?.chargeRepeats(scratch);
  scratch.apply();
  if (tx) tx.queue(op.events);
  else core.fire(op.events);
  return OK;
}

function parsePerms(list: readonly string[]): Permission[] {
  return list.map((text) => parsePermission(text) ?? invalid(`invalid permission ${JSON.stringify(text)}`));
}

function directoryPart(ctx: RequestContext): Uint8Array {
  if (countNuls(ctx.frame.payload) !== 2) invalid('DIRECTORY_PART takes a path and an offset');
  const [path, offsetText] = strings(ctx) as [string, string];
  const node = reading(ctx, (op) => readNode(op, resolvePath(op, path)));
  const offset = atoiUnsigned(offsetText);
  const gen = `${node.generation}\0`;
  const list = node.children
    .toArray()
    .map((c) => `${c}\0`)
    .join('');
  if (offset >= list.length) return latin1(`${gen}\0`);
  const max = PAYLOAD_MAX - gen.length - 1;
  let len = 0;
  let at = offset;
  for (;;) {
    const end = list.indexOf('\0', at);
    const name = end - at;
    if (len + name >= max) break;
    len += name + 1;
    at = end + 1;
    if (offset + len === list.length) break;
  }
  const slice = list.slice(offset, offset + len);
  return latin1(offset + len === list.length ? `${gen}${slice}\0` : `${gen}${slice}`);
}

function watch(ctx: RequestContext): Uint8Array {
  const parts = strings(ctx);
  if (parts.length !== 2 && parts.length !== 3) invalid('WATCH takes a path, a token and optionally a depth');
  const [raw, token] = parts as [string, string];
  let depth: number | undefined;
  if (parts.length === 3) {
    if (!/^\d{1,9}$/.test(parts[2]!)) invalid('depth must be a decimal number');
    depth = Number(parts[2]);
  }
  const { connection, core } = ctx;
  const caller = connection.caller;
  let path: string;
  let relativeTo: string | undefined;
  if (raw.startsWith('@')) {
    if (raw.length > core.quotas.pathMax) invalid('special watch name too long');
    path = raw;
  } else {
    path = canonicalize(raw, caller.domid);
    if (!isValidPath(path, core.quotas.pathMax)) invalid(`invalid watch path ${JSON.stringify(raw)}`);
    if (!raw.startsWith('/')) relativeTo = domainPath(caller.domid);
  }
  if (connection.watches.some((w) => w.path === path && w.token === token)) {
    throw new XenstoreError('EEXIST', `already watching ${raw} with that token`);
  }
  if (!caller.privileged && core.watchCount(caller.domid) >= core.quotas.watches) {
    throw new XenstoreError('E2BIG', `domain ${caller.domid} has reached its quota of ${core.quotas.watches} watches`);
  }
  const entry: Watch = { path, token, relativeTo, depth };
  connection.watches.push(entry);
  // The ack, then at once the initial event: clients rely on it to close the read-then-watch race.
  const { reqId, txId } = ctx.frame;
  connection.send({ type: MessageType.WATCH, reqId, txId, payload: OK });
  connection.send({ type: MessageType.WATCH_EVENT, reqId: 0, txId: 0, payload: nulTerminated(latin1(raw), latin1(token)) });
  return NO_REPLY;
}

/** Returned by handlers that sent their reply themselves. */
const NO_REPLY = new Uint8Array(0);

function unwatch(ctx: RequestContext): Uint8Array {
  const parts = strings(ctx);
  if (parts.length !== 2) invalid('UNWATCH takes a path and a token');
  const [raw, token] = parts as [string, string];
  const path = canonicalize(raw, ctx.connection.caller.domid);
  const list = ctx.connection.watches;
  const index = list.findIndex((w) => w.path === path && w.token === token);
  if (index < 0) throw new XenstoreError('ENOENT', `no watch on ${raw} with that token`);
  list.splice(index, 1);
  return OK;
}

function transactionStart(ctx: RequestContext): Uint8Array {
  const { connection, core } = ctx;
  if (ctx.tx) throw new XenstoreError('EBUSY', 'transactions do not nest');
  const caller = connection.caller;
  if (!caller.privileged && core.transactionCount(caller.domid) >= core.quotas.transactions) {
    throw new XenstoreError('ENOSPC', `domain ${caller.domid} has reached its quota of ${core.quotas.transactions} transactions`);
  }
  const id = connection.allocateTransactionId();
  const tx = new Transaction(id, core.store, caller, core.quotas, core.limits, (error) => {
    core.log(`transaction ${id} of connection ${connection.id} (domain ${connection.domid}) ended: ${error.message}`);
  });
  connection.transactions.set(id, tx);
  return nulTerminated(String(id));
}

function transactionEnd(ctx: RequestContext): Uint8Array {
  const choice = oneLatin1Arg(ctx.frame.payload);
  if (choice !== 'T' && choice !== 'F') invalid('TRANSACTION_END takes T or F');
  const { tx, connection, core } = ctx;
  if (!tx) throw new XenstoreError('ENOENT', 'no such transaction');
  connection.transactions.delete(tx.id);
  if (choice === 'F') {
    tx.end();
    return OK;
  }
  try {
    core.assertWritable();
  } catch (error) {
    tx.end();
    throw error;
  }
  if (core.takeInjectedConflict()) {
    tx.end();
    throw new XenstoreError('EAGAIN', 'injected conflict');
  }
  core.fire(tx.commit(connection.caller, core.quotas));
  return OK;
}

/** The one argument of RELEASE and RESUME: a domain other than 0. */
function subjectDomid(ctx: RequestContext): number {
  const domid = atoiUnsigned(arg(ctx));
  if (domid === 0) invalid('domain 0 cannot be the subject');
  return domid;
}

function introduced(ctx: RequestContext, domid: number): void {
  if (!ctx.core.domains.isIntroduced(domid)) throw new XenstoreError('ENOENT', `domain ${domid} is not introduced`);
}

function setPerms(ctx: RequestContext): Uint8Array {
  const parts = strings(ctx);
  if (parts.length < 2) invalid('SET_PERMS takes a path and at least one permission');
  const [path, ...rest] = parts as [string, ...string[]];
  const { core, connection } = ctx;
  const caller = connection.caller;
  if (!caller.privileged && rest.length > core.quotas.permissions) {
    throw new XenstoreError('ENOSPC', `more than ${core.quotas.permissions} permissions`);
  }
  const perms = parsePerms(rest);
  if (path.startsWith('@')) {
    if (!isSpecialWatch(path)) invalid(`${path} is not a special watch`);
    if (!permits(caller, core.domains.specialPerms(path), 'own')) throw new XenstoreError('EACCES', `no permission on ${path}`);
    core.assertWritable();
    core.domains.setSpecialPerms(path, perms);
    core.changedSpecial();
    return OK;
  }
  return changing(
    ctx,
    (op, at) => {
      setPermissions(op, at, perms);
    },
    path,
  );
}

function directory(ctx: RequestContext): Uint8Array {
  const children = reading(ctx, (op) => listChildren(op, resolvePath(op, arg(ctx))));
  // Known before building it: a list that cannot fit costs nothing to refuse.
  if (children.bytes > PAYLOAD_MAX) throw new XenstoreError('E2BIG', 'reply would exceed 4096 bytes');
  return latin1(
    children
      .toArray()
      .map((c) => `${c}\0`)
      .join(''),
  );
}

function read(ctx: RequestContext): Uint8Array {
  return reading(ctx, (op) => readValue(op, resolvePath(op, arg(ctx))));
}

function getPerms(ctx: RequestContext): Uint8Array {
  const node = reading(ctx, (op) => readNode(op, resolvePath(op, arg(ctx))));
  return nulTerminated(...node.perms.map(formatPermission));
}

function write(ctx: RequestContext): Uint8Array {
  const payload = ctx.frame.payload;
  const nul = findNul(payload);
  if (nul < 0) invalid('WRITE takes a path, a NUL and the value');
  const path = latin1Slice(payload, 0, nul);
  // The decoder already copied the payload; the value can stay a view of it.
  const value = payload.subarray(nul + 1);
  return changing(
    ctx,
    (op, at) => {
      writeValue(op, at, value);
    },
    path,
  );
}

function mkdir(ctx: RequestContext): Uint8Array {
  return changing(ctx, makeDirectory, arg(ctx));
}

function rm(ctx: RequestContext): Uint8Array {
  return changing(ctx, remove, arg(ctx));
}

function control(ctx: RequestContext): Uint8Array {
  return runControl(ctx.core, ctx.connection, strings(ctx));
}

function getDomainPath(ctx: RequestContext): Uint8Array {
  return nulTerminated(domainPath(atoiUnsigned(arg(ctx))));
}

function introduce(ctx: RequestContext): Uint8Array {
  const parts = strings(ctx);
  if (parts.length < 3) invalid('INTRODUCE takes a domid, a gfn and an event channel');
  const domid = atoiUnsigned(parts[0]!);
  const gfn = atoiSigned(parts[1]!);
  const eventChannel = atoiSigned(parts[2]!);
  if (!(eventChannel > 0)) invalid('event channel must be positive');
  ctx.core.assertWritable();
  ctx.core.introduceDomain(domid, gfn, eventChannel);
  return OK;
}

function release(ctx: RequestContext): Uint8Array {
  const domid = subjectDomid(ctx);
  introduced(ctx, domid);
  ctx.core.assertWritable();
  ctx.core.releaseDomain(domid);
  return OK;
}

function isDomainIntroduced(ctx: RequestContext): Uint8Array {
  const domid = atoiUnsigned(arg(ctx));
  return nulTerminated(domid === DOMID_SELF || ctx.core.domains.isIntroduced(domid) ? 'T' : 'F');
}

function resume(ctx: RequestContext): Uint8Array {
  const domid = subjectDomid(ctx);
  introduced(ctx, domid);
  const record = ctx.core.domains.get(domid);
  if (record) record.shutdown = false;
  return OK;
}

function setTarget(ctx: RequestContext): Uint8Array {
  const parts = strings(ctx);
  if (parts.length < 2) invalid('SET_TARGET takes two domids');
  const domid = atoiUnsigned(parts[0]!);
  const target = atoiUnsigned(parts[1]!);
  introduced(ctx, domid);
  introduced(ctx, target);
  ctx.core.assertWritable();
  ctx.core.setTarget(domid, target);
  return OK;
}

function resetWatches(ctx: RequestContext): Uint8Array {
  ctx.connection.watches.length = 0;
  for (const tx of ctx.connection.transactions.values()) tx.end();
  ctx.connection.transactions.clear();
  return OK;
}

const HANDLERS = new Map<number, Handler>([
  [MessageType.CONTROL, { privileged: true, run: control }],
  [MessageType.DIRECTORY, { run: directory }],
  [MessageType.READ, { run: read }],
  [MessageType.GET_PERMS, { run: getPerms }],
  [MessageType.WATCH, { noTx: true, run: watch }],
  [MessageType.UNWATCH, { noTx: true, run: unwatch }],
  [MessageType.TRANSACTION_START, { run: transactionStart }],
  [MessageType.TRANSACTION_END, { run: transactionEnd }],
  [MessageType.INTRODUCE, { privileged: true, run: introduce }],
  [MessageType.RELEASE, { privileged: true, run: release }],
  [MessageType.GET_DOMAIN_PATH, { run: getDomainPath }],
  [MessageType.WRITE, { run: write }],
  [MessageType.MKDIR, { run: mkdir }],
  [MessageType.RM, { run: rm }],
  [MessageType.SET_PERMS, { run: setPerms }],
  [MessageType.IS_DOMAIN_INTRODUCED, { privileged: true, run: isDomainIntroduced }],
  [MessageType.RESUME, { privileged: true, run: resume }],
  [MessageType.SET_TARGET, { privileged: true, run: setTarget }],
  [MessageType.RESET_WATCHES, { run: resetWatches }],
  [MessageType.DIRECTORY_PART, { run: directoryPart }],
]);

/**
 * Answers one request: the reply (same type, req_id, tx_id), or an ERROR carrying the wire name.
 * Unknown types, RESTRICT (20) and the optional 23–26 get ENOSYS; replies over 4096 bytes E2BIG.
 */
export function handleRequest(core: ServerCore, connection: ServerConnection, frame: Frame): void {
  const { type, reqId, txId } = frame;
  let payload: Uint8Array;
  let replyType = type;
  try {
    const handler = HANDLERS.get(type);
    if (!handler) throw new XenstoreError('ENOSYS', `message type ${type} is not implemented`);
    if (handler.privileged && !connection.caller.privileged) throw new XenstoreError('EACCES', 'privileged operation');
    let tx: Transaction | undefined;
    if (!handler.noTx && txId !== 0) {
      tx = connection.transactions.get(txId);
      if (!tx) throw new XenstoreError('ENOENT', `no transaction ${txId}`);
      if (tx.failure && type !== MessageType.TRANSACTION_END) throw tx.failure;
    }
    payload = handler.run({ core, connection, frame, tx });
    if (payload === NO_REPLY) return;
    if (payload.length > PAYLOAD_MAX) throw new XenstoreError('E2BIG', 'reply would exceed 4096 bytes');
  } catch (error) {
    replyType = MessageType.ERROR;
    let code = 'EIO';
    if (error instanceof XenstoreError && isWireErrorCode(error.code)) code = error.code;
    else core.log(`internal error answering type ${type}: ${(error as Error).stack ?? String(error)}`);
    payload = nulTerminated(code);
  }
  connection.send({ type: replyType, reqId, txId, payload });
}
