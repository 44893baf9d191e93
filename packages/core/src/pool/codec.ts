// How tasks and results travel through the two channels of ringwire/pool.
import { Buffer } from 'node:buffer';
import { deserialize, serialize } from 'node:v8';
import { invalidArg, RingwireError } from '../errors.js';
import { plainCodec, type Codec } from '../codec.js';

/**
 * How payloads travel: the channel codecs (see CodecOption) — JSON text (the default:
 * fastest for small plain values), V8 structured-clone serialization (Maps, Dates, typed
 * arrays, BigInts...), MessagePack, or your own { encode, decode } — or 'raw': bytes as they
 * are (Uint8Arrays only). Unlike a channel's codec, null travels as a value here.
 */
export type TaskCodec = 'json' | 'v8' | 'msgpack' | 'raw' | Codec;
export const CODEC_NAMES = ['json', 'v8', 'msgpack', 'raw'] as const;

/** Checks a TaskCodec option; returns it. */
export function checkTaskCodec(option: unknown): TaskCodec {
  if (option === 'raw') return option;
  try {
    plainCodec(option);
  } catch {
    throw invalidArg(`codec must be 'json', 'v8', 'msgpack', 'raw' or an object with encode() and decode(), got ${
      typeof option === 'string' ? JSON.stringify(option) : String(option)}`);
  }
  return option as TaskCodec;
}

export const STATUS_OK = 0;
export const STATUS_FAILED = 1;
export const STATUS_DIED = 2;
/**
 * A notice a loop sends on the result channel before it runs the tasks it took: the "id" is
 * its result sender's endpoint slot, the value { pid, ids }. If that sender dies before their
 * results come, the client knows exactly which tasks were lost.
 */
export const STATUS_TAKEN = 3;

/**
 * Task and result messages. Binary ('raw', 'v8'): uint8 tag, 3 bytes zero, uint32 status,
 * float64 id, then the payload. JSON: the text "J<status> <id> <json>", written into the
 * ring as UTF-8 with no intermediate buffer.
 */
const HEAD = 16;
const TAG_RAW = 1;
const TAG_V8 = 2;
/** msgpack, or a custom codec: the receiving side decodes with its own (they must agree). */
const TAG_CODEC = 3;
const TAG_JSON = 0x4a; // 'J'
const utf8 = new TextDecoder();

export function encode(id: number, status: number, codec: TaskCodec, value: unknown): Uint8Array | string {
  if (codec === 'json') {
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (error) {
      throw new RingwireError('ERR_RINGWIRE_INVALID_ARG', `cannot encode as JSON: ${(error as Error).message}`, { cause: error });
    }
    return `J${status} ${id} ${json === undefined ? 'null' : json}`;
  }
  let body: Uint8Array;
  let tag: number;
  if (codec === 'raw') {
    if (!(value instanceof Uint8Array)) throw invalidArg("with codec 'raw', payloads and results must be Uint8Arrays");
    body = value;
    tag = TAG_RAW;
  } else if (codec === 'v8') {
    try {
      body = serialize(value);
    } catch (error) {
      throw new RingwireError('ERR_RINGWIRE_INVALID_ARG', `cannot serialize: ${(error as Error).message}`, { cause: error });
    }
    tag = TAG_V8;
  } else {
    const encoded = plainCodec(codec).encode(value);
    body = typeof encoded === 'string' ? Buffer.from(encoded, 'utf8') : encoded;
    tag = TAG_CODEC;
  }
  const message = new Uint8Array(HEAD + body.length);
  const view = new DataView(message.buffer);
  message[0] = tag;
  view.setUint32(4, status, true);
  view.setFloat64(8, id, true);
  message.set(body, HEAD);
  return message;
}

export interface Decoded {
  id: number;
  status: number;
  value: unknown;
  /**
   * Set when the message is a task or result (its id and status are there) whose payload
   * does not decode: a codec's failure, or one written with a codec this side does not use.
   * The task fails with it; the channel goes on.
   */
  error?: RingwireError;
}

/** A message that no ringwire/pool endpoint wrote: it is dropped where it is found. */
export class MalformedTaskMessage extends RingwireError {
  constructor() {
    super('ERR_RINGWIRE_CORRUPT', 'a task message that no ringwire/pool endpoint wrote');
  }
}

/**
 * The id of the message at bytes[offset, offset + length) without decoding its payload (so a
 * loop can record a task as held before anything else can fail), or NaN if it has none.
 */
export function peekId(view: DataView, bytes: Uint8Array, offset: number, length: number): number {
  if (length === 0) return NaN;
  const tag = bytes[offset];
  if (tag === TAG_JSON) {
    // "J<status> <id> ...": the id is ASCII digits.
    let i = offset + 1;
    const end = offset + Math.min(length, 40);
    while (i < end && bytes[i] !== 0x20) i++;
    let id = 0;
    let digits = 0;
    for (i++; i < end && bytes[i] >= 0x30 && bytes[i] <= 0x39; i++, digits++) id = id * 10 + bytes[i] - 0x30;
    return digits !== 0 && digits <= 16 && i < end && bytes[i] === 0x20 ? id : NaN;
  }
  if (length < HEAD || (tag !== TAG_RAW && tag !== TAG_V8 && tag !== TAG_CODEC)) return NaN;
  return view.getFloat64(offset + 8, true);
}

