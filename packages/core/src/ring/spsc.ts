// The SPSC protocol (include/ringwire/spsc.h; layout.h, "SPSC protocol"): one sender and one
// receiver, each holding its role's lock. The per-message path is plain JavaScript over the
// mapped memory: a bounds check, a copy, one Atomics.store, one Atomics.load. Every record is
// validated against what the producer actually published before a byte of it is used: the
// segment is shared with a peer that may be buggy, dead or hostile.
import { corrupt, RingwireError } from '../errors.js';
import { debug } from '../debug.js';
import { layout } from '../native.js';
import { type EndpointHost, type Message, type ReceiverProtocol, type SenderProtocol, writeEach } from './contract.js';
import {
  ALIGN_MASK, Assembly, CONSUMER_WORD, DELIVERED_WORD, FRAGMENT_FIRST, FRAGMENT_LAST, FRAGMENT_LENGTH_MASK, HEADER_SIZE,
  MESSAGES_RECEIVED_SLOT, MESSAGES_SENT_SLOT, Outgoing, PADDING, PARK_SLICE_MS, PRODUCER_WORD, PUBLISH_EVERY,
  RECORD_HEADER_SIZE, START_WORD, STATE_ENDED, STATE_WORD, WRITTEN_WORD, adoptWritten, endsMessage, payloadLength, validCount,
} from './layout.js';
import type { RingView } from './segment.js';
import { FlagDoorbell } from './wait.js';

/*
 * Publishing. A sender publishes the first message of each JavaScript task at once, and the
 * ones that follow it in the same task every PUBLISH_EVERY messages (or a quarter of the
 * ring), not each: a store per message makes both cores fight over the producer's cache
 * line. What is held back goes out at the end of the task (as socket.cork() until the next
 * tick does), before this thread waits, when a call finds a channel full or empty, on end(),
 * close(), flush() and process exit, and at once while the receiver is parked and can run
 * beside us. A sender opened with wait: 'spin' publishes every message at once: it trades
 * CPU for latency throughout. The receiver publishes its position likewise: every
 * PUBLISH_EVERY records, a quarter of the ring, when it finds the ring empty, or at the end
 * of the task.
 */

const recordBytes = (length: number) => (RECORD_HEADER_SIZE + length + ALIGN_MASK) & ~ALIGN_MASK;

/**
 * ERR_RINGWIRE_PEER_DEAD if the peer's last holder died without closing and nothing it did
 * remains to be seen: its pid is still recorded (a clean close clears the pid before the
 * kernel drops the lock; an opener takes the lock before writing its pid) but its role lock
 * is free, the pid read again is unchanged, and this endpoint is still not ready (what the
 * peer published before dying is taken first: `recover` runs before that last look).
 */
function checkPeer(view: RingView, peerRole: number, peerPid: number, peerName: string, role: string,
  isReady: () => boolean, recover?: () => void): void {
  const pid = Atomics.load(view.i32, peerPid >> 2);
  if (pid === 0 || view.segment.isLockedByOther(peerRole)) return;
  if (Atomics.load(view.i32, peerPid >> 2) !== pid) return;
  debug('%s of %s: its %s (pid %d) died without closing', role, view.name, peerName, pid);
  recover?.();
  if (isReady()) return;
  throw new RingwireError('ERR_RINGWIRE_PEER_DEAD',
    `the ${peerName} of channel '${view.name}' (pid ${pid}) exited without closing; `
    + `nothing more will arrive from it (a new ${peerName} may open the channel)`);
}

/** The sending end of an SPSC channel. */
export class SpscSenderProtocol implements SenderProtocol {
  readonly mode = 'spsc';
  readonly maxMessage: number;
  readonly maxRecord: number;
  /** A message being written in fragments (layout.h, "Fragments"). */
  private outgoing: Outgoing | undefined = undefined;
  readonly pidOffset = layout.OFF_SENDER_PID;
  readonly doorbell: FlagDoorbell;
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly u8: Uint8Array;
  private readonly capacity: number;
  private readonly mask: number;
  /** Our producer position; only this endpoint writes the shared copy. */
  private position: number;
  /** The consumer position as last read; free space is at least what it implies. */
  private cachedConsumer: number;
  /** Where claim() placed the record it returned (after any padding). */
  private claimedPosition = 0;
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

