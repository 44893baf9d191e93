// The sending end of a channel, whatever its mode: the API, its queue of waiting sends and the
// end of the stream. Everything done to the ring is the protocol's (ring/contract.ts).
import { AbortError, closed, invalidArg, RingwireError, streamEnded } from './errors.js';
import { ASYNC_DISPOSE, Endpoint, publishAll } from './endpoint.js';
import { resolveWaitOptions, type ResolvedEndpoint, type WaitOptions } from './options.js';
import type { Codec } from './codec.js';
import { senderWritable, type WritableOptions } from './streams.js';
import type { Writable } from 'node:stream';
import { type EndpointHost, measure, type Message, type SenderProtocol, tooLarge, tooLargeForOneRecord } from './ring/contract.js';
import type { RingView } from './ring/segment.js';

export type { Message } from './ring/contract.js';

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
export class Sender<T = Message> extends Endpoint<void, SenderProtocol> {
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

  /** @internal Use openSender(). */
  constructor(view: RingView, strategy: ResolvedEndpoint, makeProtocol: (host: EndpointHost) => SenderProtocol) {
    super(view, strategy, 'sender', makeProtocol);
  }

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
  tryClaim(length: number): number {
    this.checkClaim(length);
    return this.protocol.tryClaim(length, this.queue.length !== 0);
  }

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
  commit(): void {
    this.ensureOpen();
    this.protocol.commit();
  }


  private measure(data: Message): number {
    return measure(data, this.protocol.maxMessage, this.name);
  }

  /** tryClaim()'s checks, the same in every mode. */
  private checkClaim(length: number): void {
    this.ensureOpen();
    if (this.endRequested || this.protocol.endedElsewhere()) this.ensureSendable();
    if (!Number.isInteger(length) || length < 0) throw invalidArg(`length must be a non-negative integer, got ${String(length)}`);
    if (length > this.protocol.maxRecord) {
      throw length > this.protocol.maxMessage ? tooLarge(this.name, length, this.protocol.maxMessage)
        : tooLargeForOneRecord(this.name, length, this.protocol.maxRecord, 'tryClaim()');
    }
  }

  private ensureSendable(): void {
    this.ensureOpen();
    if (this.endRequested || this.protocol.endedElsewhere()) throw streamEnded(this.name);
    if (this.protocol.pendingClaims !== 0) throw invalidArg('commit() the claimed messages first');
  }

  /**
   * The mapping, for writing claimed messages in place (see tryClaim). Valid until close();
   * write only the bytes tryClaim handed out.
   */
  get buffer(): Uint8Array {
    this.ensureOpen();
    return this.view.u8;
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
    if (length > this.protocol.maxRecord) throw tooLargeForOneRecord(this.name, length, this.protocol.maxRecord, 'trySend()');
    if (this.queue.length === 0 && this.protocol.write(data, length)) return true;
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

  /** trySendMany over messages already encoded: the protocol sends the batch its way. */
  private sendMany(messages: readonly Message[], start: number, end: number): number {
    if (this.queue.length !== 0) return 0;
    return this.protocol.sendMany(messages, start, end);
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
      const protocol = this.protocol;
      if (this.queue.length === 0 && (protocol.write(data, length)
        || (!wait.signal?.aborted && this.spinBeforeQueueing() && protocol.write(data, length)))) {
        return RESOLVED;
      }
      if (wait.signal?.aborted) {
        protocol.abandon(data); // part of a message larger than a record may be written
        return Promise.reject(new AbortError(wait.signal.reason));
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
    try {
      for (;;) {
        this.satisfy();
        if (this.queue.length === 0 && this.protocol.write(data, length)) return;
        if (performance.now() >= deadline) throw this.syncTimeout('sendSync', timeout);
        this.waitSync(deadline);
      }
    } catch (error) {
      // Part of a message larger than a record may be written: receivers drop it.
      this.protocol.abandon(data);
      throw error;
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
    if (this.protocol.pendingClaims !== 0) return Promise.reject(invalidArg('commit() the claimed messages first'));
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
    this.protocol.signalEnd();
    const settle = this.endSettle;
    this.endSettle = undefined;
    settle?.(error ?? this.endError);
  }

  protected override queueAbandoned(): void {
    if (this.endRequested) this.markEnded();
  }

  protected override headFailed(op: { data?: Message }): void {
    // Its message may be partly written (in fragments): the next write of it starts afresh.
    if (op.data !== undefined) this.protocol.abandon(op.data);
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
    return this.protocol.maxMessage;
  }

  protected override describe(): string {
    const ended = this.endRequested ? ', ended' : '';
    return `${super.describe()}${ended}${this.codec === undefined ? '' : `, codec: '${this.codecName}'`}`;
  }

  protected satisfy(): void {
    const queue = this.queue;
    while (queue.length !== 0) {
      const op = queue[0];
      if (!this.protocol.write(op.data!, op.length)) return;
      queue.shift();
      this.settle(op);
      op.resolve();
    }
    if (this.endRequested) this.markEnded();
  }

  /**
   * Releases this endpoint; sends still waiting reject with ERR_RINGWIRE_CLOSED (and so does
   * a pending end(), though the stream is still marked ended).
   */
  close(): void {
    if (this.closed) return;
    const queued = this.queue.length;
    if (this.endRequested) this.markEnded(queued !== 0 ? closed(this.name, 'sender') : undefined);
    else this.publishNow(); // what was sent is sent
    this.protocol.releaseRing(this.endRequested);
    this.closeEndpoint();
  }
}
