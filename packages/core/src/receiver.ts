// The receiving end of a channel, whatever its mode: the API and its queue of waiting
// receives. Everything done to the ring is the protocol's (ring/contract.ts).
import { AbortError, invalidArg, RingwireError } from './errors.js';
import { Endpoint, publishAll, unpublished } from './endpoint.js';
import { resolveWaitOptions, type ResolvedEndpoint, type WaitOptions } from './options.js';
import { copyOut } from './slab.js';
import type { Codec } from './codec.js';
import { receiverReadable, type ReadableOptions } from './streams.js';
import type { Readable } from 'node:stream';
import type { EndpointHost, ReceiverProtocol } from './ring/contract.js';
import { RECORD_HEADER_SIZE } from './ring/layout.js';
import type { RingView } from './ring/segment.js';

/** poll() copies messages up to this long word by word (broadcast; see poll()). */
const SMALL_COPY = 256;

function checkTarget(target: Uint8Array, offset: number): void {
  if (!(target instanceof Uint8Array)) throw invalidArg('target must be a Uint8Array');
  if (!Number.isInteger(offset) || offset < 0 || offset > target.length) {
    throw invalidArg(`offset must be an integer from 0 to ${target.length}, got ${String(offset)}`);
  }
}

/**
 * The receiving end of a channel (SPSC, MPMC or broadcast): the API and its queueing, over a ring
 * protocol that each mode implements. Open one with {@link openReceiver}; `T` is Uint8Array
 * without a codec, the codec's values with one.
 *
 * Messages come in the order they were sent (MPMC: each sender's in its order). `recv()`,
 * `recvInto()` and iteration wait for one; `tryRecv()`, `tryRecvInto()` and `poll()` never wait;
 * `recvSync()` blocks the thread. All but `poll()` (a view of the ring, during its handler)
 * hand out copies the caller owns. A pending wait keeps the process alive, as a socket's
 * does, unless `unref()` is called.
 *
 * @property name The channel's name.
 *
 * @example
 * ```ts
 * import { openReceiver } from 'ringwire';
 *
 * using receiver = openReceiver<{ level: string; text: string }>('logs', { codec: 'json' });
 * receiver.unref();  // a background listener: it does not keep the process alive
 * for await (const entry of receiver) {
 *   if (entry.level === 'error') console.error(entry.text);
 * } // the loop ends when the sender ends the stream; `using` closes the receiver
 * ```
 */
export class Receiver<T = Uint8Array> extends Endpoint<T | number | null, ReceiverProtocol> implements AsyncIterable<T> {
  /** @internal The codec the receiver was opened with (bytes in, values out), if any. */
  codec: Codec | undefined;
  /** @internal Its name, for inspection. */
  codecName = 'none';
  /** Inside a poll() handler, whose view must stay valid: receiving again is refused. */
  private polling = false;
  /** Where poll() copies a message when the protocol's views are not stable (broadcast). */
  private pollScratch = new Uint8Array(4096);
  private pollScratch32 = new Int32Array(this.pollScratch.buffer);
  private pollView = this.pollScratch.subarray(0, 0);

  /** @internal Use openReceiver(). */
  constructor(view: RingView, strategy: ResolvedEndpoint, makeProtocol: (host: EndpointHost) => ReceiverProtocol) {
    super(view, strategy, 'receiver', makeProtocol);
  }

  /**
   * peek(), and when nothing is there, publishes what this thread's endpoints hold back and
   * looks once more: a sender in this thread (maybe of this very channel) may have deferred
   * the message, and the caller may be about to wait or spin for it.
   */
  private peekPublishing(): number {
    const at = this.protocol.peek();
    if (at >= 0 || unpublished.size === 0) return at;
    publishAll();
    return this.protocol.peek();
  }

  private next(): number {
    for (;;) {
      const at = this.peekPublishing();
      if (at < 0 || this.protocol.acquire(at)) return at;
    }
  }

