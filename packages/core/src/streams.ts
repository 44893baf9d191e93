// Node streams over channels: receiver.readable() and sender.writable(), with backpressure
// end to end (a full ring holds the writer's callback; a Readable's full buffer stops taking
// messages, so the ring fills and the sender waits).
import { Buffer } from 'node:buffer';
import { Readable, Writable } from 'node:stream';
import { invalidArg, RingwireError } from './errors.js';
import type { Receiver } from './receiver.js';
import type { Message, Sender } from './sender.js';

/** Options of {@link Receiver.readable}. */
export interface ReadableOptions {
  /**
   * One message per chunk, as recv() returns it. Default: true with a codec (values), false
   * without (a byte stream of the messages' bytes, as Buffers). A receiver with a codec
   * cannot read in byte mode (false is ERR_RINGWIRE_INVALID_ARG).
   */
  objectMode?: boolean;
  /** The stream's buffer: messages in object mode, bytes otherwise (Node's defaults). */
  highWaterMark?: number;
  /** Destroys the stream (with an AbortError) when it aborts. */
  signal?: AbortSignal;
}

/** Options of {@link Sender.writable}. */
export interface WritableOptions {
  /**
   * Each chunk is one message (a value with a codec). Default: true with a codec, false
   * without (bytes: each chunk is sent as is, split where it exceeds the largest message).
   * A sender with a codec cannot write in byte mode (false is ERR_RINGWIRE_INVALID_ARG).
   */
  objectMode?: boolean;
  /** The stream's buffer before write() returns false (Node's defaults). */
  highWaterMark?: number;
  /** Whether ending the stream ends the channel (sender.end()); default true. */
  end?: boolean;
  /** Destroys the stream (with an AbortError) when it aborts. */
  signal?: AbortSignal;
}

function checkOptions(options: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') throw invalidArg('stream options must be an object');
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw invalidArg(`unknown stream option '${key}' (expected ${allowed.join(', ')})`);
  }
  const o = options as Record<string, unknown>;
  if (o.objectMode !== undefined && typeof o.objectMode !== 'boolean') throw invalidArg('objectMode must be a boolean');
  if (o.highWaterMark !== undefined && (typeof o.highWaterMark !== 'number' || !(o.highWaterMark >= 0))) {
    throw invalidArg('highWaterMark must be a non-negative number');
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw invalidArg('signal must be an AbortSignal');
  return o;
}

/** A Readable of a receiver's messages; it ends with the channel, or when the receiver closes. */
export function receiverReadable(receiver: Receiver<unknown>, hasCodec: boolean, options?: ReadableOptions): Readable {
  const o = checkOptions(options, ['objectMode', 'highWaterMark', 'signal']);
  const objectMode = (o.objectMode as boolean | undefined) ?? hasCodec;
  if (hasCodec && !objectMode) throw invalidArg('a receiver with a codec reads values: its readable() is in object mode');
  const toChunk = (message: unknown): unknown => {
    if (objectMode) return message;
    const bytes = message as Uint8Array;
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  };
  const stop = new AbortController();
  let waiting = false;
  const stream = new Readable({
    objectMode,
    highWaterMark: o.highWaterMark as number | undefined,
    signal: o.signal as AbortSignal | undefined,
    read() {
      if (waiting) return;
      // What is there now goes in at once, while the stream wants more.
      for (;;) {
        let message: unknown;
        try {
          if (receiver.isClosed) {
            stream.push(null);
            return;
          }
          message = receiver.tryRecv();
        } catch (error) {
          stream.destroy(error as Error);
          return;
        }
        if (message === undefined) break;
        if (!stream.push(toChunk(message))) return;
      }
      // Nothing now: wait for the next message (or the end).
      waiting = true;
      receiver.recv({ signal: stop.signal }).then((message) => {
        waiting = false;
        // Destroyed in the instant after the message was taken: it cannot be handed back.
        if (stream.destroyed) return;
        if (message === null) stream.push(null);
        else if (stream.push(toChunk(message))) stream._read(0);
      }, (error: unknown) => {
        waiting = false;
        if (stop.signal.aborted) return; // destroyed meanwhile
        // The receiver closed under the stream: the stream ends, as iteration does.
        if (error instanceof RingwireError && error.code === 'ERR_RINGWIRE_CLOSED' && receiver.isClosed) stream.push(null);
        else stream.destroy(error as Error);
      });
    },
    destroy(error, callback) {
      stop.abort();
      callback(error);
    },
  });
  return stream;
}

/** A Writable into a sender; see Sender.writable(). */
export function senderWritable(sender: Sender<unknown>, hasCodec: boolean, options?: WritableOptions): Writable {
  const o = checkOptions(options, ['objectMode', 'highWaterMark', 'end', 'signal']);
  if (o.end !== undefined && typeof o.end !== 'boolean') throw invalidArg('end must be a boolean');
  const objectMode = (o.objectMode as boolean | undefined) ?? hasCodec;
  if (hasCodec && !objectMode) throw invalidArg('a sender with a codec writes values: its writable() is in object mode');
  const endChannel = o.end !== false;
  const max = sender.maxMessageBytes;
  const stop = new AbortController();
  const sendBytes = async (chunk: Uint8Array): Promise<void> => {
    // A chunk longer than the largest message goes in pieces; each piece is one message (an
    // empty chunk, one empty message).
    let at = 0;
    do {
      await sender.send(chunk.subarray(at, at + max), { signal: stop.signal });
      at += max;
    } while (at < chunk.length);
  };
  return new Writable({
    objectMode,
    decodeStrings: !objectMode,
    highWaterMark: o.highWaterMark as number | undefined,
    signal: o.signal as AbortSignal | undefined,
    write(chunk: unknown, _encoding, callback) {
      const sent = objectMode ? sender.send(chunk as Message, { signal: stop.signal }) : sendBytes(chunk as Uint8Array);
      sent.then(() => callback(), callback);
    },
    final(callback) {
      if (!endChannel) {
        callback();
        return;
      }
      sender.end().then(() => callback(), callback);
    },
    destroy(error, callback) {
      stop.abort();
      callback(error);
    },
  });
}