/** Whether a message on a result channel is a STATUS_TAKEN notice (whatever the codec). */
export function isTakenNotice(message: Uint8Array): boolean {
  if (message.length === 0) return false;
  if (message[0] === TAG_JSON) return message.length > 3 && message[1] === 0x33 /* '3' */ && message[2] === 0x20 /* ' ' */;
  const tag = message[0];
  return message.length >= HEAD && (tag === TAG_RAW || tag === TAG_V8 || tag === TAG_CODEC)
    && new DataView(message.buffer, message.byteOffset, message.byteLength).getUint32(4, true) === STATUS_TAKEN;
}

export function decode(message: Uint8Array, codec: TaskCodec): Decoded {
  return decodeAt(new DataView(message.buffer, message.byteOffset, message.byteLength), message, 0, message.length, codec);
}

/**
 * Decodes the message at bytes[offset, offset + length), `view` being a DataView that starts
 * where `bytes` does: in place, as poll() hands messages out; the value it returns owns its
 * bytes.
 */
export function decodeAt(view: DataView, bytes: Uint8Array, offset: number, length: number, codec: TaskCodec): Decoded {
  if (length === 0) throw new MalformedTaskMessage();
  const tag = bytes[offset];
  if (tag === TAG_JSON) {
    const text = utf8.decode(bytes.subarray(offset, offset + length));
    const space1 = text.indexOf(' ');
    const space2 = text.indexOf(' ', space1 + 1);
    if (space1 < 0 || space2 < 0) throw new MalformedTaskMessage();
    let value: unknown;
    try {
      value = JSON.parse(text.slice(space2 + 1));
    } catch {
      throw new MalformedTaskMessage();
    }
    return { status: Number(text.slice(1, space1)), id: Number(text.slice(space1 + 1, space2)), value };
  }
  if (length < HEAD || (tag !== TAG_RAW && tag !== TAG_V8 && tag !== TAG_CODEC)) throw new MalformedTaskMessage();
  const status = view.getUint32(offset + 4, true);
  const id = view.getFloat64(offset + 8, true);
  const body = bytes.slice(offset + HEAD, offset + length);
  let value: unknown = body;
  try {
    if (tag === TAG_V8) {
      value = deserialize(body);
    } else if (tag === TAG_CODEC) {
      // Written with msgpack or a custom codec: this side's must be the same one.
      if (codec === 'json' || codec === 'v8' || codec === 'raw') {
        throw new RingwireError('ERR_RINGWIRE_DECODE', `the other side encoded this with msgpack or a codec of its own; this side's codec is '${codec}': both sides must use the same codec`);
      }
      value = plainCodec(codec).decode(body);
    }
  } catch (error) {
    const failure = error instanceof RingwireError && error.code === 'ERR_RINGWIRE_DECODE' ? error
      : new RingwireError('ERR_RINGWIRE_DECODE', `cannot decode: ${(error as Error)?.message ?? String(error)}`, { cause: error });
    return { status, id, value: undefined, error: failure };
  }
  return { status, id, value };
}

/**
 * A failure as it crosses a channel or piscina's worker boundary (where class and code are
 * lost): the `cause` of a task's ERR_RINGWIRE_TASK_FAILED or ERR_RINGWIRE_WORKER_DIED
 * rejection, of servePool's rejection when a loop fails on its own, and
 * {@link LoopOutcome.error}. Reports of lost tasks, and those shortened to fit the result
 * channel, keep at most 64 characters of `name` and `code` and 400 of `message`.
 */
export interface FailureReport {
  /** The error's name ('TypeError', 'RingwireError', ...); 'Error' for a thrown non-Error. */
  name: string;
  /** The error's message (for a thrown non-Error, the value as a string). */
  message: string;
  /** The error's `code`, when it had a string one (e.g. 'ERR_RINGWIRE_NOT_FOUND'). */
  code?: string;
  /**
   * The error's stack where it was thrown, when the report carries one: reports of lost
   * tasks and of payloads that could not be decoded, and reports shortened to fit the
   * result channel, carry none.
   */
  stack?: string;
}

/** The longest message a report carries across a channel (and no stack): it must fit the smallest ring. */
const REPORT_MESSAGE_MAX = 400;

/** A report small enough for any result channel (capacity >= 1 KiB). */
export function compactReport(error: unknown): FailureReport {
  const { name, message, code } = report(error);
  const short = message.length > REPORT_MESSAGE_MAX ? `${message.slice(0, REPORT_MESSAGE_MAX)}…` : message;
  return { name: name.slice(0, 64), message: short, ...(code !== undefined ? { code: code.slice(0, 64) } : {}) };
}

export function report(error: unknown): FailureReport {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, stack: error.stack, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(error) };
}
