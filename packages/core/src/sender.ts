// The producing end of an SPSC channel. The per-message path (trySend) is plain JavaScript
// over the mapped memory: a bounds check, a copy, one Atomics.store, one Atomics.load.
import { Buffer } from 'node:buffer';
import { closed, corrupt, invalidArg, RingwireError } from './errors.js';
import { ASYNC_DISPOSE, Endpoint, PUBLISH_EVERY, publishAll } from './endpoint.js';
import { layout, type NativeSegment } from './native.js';
import {
  ALIGN_MASK, CONSUMER_WORD, HEADER_SIZE, MESSAGES_SENT_SLOT, PADDING, PRODUCER_WORD, RECORD_HEADER_SIZE,
  STATE_ENDED, STATE_WORD, validCount, WRITTEN_WORD, adoptWritten,
} from './words.js';
import { resolveWaitOptions, type ResolvedEndpoint, type WaitOptions } from './options.js';
import type { Codec } from './codec.js';
import { senderWritable, type WritableOptions } from './streams.js';
import type { Writable } from 'node:stream';

/**
 * What a sender without a codec sends: bytes, or a string (sent as its UTF-8 bytes). A
 * receiver without a codec gets every message as a Uint8Array.
 */
export type Message = Uint8Array | string;

/*
 * An SPSC sender publishes the first message of each JavaScript task at once, and the ones
 * that follow it in the same task every PUBLISH_EVERY messages (or a quarter of the ring), not
 * each: a store per message makes both cores fight over the producer's cache line. What is
 * held back goes out at the end of the task (as socket.cork() until the next tick does),
 * before this thread waits, when a call finds a channel full or empty, on end(), close(),
 * flush() and process exit, and at once while the receiver is parked and can run beside us.
 * A sender opened with wait: 'spin' publishes every message at once: it trades CPU for
 * latency throughout.
 */

/** trySendMany with a codec encodes this many values at a time. */
const ENCODE_CHUNK = 64;

/** What send() returns when the message went out at once: one shared settled promise. */
const RESOLVED: Promise<void> = Promise.resolve();

/**
 * The sending end of a channel (SPSC or MPMC): the API and its queueing, over a ring
 * protocol that each mode implements. Open one with {@link openSender}; `T` is
 * {@link Message} (bytes or strings) without a codec, the codec's values with one.
 *
 * Sends go out in order. `send()` waits for room (backpressure); `trySend()`,
 * `trySendMany()` and `tryClaim()` never wait; `sendSync()` blocks the thread. `end()` ends
 * the stream after everything sent; `close()` releases the endpoint. Pending waits keep the
 * process alive, as a socket's do, unless `unref()` is called.
 *
 * @property name The channel's name.
 *
 * @example
 * ```ts
 * import { createChannel, openSender } from 'ringwire';
 *
 * createChannel('lines');
 * {
 *   await using sender = openSender('lines');
 *   for (const line of ['one', 'two', 'three']) await sender.send(line);  // waits while the ring is full
 * } // leaving the block ends the stream, waits until every send is in the ring, and closes
 * ```
 */
export abstract class Sender<T = Message> extends Endpoint<void> {
  protected endRequested = false;
  private endMarked = false;
  /** What end() returns once called: settles when the end is marked. */
  private ending: Promise<void> | undefined;
  private endSettle: ((error?: unknown) => void) | undefined;
  /** A send queued before end() that failed: end()'s promise rejects with it. */
  private endError: unknown;
  /** @internal The codec the sender was opened with (values in, bytes out), if any. */
  codec: Codec | undefined;
  /** @internal Its name, for inspection. */
  codecName = 'none';

  /** Writes one record if it fits now; publishes it unless `deferPublish` (a batch). */
  protected abstract write(data: Message, length: number, deferPublish?: boolean): boolean;
  /** Publishes what write(…, true) left unpublished (trySendMany's batch). */
  protected abstract publishBatch(): void;
  /** Offset of this endpoint's pid word (cleared on close). */
  protected abstract readonly pidOffset: number;
  /** Messages claimed with tryClaim and not committed. */
  protected abstract readonly pendingClaims: number;

