// The consuming end of an SPSC channel. Every record is validated against what the producer
// actually published before a byte of it is used: the segment is shared with a peer that
// may be buggy, dead or hostile.
import { AbortError, corrupt, invalidArg, RingwireError } from './errors.js';
import { Endpoint, PUBLISH_EVERY, publishAll, unpublished } from './endpoint.js';
import { layout, type NativeSegment } from './native.js';
import {
  ALIGN_MASK, CONSUMER_WORD, DELIVERED_WORD, HEADER_SIZE, MESSAGES_RECEIVED_SLOT, PADDING,
  PRODUCER_WORD, RECORD_HEADER_SIZE, STATE_ENDED, STATE_WORD, adoptWritten, validCount,
} from './words.js';
import { resolveWaitOptions, type ResolvedEndpoint, type WaitOptions } from './options.js';
import { copyOut } from './slab.js';
import type { Codec } from './codec.js';
import { receiverReadable, type ReadableOptions } from './streams.js';
import type { Readable } from 'node:stream';

// The consumer publishes its position every PUBLISH_EVERY records (or a quarter of the ring,
// or when it finds the ring empty, or at the end of the current JavaScript task), not after
// every record: a store per record makes both cores fight over the consumer's cache line.

/**
 * The receiving end of a channel (SPSC or MPMC): the API and its queueing, over a ring
 * protocol that each mode implements. Open one with {@link openReceiver}; `T` is Uint8Array
 * without a codec, the codec's values with one.
 *
 * Messages come in the order they were sent (MPMC: each sender's in its order). `recv()`
 * and iteration wait for one; `tryRecv()`, `tryRecvInto()` and `poll()` never wait;
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
export abstract class Receiver<T = Uint8Array> extends Endpoint<T | null> implements AsyncIterable<T> {
  /** @internal The codec the receiver was opened with (bytes in, values out), if any. */
  codec: Codec | undefined;
  /** @internal Its name, for inspection. */
  codecName = 'none';
  /** Inside a poll() handler, whose view must stay valid: receiving again is refused. */
  private polling = false;
  /** Payload length of the record peek() returned. */
  protected recordLength = 0;
  /**
   * Inside poll(): how many more messages the call may hand out (a protocol may take that
   * many at once); 0 outside it.
   */
  protected pollLeft = 0;

  /**
   * The mapping offset of the next message's header (setting recordLength), or -1 when none
   * is there now. Skips padding. The message is not yet this receiver's: see acquire().
   */
  protected abstract peek(): number;
  /** Makes the message peek() found this receiver's; false if another receiver took it. */
  protected abstract acquire(offset: number): boolean;
  /** Done with the acquired message at `offset`: its space goes back to the senders. */
  protected abstract release(offset: number, length: number, inBatch?: boolean): void;
  /** After a poll() batch: publish what release(…, true) deferred. */
  protected abstract finishBatch(): void;
  /** True once the stream has ended and nothing is left to take. */
  protected abstract drainedAndEnded(): boolean;
  /** Offset of this endpoint's pid word (cleared on close). */
  protected abstract readonly pidOffset: number;
  /** Gives back what the ring protocol holds before closing. */
  protected releaseRing(): void {}

  /**
   * peek(), and when nothing is there, publishes what this thread's endpoints hold back and
   * looks once more: a sender in this thread (maybe of this very channel) may have deferred
   * the message, and the caller may be about to wait or spin for it.
   */
  private peekPublishing(): number {
    const at = this.peek();
    if (at >= 0 || unpublished.size === 0) return at;
    publishAll();
    return this.peek();
  }

  private next(): number {
    for (;;) {
      const at = this.peekPublishing();
      if (at < 0 || this.acquire(at)) return at;
    }
  }

  /**
   * True once the sender has ended the stream and every message has been taken: tryRecv()
   * will never return a message again.
   */
  get ended(): boolean {
    this.ensureOpen();
    return this.drainedAndEnded();
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
    if (!(target instanceof Uint8Array)) throw invalidArg('target must be a Uint8Array');
    if (!Number.isInteger(offset) || offset < 0 || offset > target.length) {
      throw invalidArg(`offset must be an integer from 0 to ${target.length}, got ${String(offset)}`);
    }
    if (this.queue.length !== 0) return -1;
    if (this.polling) this.checkNotPolling();
    for (;;) {
      const at = this.peekPublishing();
      if (at < 0) return -1;
      const length = this.recordLength;
      if (length > target.length - offset) {
        throw Object.assign(new RingwireError('ERR_RINGWIRE_TOO_LARGE',
          `the next message on channel '${this.name}' is ${length} bytes; the target has room for ${target.length - offset}`),
        { length });
      }
      if (!this.acquire(at)) continue;
      const start = at + RECORD_HEADER_SIZE;
      target.set(this.u8.subarray(start, start + length), offset);
      this.release(at, length);
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
    const offset = this.next();
    if (offset < 0) return undefined;
    const start = offset + RECORD_HEADER_SIZE;
    const length = this.recordLength;
    const message = copyOut(this.u8, start, length);
    this.release(offset, length);
    return message;
  }

  /**
   * Hands up to `limit` messages available now to `handler` without copying them: `bytes` is
   * a view of the whole mapping and the message is bytes[offset, offset + length). The view
   * is valid only during the call (the sender may overwrite the space afterwards). Each
   * message is taken even if its handler throws (the error propagates). Returns the count.
   * The handler may not receive from this receiver (ERR_RINGWIRE_INVALID_ARG). Messages are
   * not decoded, even with a codec.
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
    this.polling = true;
    try {
      while (handled < limit && !this.closed) {
        this.pollLeft = limit - handled;
        const offset = this.next();
        if (offset < 0) break;
        const length = this.recordLength;
        handled++;
        try {
          handler(this.u8, offset + RECORD_HEADER_SIZE, length);
        } finally {
          // Only after the handler: releasing may hand the space it was reading to a sender.
          // (A handler that closed the receiver leaves the record to the ring's close.)
          if (!this.closed) this.release(offset, length, true);
        }
      }
    } finally {
      this.polling = false;
      this.pollLeft = 0;
      // Also when a handler threw: what was taken is released, so publish it.
      if (handled !== 0 && !this.closed) this.finishBatch();
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
        if (message === undefined && !this.drainedAndEnded() && !wait.signal?.aborted
          && this.spinBeforeQueueing()) {
          message = this.take();
        }
        if (message !== undefined) {
          return Promise.resolve(this.codec === undefined ? message as T : this.codec.decode(message) as T);
        }
        if (this.drainedAndEnded()) return Promise.resolve(null);
      }
      return this.enqueue(wait, 'recv');
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
      if (this.drainedAndEnded()) return null;
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
      const message = this.take();
      if (message === undefined) {
        if (!this.drainedAndEnded()) return;
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
    this.releaseRing();
    this.closeEndpoint(this.pidOffset);
  }
}

/** The receiving end of an SPSC channel. */
export class SpscReceiver extends Receiver {
  protected readonly pidOffset = layout.OFF_RECEIVER_PID;
  /** Our consumer position, ahead of the shared copy by what is not yet published. */
  private position: number;
  private publishedPosition: number;
  private unpublished = 0;
  /** The producer position as last read and validated. */
  private cachedProducer: number;
  /** Messages taken: the stats counter, stored with each publish. */
  private received = 0;
  private readonly publishBytes: number;

  /** @internal Use openReceiver(). */
  constructor(segment: NativeSegment, strategy: ResolvedEndpoint) {
    super(segment, strategy, {
      ownSignal: layout.OFF_DATA_SIGNAL,
      ownWaiters: layout.OFF_RECEIVER_WAITERS,
      peerSignal: layout.OFF_SPACE_SIGNAL,
      peerWaiters: layout.OFF_SENDER_WAITERS,
      peerRole: layout.ROLE_SENDER,
      peerPid: layout.OFF_SENDER_PID,
      ownThread: layout.OFF_RECEIVER_THREAD,
      peerName: 'sender',
    }, 'receiver');
    const consumer = Atomics.load(this.i32, CONSUMER_WORD);
    if ((consumer & ALIGN_MASK) !== 0) throw corrupt(this.name, 'misaligned consumer position');
    this.position = consumer;
    this.publishedPosition = consumer;
    this.cachedProducer = consumer;
    this.publishBytes = this.capacity >>> 2;
    this.received = validCount(this.f64[MESSAGES_RECEIVED_SLOT]);
    Atomics.store(this.i32, layout.OFF_RECEIVER_PID >> 2, process.pid);
    // The last receiver may have died with its position published lazily: resume from what
    // it handed out (layout.h, "delivered").
    const delivered = Atomics.load(this.i32, DELIVERED_WORD);
    const taken = this.recordsUpTo(delivered);
    if (taken > 0) {
      this.position = delivered;
      this.cachedProducer = delivered;
      this.received += taken;
      this.publishPosition();
    }
    this.i32[DELIVERED_WORD] = this.position;
  }

  /**
   * How many messages lie between our position and `delivered`, walking the records the
   * producer published there (they stay intact: the producer never writes past our published
   * position); 0 if `delivered` is not a record boundary the walk reaches exactly.
   */
  private recordsUpTo(delivered: number): number {
    const published = (Atomics.load(this.i32, PRODUCER_WORD) - this.position) >>> 0;
    if ((delivered & ALIGN_MASK) !== 0 || published > this.capacity
      || ((delivered - this.position) >>> 0) > published) return 0;
    let position = this.position;
    let messages = 0;
    while (position !== delivered) {
      const left = (delivered - position) >>> 0;
      const offset = position & this.mask;
      const word = this.i32[(HEADER_SIZE + offset) >> 2];
      let size: number;
      if (word === PADDING) {
        size = this.capacity - offset;
      } else {
        const length = word >>> 0;
        if (length > this.maxMessage || RECORD_HEADER_SIZE + length > this.capacity - offset) return 0;
        size = (RECORD_HEADER_SIZE + length + ALIGN_MASK) & ~ALIGN_MASK;
        messages++;
      }
      if (size > left) return 0;
      position = (position + size) | 0;
    }
    return messages;
  }

  /**
   * The mapping offset of the next record's header (setting recordLength), or -1 when
   * nothing is published. Skips padding. (With one receiver, peeking is acquiring.)
   */
  protected peek(): number {
    for (;;) {
      let available = (this.cachedProducer - this.position) | 0;
      if (available === 0) {
        // seq_cst load: pairs with the producer's store; the bytes before it are visible.
        const producer = Atomics.load(this.i32, PRODUCER_WORD);
        available = (producer - this.position) | 0;
        if (available === 0) {
          this.publishPosition();
          return -1;
        }
        if (available < 0 || available > this.capacity || (available & ALIGN_MASK) !== 0) {
          throw corrupt(this.name, `producer position ${producer >>> 0} is impossible with consumer position ${this.position >>> 0}`);
        }
        this.cachedProducer = producer;
      }
      const ringOffset = this.position & this.mask;
      const word = this.i32[(HEADER_SIZE + ringOffset) >> 2];
      if (word === PADDING) {
        const skip = this.capacity - ringOffset;
        if (skip > available) throw corrupt(this.name, 'padding runs past the published end');
        this.advance(skip);
        continue;
      }
      const length = word >>> 0;
      if (length > this.maxMessage || RECORD_HEADER_SIZE + length > this.capacity - ringOffset
        || ((RECORD_HEADER_SIZE + length + ALIGN_MASK) & ~ALIGN_MASK) > available) {
        throw corrupt(this.name, `record length ${length} at ring offset ${ringOffset} exceeds what was published`);
      }
      this.recordLength = length;
      return HEADER_SIZE + ringOffset;
    }
  }

  /**
   * Consumes `size` bytes. Publishes after PUBLISH_EVERY records (unless `inBatch`: poll
   * publishes once at its end) or a quarter of the ring; otherwise makes sure the space is
   * published at the end of this task, or before this thread blocks, whichever is first.
   */
  private advance(size: number, inBatch = false): void {
    this.position = (this.position + size) | 0;
    // A plain store on a line the sender never reads: only a receiver opening after this one
    // died reads it (see layout.h, "delivered"), after taking the lock this one held.
    this.i32[DELIVERED_WORD] = this.position;
    if ((++this.unpublished >= PUBLISH_EVERY && !inBatch)
      || ((this.position - this.publishedPosition) | 0) >= this.publishBytes) {
      this.publishPosition();
    } else {
      this.publishLater();
    }
  }

  /** @internal Publishes consumed space now (before this thread blocks elsewhere). */
  override publishNow(): void {
    if (!this.closed) this.publishPosition();
  }

  private publishPosition(): void {
    this.published();
    if (this.position === this.publishedPosition) return;
    this.publishedPosition = this.position;
    this.unpublished = 0;
    this.f64[MESSAGES_RECEIVED_SLOT] = this.received; // plain: published by the store below
    // seq_cst store: the records before it are done with (the producer may overwrite them)
    // and it orders the waiter check in wakePeer.
    Atomics.store(this.i32, CONSUMER_WORD, this.position);
    // A parked sender is woken once a quarter of the ring is free (or all of it), not for
    // every few records freed: each wake costs it a context switch, and on a shared CPU
    // both processes one per batch. (A sender parked for less re-checks within a park slice.)
    if (((this.cachedProducer - this.position) | 0) <= this.capacity - this.publishBytes) this.wakePeer();
  }

  /**
   * The sender died: records it wrote and had not yet published are made visible while we
   * hold its lock (layout.h, "written"); a sender opening meanwhile does it instead.
   */
  protected override peerFoundDead(): void {
    if (!this.segment.lock(layout.ROLE_SENDER)) return;
    try {
      adoptWritten(this.i32, this.capacity, this.maxMessage);
    } finally {
      this.segment.unlock(layout.ROLE_SENDER);
    }
  }

  protected isReady(): boolean {
    return Atomics.load(this.i32, PRODUCER_WORD) !== this.position
      || (Atomics.load(this.i32, STATE_WORD) & STATE_ENDED) !== 0;
  }

  protected acquire(): boolean {
    return true;
  }

  protected release(offset: number, length: number, inBatch = false): void {
    this.received++;
    this.advance((RECORD_HEADER_SIZE + length + ALIGN_MASK) & ~ALIGN_MASK, inBatch);
  }

  protected finishBatch(): void {
    this.publishPosition();
  }

  protected drainedAndEnded(): boolean {
    // The flag first, then the position: the sender sets the flag after its last message.
    return (Atomics.load(this.i32, STATE_WORD) & STATE_ENDED) !== 0
      && Atomics.load(this.i32, PRODUCER_WORD) === this.position;
  }

  protected override releaseRing(): void {
    this.publishPosition();
  }
}