  constructor(private readonly view: RingView, private readonly host: EndpointHost) {
    this.maxMessage = view.maxMessageSize;
    this.maxRecord = view.maxMessage;
    this.i32 = view.i32;
    this.f64 = view.f64;
    this.u8 = view.u8;
    this.capacity = view.capacity;
    this.mask = view.mask;
    this.doorbell = new FlagDoorbell(view.i32, view.segment, layout.OFF_SPACE_SIGNAL, layout.OFF_SENDER_WAITERS,
      layout.OFF_SENDER_THREAD, layout.OFF_DATA_SIGNAL, layout.OFF_RECEIVER_WAITERS);
    // What a sender before us wrote and did not publish (layout.h, "written"): we hold its
    // lock. A receiver parked meanwhile is woken for it, as the sender's own publish would.
    if (adoptWritten(this.i32, this.capacity, view.maxMessage, view.maxMessageSize)) this.doorbell.wakePeers();
    this.position = Atomics.load(this.i32, PRODUCER_WORD);
    this.cachedConsumer = this.validConsumer(Atomics.load(this.i32, CONSUMER_WORD));
    if ((this.position & ALIGN_MASK) !== 0) throw corrupt(view.name, 'misaligned producer position');
    this.i32[WRITTEN_WORD] = this.position;
    this.publishedPosition = this.position;
    this.wokenAt = this.position;
    this.publishBytes = this.capacity >>> 2;
    this.sent = validCount(this.f64[MESSAGES_SENT_SLOT]);
    Atomics.store(this.i32, layout.OFF_SENDER_PID >> 2, process.pid);
  }

  parkSliceMs(): number {
    return PARK_SLICE_MS;
  }

  peerPid(): number {
    return Atomics.load(this.i32, layout.OFF_RECEIVER_PID >> 2);
  }

