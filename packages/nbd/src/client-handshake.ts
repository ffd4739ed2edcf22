import { BlockError } from '@blk/core';
import type { Channel } from './channel.js';
import {
  BASE_ALLOCATION,
  FLAG_C_FIXED_NEWSTYLE,
  FLAG_C_NO_ZEROES,
  FLAG_FIXED_NEWSTYLE,
  FLAG_NO_ZEROES,
  Info,
  OPTION_REPLY_HEADER_BYTES,
  Option,
  Reply,
  isErrorReply,
} from './constants.js';
import {
  GREETING_BYTES,
  decodeGreeting,
  decodeInfoReply,
  decodeMetaContextReply,
  decodeOptionReplyHeader,
  decodeServerReply,
  decodeString,
  encodeInfoRequest,
  encodeMetaContextRequest,
  encodeOption,
  encodeString,
  replyName,
  type BlockSizes,
} from './option-codec.js';
import type { ClientTls } from './tls-config.js';
import { readU64 } from './transmission-codec.js';

/** Option replies longer than this are refused (a hostile LIST reply once overflowed qemu's stack). */
const MAX_OPTION_REPLY_BYTES = 64 << 10;

export interface ClientHandshakeOptions {
  readonly exportName: string;
  /** TLS after STARTTLS; TLS is required when given. */
  readonly tls?: ClientTls;
  readonly structuredReplies: boolean;
  readonly blockStatus: boolean;
}

/** What the server told us about the export. */
export interface ExportDetails {
  readonly size: number;
  readonly flags: number;
  readonly structured: boolean;
  /** Context id of `base:allocation`, when selected. */
  readonly allocationContext: number | undefined;
  /** Present when the server sent NBD_INFO_BLOCK_SIZE. */
  readonly blockSizes: BlockSizes | undefined;
  readonly description: string | undefined;
  /** How transmission was entered. */
  readonly via: 'GO' | 'EXPORT_NAME';
  readonly tls: boolean;
}

export class NbdProtocolError extends Error {
  override readonly name = 'NbdProtocolError';
}

interface OptionReply {
  readonly type: number;
  readonly data: Buffer;
}

/** An error reply as a BlockError: UNSUPPORTED for policy and TLS refusals (and `code` when given), IO otherwise. */
function replyError(what: string, reply: OptionReply, code?: 'UNSUPPORTED'): BlockError {
  const message = decodeString(reply.data.subarray(0, 4096)) ?? '';
  return new BlockError(
    code ?? (reply.type === Reply.ERR_TLS_REQD || reply.type === Reply.ERR_POLICY ? 'UNSUPPORTED' : 'IO'),
    `${what}: the server answered ${replyName(reply.type)}${message ? ` (${message})` : ''}`,
  );
}

/** The option-haggling phase from the client side: greeting, flags, optional STARTTLS, then options. */
class Negotiation {
  secure = false;

  private constructor(
    readonly channel: Channel,
    /** The server speaks fixed newstyle (options get replies). */
    readonly fixed: boolean,
    readonly noZeroes: boolean,
  ) {}

  /** Reads the greeting, answers with our flags, and runs STARTTLS when `tls` is given. */
  static async start(channel: Channel, tls: ClientTls | undefined): Promise<Negotiation> {
    const handshakeFlags = decodeGreeting(await channel.reader.exact(GREETING_BYTES));
    if (handshakeFlags === undefined) throw new NbdProtocolError('not an NBD newstyle server (bad greeting magic)');
    const fixed = (handshakeFlags & FLAG_FIXED_NEWSTYLE) !== 0;
    const noZeroes = (handshakeFlags & FLAG_NO_ZEROES) !== 0;
    const flags = Buffer.allocUnsafe(4);
    flags.writeUInt32BE((fixed ? FLAG_C_FIXED_NEWSTYLE : 0) | (noZeroes ? FLAG_C_NO_ZEROES : 0));
    channel.write(flags);
    const negotiation = new Negotiation(channel, fixed, noZeroes);
    if (tls) {
      if (!fixed) throw new BlockError('UNSUPPORTED', 'the server does not speak fixed newstyle, so it cannot do TLS');
      const reply = await negotiation.simple(Option.STARTTLS);
      if (reply.type !== Reply.ACK) throw replyError('STARTTLS', reply, 'UNSUPPORTED');
      await channel.startTls(
        (raw) => tls.wrap(raw),
        'secureConnect',
        (secure) => {
          tls.check(secure);
        },
      );
      negotiation.secure = true;
    }
    return negotiation;
  }

