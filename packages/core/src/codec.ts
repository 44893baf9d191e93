// Codecs: how values become the bytes of a message and back. A sender or receiver opened with
// a codec sends and receives values (Sender<T>, Receiver<T>); without one, bytes and strings.
import { deserialize, serialize } from 'node:v8';
import { Packr } from 'msgpackr';
import { invalidArg, RingwireError } from './errors.js';

/**
 * Turns values into message bytes and back. `encode` may return a string (sent as UTF-8).
 * On a channel null and undefined cannot travel either way, since recv() keeps null for the
 * end of the stream and tryRecv() undefined for "none now" (send a wrapper such as
 * `{ value: null }`); ringwire/pool's tasks carry them.
 *
 * @example
 * ```ts
 * import { openReceiver, openSender, type Codec } from 'ringwire';
 *
 * interface Point { x: number; y: number }
 * const points: Codec<Point> = {
 *   encode: (p) => new Uint8Array(new Float64Array([p.x, p.y]).buffer),
 *   // slice(): `bytes` may sit at any offset of a shared buffer; a Float64Array needs 8-byte alignment.
 *   decode: (bytes) => {
 *     const [x, y] = new Float64Array(bytes.slice().buffer);
 *     return { x, y };
 *   },
 * };
 *
 * const sender = openSender('points', { codec: points });      // Sender<Point>
 * const receiver = openReceiver('points', { codec: points });  // Receiver<Point>
 * await sender.send({ x: 1.5, y: -2 });
 * const point = await receiver.recv();                         // Point | null (null: ended)
 * ```
 */
export interface Codec<T = unknown> {
  /**
   * The bytes of one message for `value`. Called as the value is sent; what it throws fails
   * that send, as ERR_RINGWIRE_INVALID_ARG unless it is a RingwireError.
   */
  encode(value: T): Uint8Array | string;
  /**
   * The value of one received message. `bytes` is a copy the codec may keep, but its
   * `.buffer` may hold other messages too: read it through `byteOffset`/`byteLength`, or
   * `slice()` it. What it throws fails that receive with ERR_RINGWIRE_DECODE (unless it is a
   * RingwireError); the message has been taken from the channel.
   */
  decode(bytes: Uint8Array): T;
}

/**
 * A codec by name, or your own:
 * - `'json'`: JSON text, UTF-8 (plain objects, arrays, strings, numbers, booleans, null);
 * - `'v8'`: V8's structured-clone serialization (Maps, Sets, Dates, typed arrays, BigInts,
 *   cycles), readable only by Node.js;
 * - `'msgpack'`: MessagePack (msgpackr, standard encoding without its record extension), which
 *   other languages read;
 * - `{ encode, decode }`: anything else (see {@link Codec}).
 *
 * Both ends must use the same one. With a codec, a Sender sends and a Receiver receives
 * values of type `T`; without one, bytes (strings are sent as UTF-8).
 *
 * @example
 * ```ts
 * import { openReceiver, openSender } from 'ringwire';
 *
 * interface Job { id: number; url: string }
 *
 * // producer
 * const sender = openSender<Job>('jobs', { codec: 'json' });
 * await sender.send({ id: 1, url: 'https://example.com/a' });
 *
 * // consumer (another process)
 * const receiver = openReceiver<Job>('jobs', { codec: 'json' });
 * for await (const job of receiver) console.log(job.id, job.url);
 * ```
 */
export type CodecOption<T = unknown> = 'json' | 'v8' | 'msgpack' | Codec<T>;

/** Names of the built-in codecs. */
export const CODEC_NAMES = ['json', 'v8', 'msgpack'] as const;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function encodeFailed(codec: string, error: unknown): RingwireError {
  return new RingwireError('ERR_RINGWIRE_INVALID_ARG',
    `cannot encode the value with codec '${codec}': ${(error as Error)?.message ?? String(error)}`, { cause: error });
}

/** A received message the codec cannot decode; the message has been taken from the channel. */
export function decodeFailed(codec: string, error: unknown): RingwireError {
  return new RingwireError('ERR_RINGWIRE_DECODE',
    `a message could not be decoded with codec '${codec}' (it was taken from the channel): ${(error as Error)?.message ?? String(error)}`,
    { cause: error });
}