  /** Returns `consumer` if it is possible given our position; throws ERR_RINGWIRE_CORRUPT. */
  private validConsumer(consumer: number): number {
    const used = (this.position - consumer) | 0;
    if (used < 0 || used > this.capacity || (consumer & ALIGN_MASK) !== 0) {
      throw corrupt(this.view.name, `consumer position ${consumer >>> 0} is impossible with producer position ${this.position >>> 0}`);
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
    this.host.published();
    this.f64[MESSAGES_SENT_SLOT] = this.sent; // plain: published by the store below
    // seq_cst store: publishes the record bytes written before it (pairs with the
    // receiver's load of the producer position) and orders the waiter check in wakePeers.
    Atomics.store(this.i32, PRODUCER_WORD, position);
    // With one CPU a parked receiver cannot run before this thread stops anyway, and a wake
    // may hand it the CPU at once: for a few messages each, the two would switch back and
    // forth. So it is woken once a quarter of the ring waits for it, or when this thread
    // stops (the end of the task, a wait, a full ring, flush(), end(), close()).
    if (holdWake && Atomics.load(this.i32, layout.OFF_RECEIVER_WAITERS >> 2) !== 0
      && ((position - this.wokenAt) | 0) < this.publishBytes && this.host.sharesOnlyCpuWithPeer()) {
      this.wakeOwed = true;
      this.host.publishLater();
      return;
    }
    this.wakeOwed = false;
    this.wokenAt = position;
    this.doorbell.wakePeers();
  }

  get pendingClaims(): number {
    return this.uncommitted;
  }

  /** Publishes the messages written and held back (never uncommitted claims). */
  publishNow(): void {
    if (this.uncommitted !== 0) return;
    if (this.position !== this.publishedPosition) {
      this.publish(this.position, false);
      return;
    }
    this.host.published();
    if (this.wakeOwed) {
      this.wakeOwed = false;
      this.wokenAt = this.position;
      this.doorbell.wakePeers();
    }
  }

  write(data: Message, length: number, deferPublish = false): boolean {
    if (length > this.maxRecord) return this.writeFragments(data, length);
    const size = recordBytes(length);
    const offset = this.claim(size);
    if (offset < 0) {
      this.blockedSize = size;
      // Full: what is held back goes out now (with any wake owed), so the receiver can make room.
      this.publishNow();
      return false;
    }
    this.i32[offset >> 2] = length;
    if (typeof data === 'string') this.view.bytes.write(data, offset + RECORD_HEADER_SIZE, length, 'utf8');
    else this.u8.set(data, offset + RECORD_HEADER_SIZE);
    const position = (this.claimedPosition + size) | 0;
    this.sent++;
    this.position = position;
    // A plain store on a line the receiver never reads while we live: if we die before the
    // publish, whoever takes our lock publishes this record (layout.h, "written").
    this.i32[WRITTEN_WORD] = position;
    if (deferPublish) return true;
    const host = this.host;
    if (host.flushQueued && !host.spinOnly && ++this.unpublished < PUBLISH_EVERY
      && ((position - this.publishedPosition) | 0) < this.publishBytes && !this.receiverCanRunNow()) {
      host.publishLater(); // not the first in this task: goes with the next publish
      return true;
    }
    this.publish(position);
    host.endOfTask(); // marks where this task ends: until then, sends are batched
    return true;
  }

  /**
   * A message longer than a record carries: as many of its fragments as fit now, each
   * published as it is written (a receiver frees each one's space once it has copied it, so
   * the message may be any number of rings long). False until the last one is written.
   */
  private writeFragments(data: Message, length: number): boolean {
    let out = this.outgoing;
    if (out === undefined || out.source !== data) {
      out = new Outgoing(data, length, this.capacity / 4 - RECORD_HEADER_SIZE);
      this.outgoing = out;
    }
    for (;;) {
      out.next(this.capacity - (this.position & this.mask));
      const size = recordBytes(out.chunk);
      const offset = this.claim(size);
      if (offset < 0) {
        this.blockedSize = size;
        this.publishNow();
        return false;
      }
      this.i32[offset >> 2] = out.word;
      const last = out.fill(this.u8, this.i32, offset + RECORD_HEADER_SIZE);
      const position = (this.claimedPosition + size) | 0;
      this.position = position;
      this.i32[WRITTEN_WORD] = position;
      if (last) {
        this.outgoing = undefined;
        this.sent++;
        this.publish(position);
        this.host.endOfTask();
        return true;
      }
      // The start record goes with the first data record.
      if (out.done !== 0) this.publish(position);
    }
  }

  abandon(data: Message): void {
    if (this.outgoing?.source === data) this.outgoing = undefined;
  }

  sendMany(messages: readonly Message[], start: number, end: number): number {
    const sent = writeEach(this, messages, start, end, this.maxMessage, this.maxRecord, this.view.name);
    if (sent !== 0) this.publish(this.position);
    return sent;
  }

  /**
   * True when the receiver is parked and could run beside us: then a message should reach it
   * now, not 31 messages later. (With one CPU it cannot run until we stop: a wake per message
   * would only switch back and forth, so the batch waits for its publish.)
   */
  private receiverCanRunNow(): boolean {
    // A line the receiver writes only when it parks: reading it costs no cache-line transfer.
    return Atomics.load(this.i32, layout.OFF_RECEIVER_WAITERS >> 2) !== 0 && !this.host.sharesOnlyCpuWithPeer();
  }

  /**
   * Several claims may be held and committed at once; messages held back and claims never
   * mix (commit() and close() know what to publish).
   */
  tryClaim(length: number, queued: boolean): number {
    if (queued) return -1;
    if (this.uncommitted === 0 && this.position !== this.publishedPosition) this.publish(this.position);
    const size = recordBytes(length);
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
    if (this.uncommitted === 0) return;
    this.uncommitted = 0;
    this.publish(this.position);
  }

  endedElsewhere(): boolean {
    return false;
  }

  /**
   * seq_cst: after the last position store, so a receiver that sees the flag and then
   * re-reads the producer position has every message.
   */
  signalEnd(): void {
    Atomics.or(this.i32, STATE_WORD, STATE_ENDED);
    this.doorbell.wakePeers();
  }

  releaseRing(): void {}

  /**
   * Ready when the consumer has freed enough for the blocked record to make progress: all
   * of it, or the padding to the end of the ring that must come first. Waking for less would
   * spin the event loop on a receiver that frees space a few bytes at a time.
   */
  isReady(): boolean {
    const consumer = Atomics.load(this.i32, CONSUMER_WORD);
    if (consumer === this.cachedConsumer) return false;
    const tail = this.capacity - (this.position & this.mask);
    const needed = this.blockedSize <= tail ? this.blockedSize : tail;
    // A consumer position that makes no sense counts as ready: the retry reports it.
    const used = (this.position - consumer) | 0;
    return used < 0 || used > this.capacity || this.capacity - used >= needed;
  }

  checkLiveness(): void {
    checkPeer(this.view, layout.ROLE_RECEIVER, layout.OFF_RECEIVER_PID, 'receiver', 'sender', () => this.isReady());
  }
}

/** The receiving end of an SPSC channel. */
export class SpscReceiverProtocol implements ReceiverProtocol {
  readonly mode = 'spsc';
  readonly pidOffset = layout.OFF_RECEIVER_PID;
  readonly doorbell: FlagDoorbell;
  readonly stableViews = true;
  readonly lost = 0;
  recordLength = 0;
  pollLeft = 0;
  source: Uint8Array;
  /** A message coming in fragments, and whether one is whole and not yet released (in `source`). */
  private readonly assembly: Assembly;
  private assembled = false;
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  readonly capacity: number;
  private readonly mask: number;
  private readonly maxMessage: number;
  /** The longest whole record a sender of this channel writes: min(one record's most, maxMessageSize). */
  private readonly maxWhole: number;
  /** Our consumer position, ahead of the shared copy by what is not yet published. */
  private position: number;
  private publishedPosition: number;
  private unpublished = 0;
  /** The producer position as last read and validated. */
  private cachedProducer: number;
  /** Messages taken: the stats counter, stored with each publish. */
  private received = 0;
  private readonly publishBytes: number;
  /**
   * Held delivery (hold()): the position and message count confirmed so far. While held, only
   * what is confirmed is published — as the consumer position (the sender may overwrite it)
   * and as "delivered" (where a receiver opening after this one dies resumes) — so messages
   * taken and not confirmed stay in the ring for the next receiver.
   */
  private held = false;
  private confirmed = 0;
  private confirmedCount = 0;
  /** Held: where the last whole message taken ends (only padding and fragments follow it). */
  private lastWhole = 0;