  send(option: number, data?: Uint8Array): void {
    this.channel.write(encodeOption(option, data));
  }

  async reply(option: number): Promise<OptionReply> {
    const { reader } = this.channel;
    const header = decodeOptionReplyHeader(await reader.exact(OPTION_REPLY_HEADER_BYTES));
    if (!header) throw new NbdProtocolError('bad option reply magic');
    if (header.option !== option) throw new NbdProtocolError(`reply to option ${header.option} while waiting for ${option}`);
    if (header.length > MAX_OPTION_REPLY_BYTES) throw new NbdProtocolError(`option reply of ${header.length} bytes`);
    return { type: header.type, data: await reader.exact(header.length) };
  }

  /** An option answered by one final reply (ACK or an error). */
  async simple(option: number, data?: Uint8Array): Promise<OptionReply> {
    this.send(option, data);
    const reply = await this.reply(option);
    if (reply.type !== Reply.ACK && !isErrorReply(reply.type)) throw new NbdProtocolError(`unexpected ${replyName(reply.type)}`);
    return reply;
  }

  /** Ends negotiation with EXPORT_NAME; the server hangs up when it refuses. */
  async exportName(name: string, structured: boolean): Promise<ExportDetails> {
    this.send(Option.EXPORT_NAME, Buffer.from(name, 'utf8'));
    let reply: Buffer;
    try {
      reply = await this.channel.reader.exact(this.noZeroes ? 10 : 134);
    } catch {
      throw new BlockError('IO', `the server closed the connection: it has no export '${name}' or refused it`);
    }
    const size = readU64(reply, 0);
    if (size > Number.MAX_SAFE_INTEGER) throw new NbdProtocolError(`export size ${size} is beyond 2^53`);
    return {
      size,
      flags: reply.readUInt16BE(8),
      structured,
      allocationContext: undefined,
      blockSizes: undefined,
      description: undefined,
      via: 'EXPORT_NAME',
      tls: this.secure,
    };
  }
}

/**
 * Runs the client side of the fixed-newstyle handshake: STARTTLS when asked, STRUCTURED_REPLY,
 * SET_META_CONTEXT base:allocation, then GO with NAME/DESCRIPTION/BLOCK_SIZE requests, falling back
 * to EXPORT_NAME for servers without GO, and to simple replies for servers without them.
 */