const json: Codec = {
  encode(value) {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (error) {
      throw encodeFailed('json', error);
    }
    if (text === undefined) throw invalidArg(`cannot encode ${typeof value} as JSON`);
    return text;
  },
  decode(bytes) {
    try {
      return JSON.parse(utf8.decode(bytes));
    } catch (error) {
      throw decodeFailed('json', error);
    }
  },
};

const v8: Codec = {
  encode(value) {
    try {
      return serialize(value);
    } catch (error) {
      throw encodeFailed('v8', error);
    }
  },
  decode(bytes) {
    try {
      return deserialize(bytes);
    } catch (error) {
      throw decodeFailed('v8', error);
    }
  },
};

// Standard MessagePack: no record extension, so any MessagePack reader decodes it.
const packr = new Packr({ useRecords: false, moreTypes: false });
const msgpack: Codec = {
  encode(value) {
    try {
      return packr.pack(value);
    } catch (error) {
      throw encodeFailed('msgpack', error);
    }
  },
  decode(bytes) {
    try {
      return packr.unpack(bytes);
    } catch (error) {
      throw decodeFailed('msgpack', error);
    }
  },
};

const BUILT_IN: Record<(typeof CODEC_NAMES)[number], Codec> = { json, v8, msgpack };

/**
 * The codec an option names, as it is (null allowed both ways): for ringwire/pool, whose
 * messages carry an id beside the value. Its errors are coded as resolveCodec()'s are.
 */
export function plainCodec(option: unknown): Codec {
  let inner: Codec | undefined;
  let name = 'custom';
  if (typeof option === 'string') {
    if (Object.hasOwn(BUILT_IN, option)) {
      inner = BUILT_IN[option as keyof typeof BUILT_IN];
      name = option;
    }
  } else if (option !== null && typeof option === 'object'
    && typeof (option as Codec).encode === 'function' && typeof (option as Codec).decode === 'function') {
    inner = option as Codec;
  }
  if (inner === undefined) {
    throw invalidArg(`codec must be 'json', 'v8', 'msgpack' or an object with encode() and decode(), got ${
      typeof option === 'string' ? JSON.stringify(option) : String(option)}`);
  }
  if (name !== 'custom') return inner; // the built-ins code their own errors
  const codec = inner;
  return {
    encode(value) {
      let bytes: unknown;
      try {
        bytes = codec.encode(value);
      } catch (error) {
        throw error instanceof RingwireError ? error : encodeFailed(name, error);
      }
      if (!(bytes instanceof Uint8Array) && typeof bytes !== 'string') {
        throw invalidArg(`codec '${name}': encode() must return a Uint8Array or a string`);
      }
      return bytes;
    },
    decode(bytes) {
      try {
        return codec.decode(bytes);
      } catch (error) {
        throw error instanceof RingwireError ? error : decodeFailed(name, error);
      }
    },
  };
}

/**
 * The codec an option names (undefined: none, bytes as they are); throws on anything else.
 * Every codec refuses null and undefined both ways: recv() resolves null for the end of the
 * stream and tryRecv() returns undefined for "none now", so such a value could not be told
 * from them (send a wrapper such as { value: null } instead).
 */
export function resolveCodec(option: unknown): Codec | undefined {
  if (option === undefined) return undefined;
  const codec = plainCodec(option);
  const name = codecName(option);
  return {
    encode(value) {
      if (value === null || value === undefined) {
        throw invalidArg(`${String(value)} cannot be sent with a codec: recv() resolves null for the end of the stream and `
          + 'tryRecv() undefined for "none now" (wrap it, e.g. { value: null })');
      }
      return codec.encode(value);
    },
    decode(bytes) {
      const value = codec.decode(bytes);
      if (value === null || value === undefined) {
        throw decodeFailed(name, new Error(`the message decodes to ${String(value)}, which recv() and tryRecv() keep for the end of the stream and "none now"`));
      }
      return value;
    },
  };
}

/** A codec's name for messages and inspection. */
export function codecName(option: unknown): string {
  return typeof option === 'string' ? option : option === undefined ? 'none' : 'custom';
}