  constructor(private readonly view: RingView, private readonly host: EndpointHost) {
    this.i32 = view.i32;
    this.f64 = view.f64;
    this.capacity = view.capacity;
    this.mask = view.mask;
    this.maxMessage = view.maxMessage;
    this.maxWhole = Math.min(view.maxMessage, view.maxMessageSize);
    this.source = view.u8;
    this.assembly = new Assembly(view.maxMessageSize);
    this.doorbell = new FlagDoorbell(view.i32, view.segment, layout.OFF_DATA_SIGNAL, layout.OFF_RECEIVER_WAITERS,
      layout.OFF_RECEIVER_THREAD, layout.OFF_SPACE_SIGNAL, layout.OFF_SENDER_WAITERS);
    const consumer = Atomics.load(this.i32, CONSUMER_WORD);
    if ((consumer & ALIGN_MASK) !== 0) throw corrupt(view.name, 'misaligned consumer position');
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

  parkSliceMs(): number {
    return PARK_SLICE_MS;
  }

  peerPid(): number {
    return Atomics.load(this.i32, layout.OFF_SENDER_PID >> 2);
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
        const length = payloadLength(word, this.maxWhole);
        if (length < 0 || length > this.maxMessage || RECORD_HEADER_SIZE + length > this.capacity - offset) return 0;
        size = recordBytes(length);
        if (endsMessage(word)) messages++;
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
  peek(): number {
    if (this.assembled) {
      this.recordLength = this.assembly.total;
      return 0;
    }
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
          throw corrupt(this.view.name, `producer position ${producer >>> 0} is impossible with consumer position ${this.position >>> 0}`);
        }
        this.cachedProducer = producer;
      }
      const ringOffset = this.position & this.mask;
      const word = this.i32[(HEADER_SIZE + ringOffset) >> 2];
      if (word === PADDING) {
        const skip = this.capacity - ringOffset;
        if (skip > available) throw corrupt(this.view.name, 'padding runs past the published end');
        this.advance(skip, false, true);
        continue;
      }
      if (word < 0) {
        if (this.fragment(word, ringOffset, available)) return 0;
        continue;
      }
      const length = word;
      if (length > this.maxWhole || RECORD_HEADER_SIZE + length > this.capacity - ringOffset
        || recordBytes(length) > available) {
        throw corrupt(this.view.name, `record length ${length} at ring offset ${ringOffset} exceeds what was published`);
      }
      // A whole record: a message begun before it was given up by its sender (layout.h, "Fragments").
      if (this.assembly.buffer !== undefined) this.assembly.drop();
      this.recordLength = length;
      return HEADER_SIZE + ringOffset;
    }
  }