  /**
   * Zero-copy send: reserves room for a `length`-byte message and returns the offset in
   * {@link buffer} where its bytes go, or -1 when the ring is too full now (or earlier sends
   * still wait). Claimed messages stay invisible to receivers until {@link commit}. An SPSC
   * sender may hold several claims and commit them at once; an MPMC sender holds one at a
   * time (receivers wait at an uncommitted claim: commit promptly). Between a claim and its
   * commit no other send, nor end(), may come (ERR_RINGWIRE_INVALID_ARG).
   *
   * @example
   * ```ts
   * // Readings written straight into the ring, 16 bytes each: no intermediate buffer.
   * const view = new DataView(sender.buffer.buffer, sender.buffer.byteOffset);  // valid until close()
   * let sent = 0;
   * for (const { time, value } of readings) {
   *   const offset = sender.tryClaim(16);
   *   if (offset < 0) break;             // full: send the rest later
   *   view.setFloat64(offset, time, true);
   *   view.setFloat64(offset + 8, value, true);
   *   sender.commit();                   // MPMC: one claim at a time; SPSC could commit once, after the loop
   *   sent++;
   * }
   * ```
   */
  abstract tryClaim(length: number): number;
  /**
   * Publishes the messages claimed with {@link tryClaim} since the last commit (SPSC: all of
   * them with one position store and at most one wake). Nothing claimed: does nothing.
   *
   * @example
   * ```ts
   * // SPSC: claim a batch, then publish it at once.
   * const bytes = sender.buffer;
   * for (let i = 0; i < 64; i++) {
   *   const offset = sender.tryClaim(4);
   *   if (offset < 0) break;
   *   bytes.set([0xde, 0xad, 0xbe, i], offset);
   * }
   * sender.commit();
   * ```
   */
  abstract commit(): void;

  protected measure(data: Message): number {
    let length: number;
    if (typeof data === 'string') length = Buffer.byteLength(data, 'utf8');
    // .length, not .byteLength: equal for a Uint8Array, and V8 inlines .length (~1 ns
    // against ~8 ns a message on Node 20).
    else if (data instanceof Uint8Array) length = data.length;
    else throw invalidArg('a message must be a Uint8Array or a string');
    if (length > this.maxMessage) throw this.tooLarge(length);
    return length;
  }

  /** tryClaim()'s checks, the same in both modes. */
  protected checkClaim(length: number): void {
    this.ensureOpen();
    if (this.endRequested) this.ensureSendable();
    if (!Number.isInteger(length) || length < 0) throw invalidArg(`length must be a non-negative integer, got ${String(length)}`);
    if (length > this.maxMessage) throw this.tooLarge(length);
  }

  protected tooLarge(length: number): RingwireError {
    return new RingwireError('ERR_RINGWIRE_TOO_LARGE',
      `a ${length}-byte message can never fit channel '${this.name}' (at most ${this.maxMessage} bytes; create it with a larger capacity)`);
  }

  /** MPMC: another sender's end() ended the channel for this one too. */
  protected endedElsewhere(): boolean {
    return false;
  }

  protected ensureSendable(): void {
    this.ensureOpen();
    if (this.endRequested || this.endedElsewhere()) {
      throw new RingwireError('ERR_RINGWIRE_CLOSED', `channel '${this.name}' has ended; no more messages can be sent`);
    }
    if (this.pendingClaims !== 0) throw invalidArg('commit() the claimed messages first');
  }

  /**
   * The mapping, for writing claimed messages in place (see tryClaim). Valid until close();
   * write only the bytes tryClaim handed out.
   */
  get buffer(): Uint8Array {
    this.ensureOpen();
    return this.u8;
  }

