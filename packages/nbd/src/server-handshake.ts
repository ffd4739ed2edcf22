import { deviceBytes, thrownMessage, type BlockInfo } from '@blk/core';
import type { Channel } from './channel.js';
import { BASE_ALLOCATION, FLAG_C_FIXED_NEWSTYLE, FLAG_C_NO_ZEROES, Info, OPTION_HEADER_BYTES, Option, Reply } from './constants.js';
import { blockSizes, transmissionFlags } from './export-flags.js';
import {
  decodeInfoRequest,
  decodeMetaContextRequest,
  decodeOptionHeader,
  decodeString,
  encodeExportNameReply,
  encodeGreeting,
  encodeInfoBlockSize,
  encodeInfoExport,
  encodeInfoString,
  encodeMetaContextReply,
  encodeOptionReply,
  encodeServerReply,
} from './option-codec.js';
import type { ResolvedExport, ServerLimits } from './server-options.js';
import type { ServerTls } from './tls-config.js';

/** The context id our one meta context gets. */
export const BASE_ALLOCATION_ID = 1;

export interface HandshakeContext {
  /** Read at each option, so exports added or removed later are seen by later handshakes. */
  readonly exports: ReadonlyMap<string, ResolvedExport>;
  readonly tls: ServerTls | undefined;
  readonly limits: ServerLimits;
  /** Told the bytes queued for the client after each option's replies (for the server's counters). */
  readonly onQueued?: (bytes: number) => void;
  /** Told each time the handshake stops reading options until the client takes its replies. */
  readonly onStall?: () => void;
}

/**
 * Waits, without reading further options, until the client has taken the replies queued for it
 * (or the connection closes): a client that sends options and never reads makes the server hold
 * at most `maxHandshakeOutputBytes` plus one option's replies, not everything it asked for.
 */
async function drainReplies(channel: Channel, context: HandshakeContext): Promise<void> {
  context.onQueued?.(channel.queuedBytes);
  if (channel.queuedBytes < context.limits.maxHandshakeOutputBytes) return;
  context.onStall?.();
  const stream = channel.stream;
  channel.pause();
  await new Promise<void>((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    if (stream.destroyed || stream.writableLength === 0) done();
  });
  channel.resume();
}

/** What the handshake agreed on, for the transmission phase. */
export interface Negotiated {
  readonly export: ResolvedExport;
  readonly info: BlockInfo;
  readonly sizeBytes: number;
  readonly flags: number;
  readonly structured: boolean;
  /** `base:allocation` was selected for this export. */
  readonly blockStatus: boolean;
  readonly maxPayload: number;
}

/** A violation that ends the connection without a reply (the protocol's hard disconnect). */
export class HandshakeAbort extends Error {
  override readonly name = 'HandshakeAbort';
}

const UTF8 = (text: string) => Buffer.from(text, 'utf8');

/**
 * Runs the fixed-newstyle handshake as the server. Resolves with the negotiated export when the
 * client enters transmission, with undefined when it aborts (ABORT), and rejects with
 * HandshakeAbort (or the reader's error) when the connection must be dropped.
 */