  /**
   * A fragment record at our position (layout.h, "Fragments"): checked, copied into the
   * message being put together, and its space freed. True once that message is whole (then
   * `source` holds it and recordLength is set).
   */
  private fragment(word: number, ringOffset: number, available: number): boolean {
    const index = (HEADER_SIZE + ringOffset) >> 2;
    const n = word & FRAGMENT_LENGTH_MASK;
    if (n > this.maxMessage || RECORD_HEADER_SIZE + n > this.capacity - ringOffset || recordBytes(n) > available) {
      throw corrupt(this.view.name, `fragment of ${n} bytes at ring offset ${ringOffset} exceeds what was published`);
    }
    const assembly = this.assembly;
    if ((word & FRAGMENT_FIRST) !== 0) {
      const total = this.i32[index + 2] >>> 0;
      if (word !== START_WORD || !assembly.canStart(total)) {
        throw corrupt(this.view.name, `a malformed start record (word ${word >>> 0}, total ${total}; at most ${this.view.maxMessageSize} bytes)`);
      }
      assembly.start(total);
    } else if (assembly.buffer !== undefined) {
      const last = (word & FRAGMENT_LAST) !== 0;
      if (!assembly.fits(n, last)) {
        throw corrupt(this.view.name, `a ${last ? 'last' : 'data'} fragment of ${n} bytes after ${assembly.filled} of a ${assembly.total}-byte message`);
      }
      assembly.append(this.view.u8, HEADER_SIZE + ringOffset + RECORD_HEADER_SIZE, n);
      if (last) {
        this.advance(recordBytes(n), false, true);
        this.source = assembly.finish();
        this.assembled = true;
        this.recordLength = assembly.total;
        return true;
      }
    }
    // A data record with no message begun is the rest of one this receiver joined in the middle of: skipped.
    this.advance(recordBytes(n), false, true);
    return false;
  }

  /**
   * Consumes `size` bytes. Publishes after PUBLISH_EVERY records (unless `inBatch`: poll
   * publishes once at its end) or a quarter of the ring; otherwise makes sure the space is
   * published at the end of this task, or before this thread blocks, whichever is first.
   */
  private advance(size: number, inBatch = false, noWhole = false): void {
    this.position = (this.position + size) | 0;
    // Held delivery: padding and fragments (a message longer than the ring cannot be held
    // whole) are freed as they are read once every whole message before them is confirmed
    // (see hold()).
    if (this.held && noWhole && this.confirmed === this.lastWhole) {
      this.confirmed = this.position;
      this.lastWhole = this.position;
      this.i32[DELIVERED_WORD] = this.confirmed;
    }
    // A plain store on a line the sender never reads: only a receiver opening after this one
    // died reads it (see layout.h, "delivered"), after taking the lock this one held.
    if (!this.held) this.i32[DELIVERED_WORD] = this.position;
    if ((++this.unpublished >= PUBLISH_EVERY && !inBatch)
      || ((this.position - this.publishedPosition) | 0) >= this.publishBytes) {
      this.publishPosition();
    } else {
      this.host.publishLater();
    }
  }

  /** Publishes consumed space now (before this thread blocks elsewhere). */
  publishNow(): void {
    this.publishPosition();
  }

  private publishPosition(): void {
    this.host.published();
    const position = this.held ? this.confirmed : this.position;
    if (position === this.publishedPosition) return;
    this.publishedPosition = position;
    this.unpublished = 0;
    this.f64[MESSAGES_RECEIVED_SLOT] = this.held ? this.confirmedCount : this.received; // plain: published by the store below
    // seq_cst store: the records before it are done with (the producer may overwrite them)
    // and it orders the waiter check in wakePeers.
    Atomics.store(this.i32, CONSUMER_WORD, position);
    // A parked sender is woken once a quarter of the ring is free (or all of it), not for
    // every few records freed: each wake costs it a context switch, and on a shared CPU
    // both processes one per batch. (A sender parked for less re-checks within a park slice.)
    if (((this.cachedProducer - position) | 0) <= this.capacity - this.publishBytes) this.doorbell.wakePeers();
  }