  /**
   * Sends now if there is room; false when the ring is full (or earlier sends still wait).
   * Throws ERR_RINGWIRE_TOO_LARGE for a message that can never fit, ERR_RINGWIRE_CLOSED once
   * the stream has ended or the sender is closed.
   *
   * @example
   * ```ts
   * const message = `tick ${Date.now()}`;
   * if (!sender.trySend(message)) await sender.send(message);  // full: wait for room this once
   * ```
   */
  trySend(value: T): boolean {
    this.ensureSendable();
    const data = this.codec === undefined ? value as Message : this.codec.encode(value);
    const length = this.measure(data);
    if (this.queue.length === 0 && this.write(data, length)) return true;
    publishAll(); // the caller may now spin on a reply that a deferred publish holds up
    return false;
  }

  /**
   * Publishes every message sent so far now. Sends publish on their own (see trySend); this
   * is for a thread about to do something long without returning to the event loop.
   */
  flush(): void {
    this.ensureOpen();
    this.publishNow();
  }

  /**
   * Sends messages[start..end) in order, as many as fit now, and publishes them at once (one
   * position store and at most one wake for the batch). Returns how many it sent. A message
   * that can never fit stops the batch there; the next call starting with it throws
   * ERR_RINGWIRE_TOO_LARGE.
   *
   * @example
   * ```ts
   * // Everything in order: batches while there is room, one waiting send() when there is not.
   * let sent = 0;
   * while (sent < messages.length) {
   *   const n = sender.trySendMany(messages, sent);
   *   if (n !== 0) sent += n;
   *   else await sender.send(messages[sent++]);
   * }
   * ```
   */
  trySendMany(values: readonly T[], start = 0, end = values.length): number {
    this.ensureSendable();
    if (!Array.isArray(values)) throw invalidArg('messages must be an array');
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > values.length) {
      throw invalidArg(`start and end must be integers within the array (0..${values.length})`);
    }
    if (this.codec === undefined) return this.sendMany(values as readonly Message[], start, end);
    // With a codec: encoded a few at a time, so a full ring does not cost encoding them all.
    let sent = 0;
    for (let i = start; i < end;) {
      const chunk: Message[] = [];
      const chunkEnd = Math.min(end, i + ENCODE_CHUNK);
      try {
        for (let k = i; k < chunkEnd; k++) chunk.push(this.codec.encode(values[k]));
      } catch (error) {
        if (chunk.length === 0 && sent === 0) throw error;
      }
      let n: number;
      try {
        n = this.sendMany(chunk, 0, chunk.length);
      } catch (error) {
        if (sent === 0) throw error;
        return sent;
      }
      sent += n;
      if (n < chunkEnd - i) break;
      i = chunkEnd;
    }
    return sent;
  }

  /** trySendMany over messages already encoded (a mode may send the batch its own way). */
  protected sendMany(messages: readonly Message[], start: number, end: number): number {
    if (this.queue.length !== 0) return 0;
    let sent = 0;
    try {
      for (let i = start; i < end; i++) {
        if (!this.write(messages[i], this.measure(messages[i]), true)) break;
        sent++;
      }
    } catch (error) {
      if (sent === 0) throw error;
    }
    if (sent !== 0) this.publishBatch();
    return sent;
  }

  /**
   * Sends, waiting for room (backpressure). The bytes are copied when the message is written,
   * which may be after this call returns: do not change a Uint8Array until the promise settles.
   * Sends that wait are queued and written in order. Rejects with ERR_RINGWIRE_TIMEOUT after
   * `timeout` ms or an AbortError when `signal` aborts (either way the message is not sent),
   * ERR_RINGWIRE_PEER_DEAD while waiting if the receiver died (MPMC: every receiver is gone
   * and one died), ERR_RINGWIRE_CLOSED on close().
   *
   * @example
   * ```ts
   * for (const job of jobs) await sender.send(JSON.stringify(job));  // waits while the ring is full
   *
   * // Give up after a second, or when the caller's signal aborts.
   * await sender.send(report, { timeout: 1000 });                  // ERR_RINGWIRE_TIMEOUT
   * await sender.send(report, { signal: controller.signal });      // AbortError
   * ```
   */
  send(value: T, options?: WaitOptions): Promise<void> {
    try {
      this.ensureSendable();
      const data = this.codec === undefined ? value as Message : this.codec.encode(value);
      const length = this.measure(data);
      const wait = resolveWaitOptions(options, true);
      if (this.queue.length === 0 && (this.write(data, length)
        || (!wait.signal?.aborted && this.spinBeforeQueueing() && this.write(data, length)))) {
        return RESOLVED;
      }
      return this.enqueue(wait, 'send', data, length);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Sends, blocking this thread until there is room or the timeout (ms) passes. */
  sendSync(value: T, options?: { timeout?: number }): void {
    this.ensureSendable();
    const data = this.codec === undefined ? value as Message : this.codec.encode(value);
    const length = this.measure(data);
    const { timeout } = resolveWaitOptions(options, false);
    const deadline = this.syncDeadline(timeout);
    for (;;) {
      this.satisfy();
      if (this.queue.length === 0 && this.write(data, length)) return;
      if (performance.now() >= deadline) throw this.syncTimeout('sendSync', timeout);
      this.waitSync(deadline);
    }
  }

  /**
   * End of stream: receivers get everything sent so far, then null / the end of iteration;
   * no more can be sent. The promise resolves once every send queued before it is in the
   * ring and the end is marked, so `await sender.end(); sender.close()` loses nothing. It
   * rejects if a queued send failed instead (its error) or the sender was closed first
   * (ERR_RINGWIRE_CLOSED); not awaiting it is fine: the stream still ends.
   * On an MPMC channel this ends the channel for every sender (as closing a Go channel
   * does), unless it was created with `endWhen: 'last-sender'`.
   *
   * @example
   * ```ts
   * for (const line of lines) await sender.send(line);
   * await sender.end();   // the receiver gets every line, then null / the end of its loop
   * sender.close();
   * ```
   */
  end(): Promise<void> {
    if (this.ending !== undefined) return this.ending;
    // Misuse (closed, claims not committed) rejects, as send() does; it is not marked handled.
    if (this.closed) return Promise.reject(closed(this.name, 'sender'));
    if (this.pendingClaims !== 0) return Promise.reject(invalidArg('commit() the claimed messages first'));
    this.endRequested = true;
    this.ending = new Promise<void>((resolve, reject) => {
      this.endSettle = (error) => (error === undefined ? resolve() : reject(error));
    });
    // Handled here, so an end() nobody awaits never becomes an unhandled rejection; a caller
    // awaiting it still sees the rejection.
    this.ending.catch(() => {});
    if (this.queue.length === 0) this.markEnded();
    return this.ending;
  }

  private markEnded(error?: unknown): void {
    if (this.endMarked) return;
    this.endMarked = true;
    this.publishNow(); // every message before the end
    this.signalEnd();
    const settle = this.endSettle;
    this.endSettle = undefined;
    settle?.(error ?? this.endError);
  }

  /**
   * Marks the stream ended for receivers. seq_cst: after the last position store, so a
   * receiver that sees the flag and then re-reads the producer position has every message.
   */
  protected signalEnd(): void {
    Atomics.or(this.i32, STATE_WORD, STATE_ENDED);
    this.wakePeer();
  }

  protected override queueAbandoned(): void {
    if (this.endRequested) this.markEnded();
  }

  protected override opFailed(error: unknown): void {
    if (this.endRequested && this.endError === undefined) this.endError = error;
  }

  /**
   * Ends the stream, waits until everything queued is in the ring, then closes: for
   * `await using sender = openSender(...)`. A closed sender is left as it is.
   */
  override async [ASYNC_DISPOSE](): Promise<void> {
    if (this.closed) return;
    try {
      await this.end();
    } finally {
      this.close();
    }
  }

  /**
   * A Writable stream into this sender, with backpressure: a write completes once its
   * message is in the ring. Byte mode (no codec): each chunk is sent as it comes, split into
   * pieces the channel can carry. Object mode (a codec, or `objectMode: true`): each chunk
   * is one message. Ending the stream ends the channel (`end: false` leaves it open);
   * destroying it leaves the sender open.
   *
   * @example
   * ```ts
   * import { createReadStream } from 'node:fs';
   * import { pipeline } from 'node:stream/promises';
   * import { openSender } from 'ringwire';
   *
   * const sender = openSender('upload');
   * await pipeline(createReadStream('data.bin'), sender.writable());  // the channel ends with the file
   * sender.close();
   * ```
   */
  writable(options?: WritableOptions): Writable {
    this.ensureOpen();
    return senderWritable(this as unknown as Sender<unknown>, this.codec !== undefined, options);
  }

  /** @internal The largest message the channel can carry. */
  get maxMessageBytes(): number {
    return this.maxMessage;
  }

  protected override describe(): string {
    const ended = this.endRequested ? ', ended' : '';
    return `${super.describe()}${ended}${this.codec === undefined ? '' : `, codec: '${this.codecName}'`}`;
  }

  protected satisfy(): void {
    const queue = this.queue;
    while (queue.length !== 0) {
      const op = queue[0];
      if (!this.write(op.data!, op.length)) return;
      queue.shift();
      this.settle(op);
      op.resolve();
    }
    if (this.endRequested) this.markEnded();
  }

  /** Gives back what the ring protocol holds (an uncommitted claim) before closing. */
  protected releaseRing(): void {}

  /**
   * Releases this endpoint; sends still waiting reject with ERR_RINGWIRE_CLOSED (and so does
   * a pending end(), though the stream is still marked ended).
   */
  close(): void {
    if (this.closed) return;
    const queued = this.queue.length;
    if (this.endRequested) this.markEnded(queued !== 0 ? closed(this.name, 'sender') : undefined);
    else this.publishNow(); // what was sent is sent
    this.releaseRing();
    this.closeEndpoint(this.pidOffset);
  }
}

/** The sending end of an SPSC channel. */
export class SpscSender extends Sender {
  protected readonly pidOffset = layout.OFF_SENDER_PID;
  /** Our producer position; only this endpoint writes the shared copy. */
  private position: number;
  /** The consumer position as last read; free space is at least what it implies. */
  private cachedConsumer: number;
  /** Where claim() placed the record it returned (after any padding). */
  private claimedPosition = 0;
  private readonly bytes: Buffer;
  /** Messages claimed with tryClaim and not yet published by commit(). */
  private uncommitted = 0;
  /** Messages written (published or about to be): the stats counter, stored with each publish. */
  private sent = 0;
  /** Record size (with padding to reach it) the blocked send waits for; see isReady(). */
  private blockedSize = 0;
  /** The producer position last stored in the header, and messages written since. */
  private publishedPosition: number;
  /** One CPU: the position of the last wake, and whether a parked receiver is owed one. */
  private wokenAt: number;
  private wakeOwed = false;
  private unpublished = 0;
  private readonly publishBytes: number;

  /** @internal Use openSender(). */
  constructor(segment: NativeSegment, strategy: ResolvedEndpoint) {
    super(segment, strategy, {
      ownSignal: layout.OFF_SPACE_SIGNAL,
      ownWaiters: layout.OFF_SENDER_WAITERS,
      peerSignal: layout.OFF_DATA_SIGNAL,
      peerWaiters: layout.OFF_RECEIVER_WAITERS,
      peerRole: layout.ROLE_RECEIVER,
      peerPid: layout.OFF_RECEIVER_PID,
      ownThread: layout.OFF_SENDER_THREAD,
      peerName: 'receiver',
    }, 'sender');
    this.bytes = Buffer.from(segment.buffer);
    // What a sender before us wrote and did not publish (layout.h, "written"): we hold its lock.
    adoptWritten(this.i32, this.capacity, this.maxMessage);
    this.position = Atomics.load(this.i32, PRODUCER_WORD);
    this.cachedConsumer = this.validConsumer(Atomics.load(this.i32, CONSUMER_WORD));
    if ((this.position & ALIGN_MASK) !== 0) throw corrupt(this.name, 'misaligned producer position');
    this.i32[WRITTEN_WORD] = this.position;
    this.publishedPosition = this.position;
    this.wokenAt = this.position;
    this.publishBytes = this.capacity >>> 2;
    this.sent = validCount(this.f64[MESSAGES_SENT_SLOT]);
    Atomics.store(this.i32, layout.OFF_SENDER_PID >> 2, process.pid);
  }

  /** Returns `consumer` if it is possible given our position; throws ERR_RINGWIRE_CORRUPT. */
  private validConsumer(consumer: number): number {
    const used = (this.position - consumer) | 0;
    if (used < 0 || used > this.capacity || (consumer & ALIGN_MASK) !== 0) {
      throw corrupt(this.name, `consumer position ${consumer >>> 0} is impossible with producer position ${this.position >>> 0}`);
    }
    return consumer;
  }

  /**
   * Finds room for a record of `size` bytes; returns its byte offset in the mapping and sets
   * claimedPosition, or returns -1 when the ring is too full. May publish a padding record.
   */
  private claim(size: number): number {
    const capacity = this.capacity;
    const position = this.position;
    const ringOffset = position & this.mask;
    const tail = capacity - ringOffset;
    const needed = size <= tail ? size : tail + size;
    if (capacity - ((position - this.cachedConsumer) | 0) < needed) {
      // seq_cst load: pairs with the consumer's store of its position; the space it frees
      // is no longer read.
      this.cachedConsumer = this.validConsumer(Atomics.load(this.i32, CONSUMER_WORD));
      const free = capacity - ((position - this.cachedConsumer) | 0);
      if (free < needed) {
        if (size > tail && free >= tail) {
          // Pad to the end now: the record can start at offset 0 as soon as the reader
          // frees that much, and the reader must see the padding to get there.
          this.i32[(HEADER_SIZE + ringOffset) >> 2] = PADDING;
          // With claims not yet committed the padding waits for commit(): publishing now
          // would expose records whose bytes may not be written yet.
          if (this.uncommitted === 0) this.publish((position + tail) | 0);
          else this.position = (position + tail) | 0;
        }
        return -1;
      }
    }
    if (size > tail) {
      this.i32[(HEADER_SIZE + ringOffset) >> 2] = PADDING;
      this.claimedPosition = (position + tail) | 0;
      return HEADER_SIZE;
    }
    this.claimedPosition = position;
    return HEADER_SIZE + ringOffset;
  }

  private publish(position: number, holdWake = true): void {
    this.position = position;
    this.i32[WRITTEN_WORD] = position;
    this.publishedPosition = position;
    this.unpublished = 0;
    this.published();
    this.f64[MESSAGES_SENT_SLOT] = this.sent; // plain: published by the store below
    // seq_cst store: publishes the record bytes written before it (pairs with the
    // receiver's load of the producer position) and orders the waiter check in wakePeer.
    Atomics.store(this.i32, PRODUCER_WORD, position);
    // With one CPU a parked receiver cannot run before this thread stops anyway, and a wake
    // may hand it the CPU at once: for a few messages each, the two would switch back and
    // forth. So it is woken once a quarter of the ring waits for it, or when this thread
    // stops (the end of the task, a wait, a full ring, flush(), end(), close()).
    if (holdWake && Atomics.load(this.i32, layout.OFF_RECEIVER_WAITERS >> 2) !== 0
      && ((position - this.wokenAt) | 0) < this.publishBytes && this.sharesOnlyCpuWithPeer()) {
      this.wakeOwed = true;
      this.publishLater();
      return;
    }
    this.wakeOwed = false;
    this.wokenAt = position;
    this.wakePeer();
  }

  protected get pendingClaims(): number {
    return this.uncommitted;
  }

  protected publishBatch(): void {
    this.publish(this.position);
  }

  /** @internal Publishes the messages written and held back (never uncommitted claims). */
  override publishNow(): void {
    if (this.closed || this.uncommitted !== 0) return;
    if (this.position !== this.publishedPosition) {
      this.publish(this.position, false);
      return;
    }
    this.published();
    if (this.wakeOwed) {
      this.wakeOwed = false;
      this.wokenAt = this.position;
      this.wakePeer();
    }
  }

  protected write(data: Message, length: number, deferPublish = false): boolean {
    const size = (RECORD_HEADER_SIZE + length + ALIGN_MASK) & ~ALIGN_MASK;
    const offset = this.claim(size);
    if (offset < 0) {
      this.blockedSize = size;
      // Full: what is held back goes out now (with any wake owed), so the receiver can make room.
      this.publishNow();
      return false;
    }
    this.i32[offset >> 2] = length;
    if (typeof data === 'string') this.bytes.write(data, offset + RECORD_HEADER_SIZE, length, 'utf8');
    else this.u8.set(data, offset + RECORD_HEADER_SIZE);
    const position = (this.claimedPosition + size) | 0;
    this.sent++;
    this.position = position;
    // A plain store on a line the receiver never reads while we live: if we die before the
    // publish, whoever takes our lock publishes this record (layout.h, "written").
    this.i32[WRITTEN_WORD] = position;
    if (deferPublish) return true;
    if (this.flushQueued && !this.strategy.spinOnly && ++this.unpublished < PUBLISH_EVERY
      && ((position - this.publishedPosition) | 0) < this.publishBytes && !this.receiverCanRunNow()) {
      this.publishLater(); // not the first in this task: goes with the next publish
      return true;
    }
    this.publish(position);
    this.endOfTask(); // marks where this task ends: until then, sends are batched
    return true;
  }

  /**
   * True when the receiver is parked and could run beside us: then a message should reach it
   * now, not 31 messages later. (With one CPU it cannot run until we stop: a wake per message
   * would only switch back and forth, so the batch waits for its publish.)
   */
  private receiverCanRunNow(): boolean {
    // A line the receiver writes only when it parks: reading it costs no cache-line transfer.
    return Atomics.load(this.i32, layout.OFF_RECEIVER_WAITERS >> 2) !== 0 && !this.sharesOnlyCpuWithPeer();
  }

  /**
   * Zero-copy send: reserves room for a `length`-byte message and returns the offset in
   * `buffer` where its bytes go, or -1 when the ring is too full now. Claimed messages stay
   * invisible to the receiver until commit(), which publishes all of them at once; no other
   * send may come between a claim and its commit.
   */
  tryClaim(length: number): number {
    this.checkClaim(length);
    if (this.queue.length !== 0) return -1;
    // Messages held back and claims never mix: commit() and close() know what to publish.
    if (this.uncommitted === 0 && this.position !== this.publishedPosition) this.publish(this.position);
    const size = (RECORD_HEADER_SIZE + length + ALIGN_MASK) & ~ALIGN_MASK;
    const offset = this.claim(size);
    if (offset < 0) {
      this.blockedSize = size;
      return -1;
    }
    this.i32[offset >> 2] = length;
    this.position = (this.claimedPosition + size) | 0;
    this.uncommitted++;
    this.sent++;
    return offset + RECORD_HEADER_SIZE;
  }

  /** Publishes every message claimed since the last commit: one position store, at most one wake. */
  commit(): void {
    this.ensureOpen();
    if (this.uncommitted === 0) return;
    this.uncommitted = 0;
    this.publish(this.position);
  }

  /**
   * Ready when the consumer has freed enough for the blocked record to make progress: all
   * of it, or the padding to the end of the ring that must come first. Waking for less would
   * spin the event loop on a receiver that frees space a few bytes at a time.
   */
  protected isReady(): boolean {
    const consumer = Atomics.load(this.i32, CONSUMER_WORD);
    if (consumer === this.cachedConsumer) return false;
    const tail = this.capacity - (this.position & this.mask);
    const needed = this.blockedSize <= tail ? this.blockedSize : tail;
    // A consumer position that makes no sense counts as ready: the retry reports it.
    const used = (this.position - consumer) | 0;
    return used < 0 || used > this.capacity || this.capacity - used >= needed;
  }
}