export async function serverHandshake(channel: Channel, context: HandshakeContext): Promise<Negotiated | undefined> {
  const { reader } = channel;
  const { exports, tls, limits } = context;
  channel.write(encodeGreeting());
  const clientFlags = (await reader.exact(4)).readUInt32BE(0);
  if ((clientFlags & ~(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES)) !== 0) {
    throw new HandshakeAbort(`unknown client flags 0x${clientFlags.toString(16)}`);
  }
  const noZeroes = (clientFlags & FLAG_C_NO_ZEROES) !== 0;
  let secure = false;
  let structured = false;
  /** The export named by the last SET_META_CONTEXT that selected base:allocation. */
  let metaExport: string | undefined;

  const reply = (option: number, type: number, data?: Uint8Array) => {
    channel.write(encodeOptionReply(option, type, data));
  };
  const lookup = (name: string) => exports.get(name);
  const negotiate = async (exp: ResolvedExport): Promise<{ info: BlockInfo; sizeBytes: number; flags: number }> => {
    const info = await exp.device.getInfo();
    return { info, sizeBytes: deviceBytes(info), flags: transmissionFlags(exp.device, info, structured) };
  };
  const negotiated = (exp: ResolvedExport, got: { info: BlockInfo; sizeBytes: number; flags: number }): Negotiated => ({
    export: exp,
    ...got,
    structured,
    blockStatus: structured && metaExport === exp.name,
    maxPayload: blockSizes(got.info, limits.maxPayload).maximum,
  });

  for (;;) {
    await drainReplies(channel, context);
    const header = decodeOptionHeader(await reader.exact(OPTION_HEADER_BYTES));
    if (!header) throw new HandshakeAbort('bad option magic');
    const { option, length } = header;
    if (length > limits.maxOptionBytes) {
      reply(option, Reply.ERR_TOO_BIG, UTF8(`option data of ${length} bytes is over the ${limits.maxOptionBytes}-byte limit`));
      throw new HandshakeAbort(`option ${option} with ${length} bytes of data`);
    }
    const data = await reader.exact(length);

    if (tls?.mode === 'require' && !secure && option !== Option.STARTTLS && option !== Option.ABORT) {
      if (option === Option.EXPORT_NAME) throw new HandshakeAbort('EXPORT_NAME before TLS');
      reply(option, Reply.ERR_TLS_REQD, UTF8('TLS is required: send NBD_OPT_STARTTLS first'));
      continue;
    }

    switch (option) {
      case Option.EXPORT_NAME: {
        const name = decodeString(data);
        const exp = name === undefined ? undefined : lookup(name);
        if (!exp) throw new HandshakeAbort(`EXPORT_NAME of an unknown export`);
        const got = await negotiate(exp);
        channel.write(encodeExportNameReply(got.sizeBytes, got.flags, noZeroes));
        return negotiated(exp, got);
      }

      case Option.ABORT:
        reply(option, Reply.ACK);
        return undefined;

      case Option.LIST:
        if (length !== 0) {
          reply(option, Reply.ERR_INVALID, UTF8('NBD_OPT_LIST takes no data'));
          break;
        }
        for (const exp of exports.values()) reply(option, Reply.SERVER, encodeServerReply(exp.name, exp.description));
        reply(option, Reply.ACK);
        break;

      case Option.STARTTLS:
        if (!tls) reply(option, Reply.ERR_UNSUP, UTF8('TLS is not configured on this server'));
        else if (secure) reply(option, Reply.ERR_INVALID, UTF8('TLS is already running'));
        else if (length !== 0) reply(option, Reply.ERR_INVALID, UTF8('NBD_OPT_STARTTLS takes no data'));
        else {
          reply(option, Reply.ACK);
          await channel.startTls((raw) => tls.wrap(raw), 'secure');
          secure = true;
          structured = false;
          metaExport = undefined;
        }
        break;

      case Option.INFO:
      case Option.GO: {
        const request = decodeInfoRequest(data);
        if (!request) {
          reply(option, Reply.ERR_INVALID, UTF8('malformed NBD_OPT_INFO/GO data'));
          break;
        }
        const exp = lookup(request.name);
        if (!exp) {
          reply(option, Reply.ERR_UNKNOWN, UTF8(`no export named '${request.name}'`));
          break;
        }
        let got: Awaited<ReturnType<typeof negotiate>>;
        try {
          got = await negotiate(exp);
        } catch (e) {
          reply(option, Reply.ERR_UNKNOWN, UTF8(`export '${request.name}' is unavailable: ${thrownMessage(e)}`));
          break;
        }
        reply(option, Reply.INFO, encodeInfoExport(got.sizeBytes, got.flags));
        if (request.infos.includes(Info.NAME)) reply(option, Reply.INFO, encodeInfoString(Info.NAME, exp.name));
        if (request.infos.includes(Info.DESCRIPTION) && exp.description !== '') {
          reply(option, Reply.INFO, encodeInfoString(Info.DESCRIPTION, exp.description));
        }
        reply(option, Reply.INFO, encodeInfoBlockSize(blockSizes(got.info, limits.maxPayload)));
        reply(option, Reply.ACK);
        if (option === Option.GO) return negotiated(exp, got);
        break;
      }

      case Option.STRUCTURED_REPLY:
        if (length !== 0) reply(option, Reply.ERR_INVALID, UTF8('NBD_OPT_STRUCTURED_REPLY takes no data'));
        else if (structured) reply(option, Reply.ERR_INVALID, UTF8('structured replies are already negotiated'));
        else {
          structured = true;
          reply(option, Reply.ACK);
        }
        break;

      case Option.LIST_META_CONTEXT:
      case Option.SET_META_CONTEXT: {
        const set = option === Option.SET_META_CONTEXT;
        if (!structured) {
          reply(option, Reply.ERR_INVALID, UTF8('negotiate NBD_OPT_STRUCTURED_REPLY first'));
          break;
        }
        const request = decodeMetaContextRequest(data, limits.maxMetaContextQueries);
        if (request === 'too-big') {
          reply(option, Reply.ERR_TOO_BIG, UTF8(`more than ${limits.maxMetaContextQueries} queries`));
          break;
        }
        if (!request) {
          reply(option, Reply.ERR_INVALID, UTF8('malformed meta context request'));
          break;
        }
        if (set) metaExport = undefined;
        if (!lookup(request.name)) {
          reply(option, Reply.ERR_UNKNOWN, UTF8(`no export named '${request.name}'`));
          break;
        }
        const matches = set
          ? request.queries.includes(BASE_ALLOCATION)
          : request.queries.length === 0 || request.queries.some((q) => q === BASE_ALLOCATION || q === 'base:');
        if (matches) {
          reply(option, Reply.META_CONTEXT, encodeMetaContextReply(set ? BASE_ALLOCATION_ID : 0, BASE_ALLOCATION));
          if (set) metaExport = request.name;
        }
        reply(option, Reply.ACK);
        break;
      }

      default:
        reply(option, Reply.ERR_UNSUP, UTF8(`option ${option} is not supported`));
    }
  }
}