  /**
   * Broadcast channels created with `overflow: 'drop'`: how many messages this receiver
   * missed because it fell a whole ring behind and the sender wrote over them. A receive that
   * follows a gap raises it before it returns: compare `lost` before and after a receive to
   * know that the gap lies just before the message it returned. 0 on every other channel.
   *
   * @example
   * ```ts
   * for await (const tick of receiver) {
   *   if (receiver.lost !== seen) {
   *     console.warn(`missed ${receiver.lost - seen} ticks before this one`);
   *     seen = receiver.lost;
   *   }
   *   update(tick);
   * }
   * ```
   */
  get lost(): number {
    return this.protocol.lost;
  }

  /**
   * True once the sender has ended the stream and every message has been taken: tryRecv()
   * will never return a message again.
   */
  get ended(): boolean {
    this.ensureOpen();
    return this.protocol.drainedAndEnded();
  }

  /**
   * Takes the next message if there is one (a copy the caller owns); undefined if none now,
   * or while earlier recv() calls still wait (they are served first, in order). Check
   * {@link ended} to tell "nothing yet" from "nothing ever again".
   *
   * @example
   * ```ts
   * // Drain what is there now without waiting, e.g. on a timer or between frames.
   * let message: Uint8Array | undefined;
   * while ((message = receiver.tryRecv()) !== undefined) handle(message);
   * if (receiver.ended) receiver.close();
   * ```
   */
  tryRecv(): T | undefined {
    this.ensureOpen();
    if (this.queue.length !== 0) return undefined;
    const message = this.take();
    return message === undefined || this.codec === undefined ? message as T | undefined : this.codec.decode(message) as T;
  }

  /**
   * Copies the next message, if there is one, into `target` at `offset` — memory the caller
   * owns and may reuse, so nothing is allocated — and returns its length; -1 if none now.
   * A message longer than the room left throws ERR_RINGWIRE_TOO_LARGE (with `length`) and
   * stays in the channel.
   */
  tryRecvInto(target: Uint8Array, offset = 0): number {
    this.ensureOpen();
    checkTarget(target, offset);
    if (this.queue.length !== 0) return -1;
    return this.takeInto(target, offset);
  }