export async function clientHandshake(channel: Channel, options: ClientHandshakeOptions): Promise<ExportDetails> {
  const name = options.exportName;
  encodeString(name, 'export name');
  const negotiation = await Negotiation.start(channel, options.tls);
  if (!negotiation.fixed) return negotiation.exportName(name, false);

  let structured = false;
  if (options.structuredReplies) {
    const reply = await negotiation.simple(Option.STRUCTURED_REPLY);
    if (reply.type === Reply.ACK) structured = true;
    else if (reply.type === Reply.ERR_TLS_REQD) throw replyError('STRUCTURED_REPLY', reply);
  }

  let allocationContext: number | undefined;
  if (structured && options.blockStatus) {
    negotiation.send(Option.SET_META_CONTEXT, encodeMetaContextRequest(name, [BASE_ALLOCATION]));
    for (;;) {
      const reply = await negotiation.reply(Option.SET_META_CONTEXT);
      if (reply.type === Reply.META_CONTEXT) {
        const context = decodeMetaContextReply(reply.data);
        if (!context) throw new NbdProtocolError('malformed NBD_REP_META_CONTEXT');
        if (context.name === BASE_ALLOCATION) allocationContext = context.id;
        continue;
      }
      if (reply.type !== Reply.ACK && !isErrorReply(reply.type)) throw new NbdProtocolError(`unexpected ${replyName(reply.type)}`);
      if (reply.type !== Reply.ACK) allocationContext = undefined;
      break;
    }
  }

  negotiation.send(Option.GO, encodeInfoRequest(name, [Info.NAME, Info.DESCRIPTION, Info.BLOCK_SIZE]));
  let size: number | undefined;
  let exportFlags = 0;
  let blockSizes: BlockSizes | undefined;
  let description: string | undefined;
  for (;;) {
    const reply = await negotiation.reply(Option.GO);
    if (reply.type === Reply.INFO) {
      const info = decodeInfoReply(reply.data);
      if (!info) throw new NbdProtocolError('malformed NBD_REP_INFO');
      if (info.type === Info.EXPORT) {
        size = info.size;
        exportFlags = info.flags;
      } else if (info.type === Info.BLOCK_SIZE) {
        blockSizes = { minimum: info.minimum, preferred: info.preferred, maximum: info.maximum };
      } else if (info.type === Info.DESCRIPTION) {
        description = info.text;
      }
      continue;
    }
    if (reply.type === Reply.ACK) break;
    if (reply.type === Reply.ERR_UNSUP) return negotiation.exportName(name, structured);
    if (reply.type === Reply.ERR_UNKNOWN) {
      throw new BlockError(
        'INVALID_ARGUMENT',
        `the server has no export '${name}'${reply.data.length ? ` (${reply.data.toString()})` : ''}`,
      );
    }
    if (isErrorReply(reply.type)) throw replyError(`GO '${name}'`, reply);
    throw new NbdProtocolError(`unexpected ${replyName(reply.type)} to GO`);
  }
  if (size === undefined) throw new NbdProtocolError('GO succeeded without NBD_INFO_EXPORT');
  if (blockSizes) checkBlockSizes(blockSizes);
  return { size, flags: exportFlags, structured, allocationContext, blockSizes, description, via: 'GO', tls: negotiation.secure };
}

export interface ExportListing {
  readonly name: string;
  readonly description: string;
}

/** NBD_OPT_LIST (after STARTTLS when asked), then ABORT. */
export async function clientList(channel: Channel, tls: ClientTls | undefined): Promise<ExportListing[]> {
  const negotiation = await Negotiation.start(channel, tls);
  if (!negotiation.fixed) throw new BlockError('UNSUPPORTED', 'the server does not speak fixed newstyle, so it cannot list exports');
  negotiation.send(Option.LIST);
  const exports: ExportListing[] = [];
  for (;;) {
    const reply = await negotiation.reply(Option.LIST);
    if (reply.type === Reply.SERVER) {
      const entry = decodeServerReply(reply.data);
      if (!entry) throw new NbdProtocolError('malformed NBD_REP_SERVER');
      exports.push(entry);
      continue;
    }
    if (reply.type === Reply.ACK) break;
    if (isErrorReply(reply.type)) throw replyError('LIST', reply);
    throw new NbdProtocolError(`unexpected ${replyName(reply.type)} to LIST`);
  }
  // A soft disconnect; the server may close without answering.
  negotiation.send(Option.ABORT);
  return exports;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/** The protocol's rules for advertised block sizes; a server breaking them is refused. */
function checkBlockSizes({ minimum, preferred, maximum }: BlockSizes): void {
  const ok =
    isPowerOfTwo(minimum) &&
    minimum <= 65536 &&
    isPowerOfTwo(preferred) &&
    preferred >= Math.max(minimum, 512) &&
    (maximum === 0xffffffff || maximum % minimum === 0);
  if (!ok) throw new NbdProtocolError(`invalid block sizes ${minimum}/${preferred}/${maximum}`);
}