  /**
   * Holds delivery from now on (the NATS bridge's at-least-once 'out'): messages taken stay
   * in the ring, for the next receiver should this one die, until confirm() says they are
   * safe elsewhere. stats() counts a message received once confirmed. A message in fragments
   * (longer than one record: it cannot stay in the ring whole) is the exception: its
   * fragments are freed as they are read once every message before it is confirmed, so a
   * receiver dying before it is safe elsewhere loses it.
   */
  hold(): void {
    this.publishPosition();
    this.held = true;
    this.confirmed = this.position;
    this.confirmedCount = this.received;
    this.lastWhole = this.position;
  }

  /** Where the messages taken so far end, and how many were received in all (for confirm()). */
  mark(): { position: number; count: number } {
    return { position: this.position, count: this.received };
  }

  /**
   * Messages received through `mark` (an earlier mark()) are safe: free them for good. A mark
   * already behind what is freed (taken where everything was confirmed, and padding or
   * fragments read since were freed as they were read) frees nothing more.
   */
  confirm(mark: { position: number; count: number }): void {
    if (!this.held) return;
    const outside = ((mark.position - this.confirmed) >>> 0) > ((this.position - this.confirmed) >>> 0);
    if (outside && mark.count <= this.confirmedCount) return; // behind: already freed
    if (outside || mark.count < this.confirmedCount) {
      throw new RingwireError('ERR_RINGWIRE_INVALID_ARG', 'confirm() of a mark not between the last confirmed and the last taken');
    }
    // Through the last whole message taken: the padding and fragments read since go too.
    this.confirmed = mark.position === this.lastWhole ? this.position : mark.position;
    if (this.confirmed === this.position) this.lastWhole = this.position;
    this.confirmedCount = mark.count;
    this.i32[DELIVERED_WORD] = this.confirmed;
    this.publishPosition();
  }

  /**
   * The sender died: records it wrote and had not yet published are made visible while we
   * hold its lock (layout.h, "written"); a sender opening meanwhile does it instead.
   */
  private adoptDeadSender(): void {
    const segment = this.view.segment;
    if (!segment.lock(layout.ROLE_SENDER)) return;
    try {
      adoptWritten(this.i32, this.capacity, this.maxMessage, this.view.maxMessageSize);
    } finally {
      segment.unlock(layout.ROLE_SENDER);
    }
  }

  checkLiveness(): void {
    checkPeer(this.view, layout.ROLE_SENDER, layout.OFF_SENDER_PID, 'sender', 'receiver',
      () => this.isReady(), () => this.adoptDeadSender());
  }

  isReady(): boolean {
    return this.assembled || Atomics.load(this.i32, PRODUCER_WORD) !== this.position
      || (Atomics.load(this.i32, STATE_WORD) & STATE_ENDED) !== 0;
  }

  acquire(): boolean {
    return true;
  }

  release(_offset: number, length: number, inBatch: boolean, copied = false): boolean {
    this.received++;
    if (this.assembled) {
      // Its records were freed as they were copied.
      this.assembled = false;
      if (this.held) {
        if (this.confirmed === this.position) this.confirmedCount = this.received;
        this.lastWhole = this.position;
      }
      if (copied) this.assembly.giveBack(this.source);
      this.source = this.view.u8;
      this.f64[MESSAGES_RECEIVED_SLOT] = this.received; // its last record's position may be published already
      return true;
    }
    this.advance(recordBytes(length), inBatch);
    if (this.held) this.lastWhole = this.position;
    return true;
  }

  finishBatch(): void {
    this.publishPosition();
  }

  drainedAndEnded(): boolean {
    // The flag first, then the position: the sender sets the flag after its last message. (A
    // message begun and never finished by an ended sender is dropped: it never will be.)
    return !this.assembled && (Atomics.load(this.i32, STATE_WORD) & STATE_ENDED) !== 0
      && Atomics.load(this.i32, PRODUCER_WORD) === this.position;
  }

  releaseRing(): void {
    this.publishPosition();
  }
}