  /**
   * Waits for the next message and copies it into `target` at `offset` (memory the caller
   * owns and may reuse): resolves with its length, or null once the sender ended and all is
   * drained. tryRecvInto() that waits, in turn with recv() calls; the same options and
   * errors as recv(). A message longer than the room left rejects with
   * ERR_RINGWIRE_TOO_LARGE (with `length`) and stays in the channel. For messages larger than
   * the ring it is the receive that allocates nothing: the receiver puts each one together
   * in memory it keeps and fills again.
   *
   * @example
   * ```ts
   * const frame = new Uint8Array(64 << 20);  // one buffer for every frame
   * for (;;) {
   *   const length = await receiver.recvInto(frame);
   *   if (length === null) break;
   *   render(frame.subarray(0, length));
   * }
   * ```
   */
  recvInto(target: Uint8Array, offset = 0, options?: WaitOptions): Promise<number | null> {
    try {
      this.ensureOpen();
      checkTarget(target, offset);
      const wait = resolveWaitOptions(options, true);
      if (this.queue.length === 0) {
        let length = this.takeInto(target, offset);
        if (length < 0 && !this.protocol.drainedAndEnded() && !wait.signal?.aborted && this.spinBeforeQueueing()) {
          length = this.takeInto(target, offset);
        }
        if (length >= 0) return Promise.resolve(length);
        if (this.protocol.drainedAndEnded()) return Promise.resolve(null);
      }
      // A queued recvInto: `data` is its target and `length` its offset (see satisfy()).
      return this.enqueue(wait, 'recvInto', target, offset) as Promise<number | null>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** tryRecvInto() once the queue is served: copies the next message into target, or -1. */
  private takeInto(target: Uint8Array, offset: number): number {
    if (this.polling) this.checkNotPolling();
    // How far a copy found overwritten meanwhile (broadcast) wrote into the target.
    let discarded = 0;
    for (;;) {
      const at = this.peekPublishing();
      if (at < 0) return -1;
      const protocol = this.protocol;
      const length = protocol.recordLength;
      // A message shorter than the discarded copy would return with part of that copy past
      // it, and one that does not fit would throw with it in the target: it stays for the
      // next call, and this one returns -1 (leaving the discarded copy, as documented).
      if (discarded > 0 && (length < discarded || length > target.length - offset)) return -1;
      if (length > target.length - offset) {
        throw Object.assign(new RingwireError('ERR_RINGWIRE_TOO_LARGE',
          `the next message on channel '${this.name}' is ${length} bytes; the target has room for ${target.length - offset}`),
        { length });
      }
      if (!protocol.acquire(at)) continue;
      const start = at + RECORD_HEADER_SIZE;
      target.set(protocol.source.subarray(start, start + length), offset);
      // Overwritten while it was copied (broadcast 'drop'): what the target got is not a message.
      if (!protocol.release(at, length, false, true)) {
        discarded = Math.max(discarded, length);
        continue;
      }
      return length;
    }
  }

  private checkNotPolling(): void {
    if (this.polling) {
      throw invalidArg('cannot receive inside a poll() handler (its view would be released); return from the handler first');
    }
  }

  private take(): Uint8Array | undefined {
    if (this.polling) this.checkNotPolling();
    for (;;) {
      const offset = this.next();
      if (offset < 0) return undefined;
      const start = offset + RECORD_HEADER_SIZE;
      const protocol = this.protocol;
      const length = protocol.recordLength;
      const source = protocol.source;
      // A message that came in fragments is already a copy of its own, put together by the protocol.
      const message = source === this.view.u8 ? copyOut(source, start, length) : source.subarray(start, start + length);
      // False: the sender wrote over the record while it was copied (broadcast 'drop').
      if (protocol.release(offset, length, false)) return message;
    }
  }

  /**
   * Hands up to `limit` messages available now to `handler` without copying them: `bytes` is
   * a view of the whole mapping and the message is bytes[offset, offset + length). The view
   * is valid only during the call (the sender may overwrite the space afterwards). Each
   * message is taken even if its handler throws (the error propagates). Returns the count.
   * The handler may not receive from this receiver (ERR_RINGWIRE_INVALID_ARG). Messages are
   * not decoded, even with a codec. On a broadcast channel the sender may write over the ring
   * under a view ('drop' at any time; 'block' once it cuts the receiver off), so there `bytes`
   * is a copy of the one message (in memory the receiver reuses), checked to be whole before
   * the handler sees it. A message
   * larger than the ring (it came in fragments) is handed over put together: `bytes` is then
   * the receiver's copy of it, as short-lived to the handler as a view.
   *
   * @example
   * ```ts
   * // Sum the float64 at byte 8 of each message, read where it lies in the ring.
   * let total = 0;
   * const add = (bytes: Uint8Array, offset: number) => {
   *   total += new DataView(bytes.buffer, bytes.byteOffset + offset).getFloat64(8, true);
   * };
   * for (;;) {
   *   if (receiver.poll(add, 1024) !== 0) continue;  // a batch of what is there now
   *   const message = await receiver.recv();         // nothing there: wait for one
   *   if (message === null) break;                   // ended and drained
   *   add(message, 0);
   * }
   * ```
   */
  poll(handler: (bytes: Uint8Array, offset: number, length: number) => void, limit = Infinity): number {
    this.ensureOpen();
    if (typeof handler !== 'function') throw invalidArg('handler must be a function');
    if (!(limit >= 0)) throw invalidArg(`limit must be a non-negative number, got ${String(limit)}`);
    if (this.queue.length !== 0) return 0;
    this.checkNotPolling();
    let handled = 0;
    const protocol = this.protocol;
    const u8 = this.view.u8;
    this.polling = true;
    try {
      while (handled < limit && !this.closed) {
        protocol.pollLeft = limit - handled;
        const offset = this.next();
        if (offset < 0) break;
        const length = protocol.recordLength;
        const source = protocol.source;
        if (!protocol.stableViews && source === u8) {
          // The sender may write over the record at any time: the handler gets a copy, and
          // only one that was still intact once copied. The copy is as short-lived as a view
          // would be, so one scratch buffer serves every call (no allocation per message).
          let copy = this.pollScratch;
          if (length <= SMALL_COPY) {
            // Word by word: two typed-array views a message cost more than the copy itself
            // (a record is 4-byte aligned, and padded to 8: the last word is the record's).
            const words = (length + 3) >> 2;
            const from = (offset + RECORD_HEADER_SIZE) >> 2;
            const ring = this.view.i32;
            const to = this.pollScratch32;
            for (let k = 0; k < words; k++) to[k] = ring[from + k];
          } else {
            if (copy.length < length) {
              // A whole number of words: the small-copy path above views it as an Int32Array.
              copy = new Uint8Array((Math.max(length, 2 * copy.length) + 3) & ~3);
              this.pollScratch = copy;
              this.pollScratch32 = new Int32Array(copy.buffer);
            }
            copy.set(u8.subarray(offset + RECORD_HEADER_SIZE, offset + RECORD_HEADER_SIZE + length));
          }
          if (!protocol.release(offset, length, true)) continue;
          // A view of exactly the message, kept while messages keep that length.
          if (this.pollView.length !== length || this.pollView.buffer !== copy.buffer) this.pollView = copy.subarray(0, length);
          handled++;
          handler(this.pollView, 0, length);
          continue;
        }
        handled++;
        try {
          handler(source, offset + RECORD_HEADER_SIZE, length);
        } finally {
          // Only after the handler: releasing may hand the space it was reading to a sender.
          // (A handler that closed the receiver leaves the record to the ring's close.)
          if (!this.closed) protocol.release(offset, length, true, true);
        }
      }
    } finally {
      this.polling = false;
      protocol.pollLeft = 0;
      // Also when a handler threw: what was taken is released, so publish it.
      if (handled !== 0 && !this.closed) protocol.finishBatch();
    }
    return handled;
  }

  /**
   * The next message, waiting for one; null once the sender ended and all is drained. With a
   * codec, the decoded value (a message that does not decode rejects with
   * ERR_RINGWIRE_DECODE; it has been taken). Calls that wait are served in order. Rejects
   * with ERR_RINGWIRE_TIMEOUT after `timeout` ms or an AbortError when `signal` aborts
   * (either way nothing is taken), ERR_RINGWIRE_PEER_DEAD while waiting if the sender died
   * (MPMC: every sender is gone and one died), ERR_RINGWIRE_CLOSED on close().
   *
   * @example
   * ```ts
   * const reply = await receiver.recv({ timeout: 5000 });  // ERR_RINGWIRE_TIMEOUT if none comes
   * if (reply === null) console.log('the sender ended the stream');
   *
   * const controller = new AbortController();
   * process.once('SIGINT', () => controller.abort());
   * const next = await receiver.recv({ signal: controller.signal });  // AbortError on Ctrl-C
   * ```
   */
  recv(options?: WaitOptions): Promise<T | null> {
    try {
      this.ensureOpen();
      const wait = resolveWaitOptions(options, true);
      if (this.queue.length === 0) {
        let message = this.take();
        if (message === undefined && !this.protocol.drainedAndEnded() && !wait.signal?.aborted
          && this.spinBeforeQueueing()) {
          message = this.take();
        }
        if (message !== undefined) {
          return Promise.resolve(this.codec === undefined ? message as T : this.codec.decode(message) as T);
        }
        if (this.protocol.drainedAndEnded()) return Promise.resolve(null);
      }
      return this.enqueue(wait, 'recv') as Promise<T | null>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The next message (decoded, with a codec), blocking this thread; null once ended and drained. */
  recvSync(options?: { timeout?: number }): T | null {
    this.ensureOpen();
    const { timeout } = resolveWaitOptions(options, false);
    const deadline = this.syncDeadline(timeout);
    for (;;) {
      this.satisfy(); // earlier recv() calls first
      const message = this.queue.length === 0 ? this.take() : undefined;
      if (message !== undefined) return this.codec === undefined ? message as T : this.codec.decode(message) as T;
      if (this.protocol.drainedAndEnded()) return null;
      if (performance.now() >= deadline) throw this.syncTimeout('recvSync', timeout);
      this.waitSync(deadline);
    }
  }

  /**
   * Iterates the messages until the stream ends. close() ends a pending iteration cleanly
   * (the loop finishes); `signal` aborting rejects it with an AbortError, as Node's own
   * iterators do. Breaking out of the loop leaves the receiver open. It takes no `timeout`
   * (ERR_RINGWIRE_INVALID_ARG): use recv({ timeout }) per message, or AbortSignal.timeout(ms)
   * for the whole loop.
   *
   * @example
   * ```ts
   * // Stop listening on SIGTERM: the loop rejects with an AbortError.
   * const controller = new AbortController();
   * process.once('SIGTERM', () => controller.abort());
   * try {
   *   for await (const message of receiver.messages({ signal: controller.signal })) handle(message);
   * } catch (error) {
   *   if ((error as Error).name !== 'AbortError') throw error;
   * }
   * receiver.close();
   * ```
   */
  messages(options?: { signal?: AbortSignal }): AsyncIterableIterator<T> {
    if (options !== undefined && options !== null && typeof options === 'object' && 'timeout' in options) {
      throw invalidArg("messages() takes { signal }; for a timeout, use AbortSignal.timeout(ms)");
    }
    const { signal } = resolveWaitOptions(options, true);
    return this.iterate(signal);
  }

  private async *iterate(signal: AbortSignal | undefined): AsyncIterableIterator<T> {
    for (;;) {
      if (this.closed) return;
      if (signal?.aborted) throw new AbortError(signal.reason);
      let message: T | null;
      try {
        message = await this.recv(signal === undefined ? undefined : { signal });
      } catch (error) {
        // Closed (by this process) while waiting: the iteration ends, as a stream's would.
        if (this.closed && error instanceof RingwireError && error.code === 'ERR_RINGWIRE_CLOSED') return;
        throw error;
      }
      if (message === null) return;
      yield message;
    }
  }

  /** for await (const message of receiver): messages() without a signal. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this.iterate(undefined);
  }

  /**
   * A Readable stream of this receiver's messages, with backpressure: while its buffer is
   * full no message is taken, so the ring fills and the sender waits. Byte mode (no codec):
   * Buffers of the messages' bytes. Object mode (a codec, or `objectMode: true`): one chunk
   * per message. The stream ends when the channel ends or the receiver closes; destroying it
   * leaves the receiver open (a message arriving at the very instant of the destroy, already
   * taken, is dropped with the stream; the messages after it stay in the channel).
   *
   * @example
   * ```ts
   * import { createWriteStream } from 'node:fs';
   * import { pipeline } from 'node:stream/promises';
   * import { openReceiver } from 'ringwire';
   *
   * const receiver = openReceiver('upload');
   * await pipeline(receiver.readable(), createWriteStream('copy.bin'));  // until the channel ends
   * receiver.close();
   * ```
   */
  readable(options?: ReadableOptions): Readable {
    this.ensureOpen();
    return receiverReadable(this as unknown as Receiver<unknown>, this.codec !== undefined, options);
  }

  protected override describe(): string {
    return `${super.describe()}${this.codec === undefined ? '' : `, codec: '${this.codecName}'`}`;
  }

  protected satisfy(): void {
    const queue = this.queue;
    while (queue.length !== 0) {
      const into = queue[0].data;
      if (into !== undefined) {
        // recvInto(): `data` is the target, `length` the offset.
        let length: number;
        try {
          length = this.takeInto(into as Uint8Array, queue[0].length);
        } catch (error) {
          if (!(error instanceof RingwireError) || error.code !== 'ERR_RINGWIRE_TOO_LARGE') throw error;
          // Its own failure: the message stays for the next call.
          const op = queue.shift()!;
          this.settle(op);
          op.reject(error);
          continue;
        }
        if (length < 0) {
          if (!this.protocol.drainedAndEnded()) return;
        }
        const op = queue.shift()!;
        this.settle(op);
        op.resolve(length < 0 ? null : length);
        continue;
      }
      const message = this.take();
      if (message === undefined) {
        if (!this.protocol.drainedAndEnded()) return;
        for (const op of queue.splice(0)) {
          this.settle(op);
          op.resolve(null);
        }
        return;
      }
      const op = queue.shift()!;
      this.settle(op);
      if (this.codec === undefined) {
        op.resolve(message as T);
        continue;
      }
      // A message that does not decode fails its own recv() only.
      let value: T;
      try {
        value = this.codec.decode(message) as T;
      } catch (error) {
        op.reject(error);
        continue;
      }
      op.resolve(value);
    }
  }

  /** Releases this endpoint; pending recv() calls reject with ERR_RINGWIRE_CLOSED. */
  close(): void {
    if (this.closed) return;
    this.protocol.releaseRing();
    this.closeEndpoint();
  }
}
