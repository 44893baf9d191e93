// The broadcast protocol (include/ringwire/broadcast.h; layout.h, "Broadcast protocol"): one
// sender, up to MAX_SLOTS receivers, and every receiver reads every record. The sender never
// learns what a receiver has read except through its slot's cursor; a receiver never trusts a
// record until it has checked, after reading it, that the sender cannot have written over it.
import { debug } from '../debug.js';
import { corrupt, RingwireError } from '../errors.js';
import { layout } from '../native.js';
import { type EndpointHost, type Message, type ReceiverProtocol, type SenderProtocol, writeEach } from './contract.js';
import {
  ALIGN_MASK, Assembly, FRAGMENT_FIRST, FRAGMENT_LAST, FRAGMENT_LENGTH_MASK, HEADER_SIZE, MESSAGES_SENT_SLOT, Outgoing,
  PADDING, PARK_SLICE_MS, PARKED_RECEIVERS, PEER_CHECK_MS, parkedCount, PRODUCER_WORD, PUBLISH_EVERY, RECORD_HEADER_SIZE, START_WORD,
  STATE_ENDED, STATE_WORD, WRITTEN_WORD, adoptWritten, payloadLength, validCount,
} from './layout.js';
import type { RingView } from './segment.js';
import { openSlot, ParkedReconciler, slotField } from './slots.js';
import { EpochToFlagDoorbell, FlagToEpochDoorbell, wakeEpoch } from './wait.js';
import { cpusForThisProcess } from '../machine.js';

const OLDEST_WORD = layout.OFF_OLDEST_POSITION >> 2;
const INTENT_WORD = layout.OFF_INTENT_POSITION >> 2;

const recordBytes = (length: number) => (RECORD_HEADER_SIZE + length + ALIGN_MASK) & ~ALIGN_MASK;

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * A bounded wait for another endpoint to finish a step it has begun (the sender between
 * storing O and I, or lowering an I it raised for an instant): 64 quick re-checks, then
 * 1-ms pauses for up to a park slice. wait() is false once that is over (a peer that never
 * finishes: the caller reports ERR_RINGWIRE_CORRUPT). A sender preempted mid-step is
 * waited for, not taken for a broken one.
 */
class Settle {
  private tries = 0;
  private since = -1;

  wait(): boolean {
    if (this.tries++ < 64) return true;
    const now = performance.now();
    if (this.since < 0) this.since = now;
    if (now - this.since > PARK_SLICE_MS) return false;
    Atomics.wait(pause, 0, 0, 1);
    return true;
  }
}

/** A position read from the segment: aligned, or ERR_RINGWIRE_CORRUPT. */
function aligned(name: string, position: number, what: string): number {
  if ((position & ALIGN_MASK) !== 0) throw corrupt(name, `${what} ${position >>> 0} is not ${ALIGN_MASK + 1}-byte aligned`);
  return position;
}

/** A receiver slot the sender reads: joined (a pid, kind receiver) and not cut off. */
function joined(i32: Int32Array, slot: number): boolean {
  return Atomics.load(i32, slotField(slot, layout.SLOT_PID) >> 2) !== 0
    && Atomics.load(i32, slotField(slot, layout.SLOT_KIND) >> 2) === layout.KIND_RECEIVER
    && Atomics.load(i32, slotField(slot, layout.SLOT_CUT) >> 2) === 0;
}

export function cutOff(name: string): RingwireError {
  return new RingwireError('ERR_RINGWIRE_CUT_OFF',
    `this receiver of broadcast channel '${name}' held its sender back longer than the sender's lagLimit and was cut off; `
    + 'close it (a new receiver may join)');
}

/** Whether the sender died without closing: its pid recorded, its lock free, the pid unchanged. */
function senderDead(view: RingView): boolean {
  const pid = Atomics.load(view.i32, layout.OFF_SENDER_PID >> 2);
  if (pid === 0 || view.segment.isLockedByOther(layout.ROLE_SENDER)) return false;
  return Atomics.load(view.i32, layout.OFF_SENDER_PID >> 2) === pid;
}

/**
 * What a dead sender left, repaired by whoever takes its lock (a sender opening, or a receiver
 * that found it dead, for as long as it holds the lock): the records it wrote and did not
 * publish (layout.h, "written", bounded by O and by I; the sent count from the last one's
 * sequence number; 'drop': the next sequence number is stamped at the new tail), and
 * ('block') an I it raised past a receiver's bound and died before lowering (it wrote nothing
 * past the bound). A receiver wakes the receivers parked for what it adopted, as a publish
 * does (a sender opening does it itself). False if the lock was taken by someone else (a
 * sender opening, or another receiver repairing: the repair is theirs, and may still be under
 * way).
 */
function adoptDeadSender(view: RingView, drop: boolean, held = false): boolean {
  const { i32, segment, capacity } = view;
  if (!held && !segment.lock(layout.ROLE_SENDER)) return false;
  try {
    const intent = Atomics.load(i32, INTENT_WORD);
    const written = Atomics.load(i32, WRITTEN_WORD);
    if (((intent - written) >>> 0) <= capacity) {
      const adopted = adoptWritten(i32, capacity, view.maxMessage, view.maxMessageSize, true,
        drop && ((intent - written) >>> 0) >= RECORD_HEADER_SIZE
          ? (at, sent) => { i32[((HEADER_SIZE + (at & view.mask)) >> 2) + 1] = sent | 0; } : undefined);
      if (adopted && !held) wakeEpoch(i32, segment, layout.OFF_DATA_SIGNAL, PARKED_RECEIVERS);
    }
    if (drop) return true;
    const tail = Atomics.load(i32, PRODUCER_WORD);
    let slowest = -1;
    let cursor = 0;
    for (let slot = 0; slot < layout.MAX_SLOTS; slot++) {
      if (!joined(i32, slot)) continue;
      const at = Atomics.load(i32, slotField(slot, layout.SLOT_CURSOR) >> 2);
      const behind = (tail - at) >>> 0;
      if (behind <= capacity && (at & ALIGN_MASK) === 0 && behind > slowest) {
        slowest = behind;
        cursor = at;
      }
    }
    if (slowest < 0) return true;
    const limit = (cursor + capacity) | 0;
    const now = Atomics.load(i32, INTENT_WORD);
    if (((now - tail) >>> 0) <= capacity && ((now - limit) | 0) > 0) Atomics.store(i32, INTENT_WORD, limit);
    return true;
  } finally {
    if (!held) segment.unlock(layout.ROLE_SENDER);
  }
}

/** The sending end of a broadcast channel. */
export class BroadcastSenderProtocol implements SenderProtocol {
  readonly mode = 'broadcast';
  readonly pidOffset = layout.OFF_SENDER_PID;
  /** The channel's maxMessageSize: longer than maxRecord goes in fragments. */
  readonly maxMessage: number;
  /**
   * 'drop': a record and the header after it (where the next sequence number goes) must fit
   * the ring, so 8 bytes less than the record limit.
   */
  readonly maxRecord: number;
  /** A message being written in fragments (layout.h, "Fragments"). */
  private outgoing: Outgoing | undefined = undefined;
  readonly doorbell: FlagToEpochDoorbell;
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly capacity: number;
  private readonly mask: number;
  private readonly name: string;
  private readonly drop: boolean;
  /** I is raised at least this far past the record being written (an eighth of the ring). */
  private readonly step: number;
  private readonly publishBytes: number;
  /** Our position (the end of what we wrote), the one last published, and I and O as we stored them. */
  private position: number;
  private publishedPosition: number;
  private intent: number;
  private oldest: number;
  /** Messages written: the stats counter, and the sequence number of the next record. */
  private sent: number;
  private unpublished = 0;
  private uncommitted = 0;
  /** Where tryClaim put its record. */
  private claimedHeader = 0;
  /** The tail at the last wake of receivers, and whether parked receivers are owed one (publish()). */
  private wokenAt = 0;
  private wakeOwed = false;
  private cpuCount = 0;
  private cpusAge = 0;
  /** The record end a blocked send waits to reach, and the receiver slot holding it back. */
  private blockedEnd = 0;
  private blockedBy = -1;
  /** When blockedBy first held the sender back (performance.now()), for the lag limit. */
  private blockedSince = 0;
  private readonly reconciler: ParkedReconciler;

  constructor(private readonly view: RingView, private readonly host: EndpointHost, private readonly lagLimit: number) {
    const i32 = view.i32;
    this.i32 = i32;
    this.f64 = view.f64;
    this.capacity = view.capacity;
    this.mask = view.mask;
    this.name = view.name;
    this.drop = (view.flags & layout.FLAG_OVERFLOW_DROP) !== 0;
    this.maxRecord = this.drop ? view.maxMessage - RECORD_HEADER_SIZE : view.maxMessage;
    this.maxMessage = view.maxMessageSize;
    this.step = view.capacity >>> 3;
    this.publishBytes = view.capacity >>> 2;
    this.doorbell = new FlagToEpochDoorbell(i32, view.segment, layout.OFF_SPACE_SIGNAL, layout.OFF_SENDER_WAITERS,
      layout.OFF_SENDER_THREAD, layout.OFF_DATA_SIGNAL, PARKED_RECEIVERS);
    this.reconciler = new ParkedReconciler(view, -1, [PARKED_RECEIVERS]);
    // What a sender before us wrote and did not publish, and an I it left raised: we hold its
    // lock. Receivers parked meanwhile are woken for what was adopted, as a publish would.
    const before = Atomics.load(i32, PRODUCER_WORD);
    adoptDeadSender(view, this.drop, true);
    this.position = aligned(this.name, Atomics.load(i32, PRODUCER_WORD), 'tail');
    if (this.position !== before) this.doorbell.wakePeers();
    this.oldest = aligned(this.name, Atomics.load(i32, OLDEST_WORD), 'oldest position');
    this.intent = aligned(this.name, Atomics.load(i32, INTENT_WORD), 'intent');
    if (((this.position - this.oldest) >>> 0) > this.capacity || ((this.intent - this.position) >>> 0) > this.capacity
      || ((this.intent - this.oldest) >>> 0) > this.capacity) {
      throw corrupt(this.name, `positions oldest ${this.oldest >>> 0}, tail ${this.position >>> 0}, intent ${this.intent >>> 0} are impossible together`);
    }
    this.i32[WRITTEN_WORD] = this.position;
    this.publishedPosition = this.position;
    this.wokenAt = this.position;
    this.sent = validCount(this.f64[MESSAGES_SENT_SLOT]);
    Atomics.store(i32, layout.OFF_SENDER_PID >> 2, process.pid);
  }

  peerPid(): number {
    return 0;
  }

  parkSliceMs(): number {
    // A lag limit is judged after park slices: slices of a quarter of it, at least 1 ms.
    return this.lagLimit === Infinity ? PARK_SLICE_MS : Math.max(1, Math.min(PARK_SLICE_MS, Math.floor(this.lagLimit / 4)));
  }

  get pendingClaims(): number {
    return this.uncommitted;
  }

  /**
   * 'block': the cursor of the joined receiver furthest behind `this.position` (setting
   * blockedBy), or undefined when none is joined. A cursor that cannot be right (ahead of
   * us, more than a ring behind, misaligned) is a receiver breaking the protocol: it does not
   * hold the sender back.
   */
  private slowest(): number | undefined {
    const i32 = this.i32;
    let lag = -1;
    let cursor = 0;
    for (let slot = 0; slot < layout.MAX_SLOTS; slot++) {
      if (!joined(i32, slot)) continue;
      const at = Atomics.load(i32, slotField(slot, layout.SLOT_CURSOR) >> 2);
      const behind = (this.position - at) >>> 0;
      if (behind > this.capacity || (at & ALIGN_MASK) !== 0) continue;
      if (behind > lag) {
        lag = behind;
        cursor = at;
        this.blockedBy = slot;
      }
    }
    return lag < 0 ? undefined : cursor;
  }

  /**
   * Makes I reach `end` (layout.h, "send"): false when a joined receiver is too far behind
   * ('block'). O moves past what the new I lets the sender overwrite, before I is stored.
   */
  private raiseIntent(end: number): boolean {
    const capacity = this.capacity;
    const ahead = (this.position + this.step) | 0;
    let next = ((ahead - end) | 0) > 0 ? ahead : end;
    if (!this.drop) {
      const slowest = this.slowest();
      if (slowest !== undefined) {
        const limit = (slowest + capacity) | 0;
        if (((end - limit) | 0) > 0) return this.blocked(end);
        if (((next - limit) | 0) > 0) next = limit;
      }
    }
    const floor = (next - capacity) | 0;
    if (((floor - this.publishedPosition) | 0) > 0) {
      // O may not pass the tail receivers see: what we hold back goes out first (claims not
      // yet committed cannot: the ring is full for now).
      if (this.uncommitted !== 0) return this.blocked(end);
      this.publish(this.position);
    }
    this.advanceOldest(floor);
    const before = this.intent;
    // seq_cst: before any byte past the old I is written (receivers load I after reading).
    Atomics.store(this.i32, INTENT_WORD, next);
    if (!this.drop) {
      // A receiver that joined while we looked stored its cursor and then loads I: either it
      // sees this I and starts later, or we see its cursor now (a Dekker pair).
      const slowest = this.slowest();
      if (slowest !== undefined && ((next - ((slowest + capacity) | 0)) | 0) > 0) {
        const limit = (slowest + capacity) | 0;
        if (((end - limit) | 0) > 0) {
          Atomics.store(this.i32, INTENT_WORD, before);
          return this.blocked(end);
        }
        next = limit;
        Atomics.store(this.i32, INTENT_WORD, next);
      }
    }
    this.intent = next;
    return true;
  }

  /** Notes what a full ring waits for; always false. */
  private blocked(end: number): boolean {
    if (this.blockedEnd !== end || this.blockedSince === 0) this.blockedSince = performance.now();
    this.blockedEnd = end;
    return false;
  }

  /**
   * Moves O to the first record at or after `floor` (the sender reads the headers it wrote,
   * checking each: the mapping is shared) and stores it, seq_cst, before I is raised.
   */
  private advanceOldest(floor: number): void {
    let oldest = this.oldest;
    if (((floor - oldest) | 0) <= 0) return;
    const i32 = this.i32;
    while (((floor - oldest) | 0) > 0 && oldest !== this.position) {
      const offset = oldest & this.mask;
      const word = i32[(HEADER_SIZE + offset) >> 2];
      let size: number;
      if (word === PADDING) {
        size = this.capacity - offset;
      } else {
        const length = payloadLength(word, this.view.maxMessageSize);
        if (length < 0 || length > this.view.maxMessage || RECORD_HEADER_SIZE + length > this.capacity - offset) {
          throw corrupt(this.name, `record length word ${word >>> 0} at ring offset ${offset} (written by this sender) changed`);
        }
        size = recordBytes(length);
      }
      if (((oldest + size - this.position) | 0) > 0) throw corrupt(this.name, 'a record runs past the tail');
      oldest = (oldest + size) | 0;
    }
    this.oldest = oldest;
    Atomics.store(i32, OLDEST_WORD, oldest);
  }

  /**
   * Room for `size` bytes at our position: the mapping offset of the record's header, or -1
   * (full: 'block' only). A record that would straddle the end of the ring is preceded by a
   * padding record, published on its own so receivers can pass it while the sender waits.
   */
  private claim(size: number): number {
    let position = this.position;
    const offset = position & this.mask;
    const tail = this.capacity - offset;
    // 'drop': I also covers the next record's header, where publish() notes its sequence number.
    const reserve = this.drop ? RECORD_HEADER_SIZE : 0;
    if (size > tail) {
      const padded = (position + tail) | 0;
      if (((padded + reserve - this.intent) | 0) > 0 && !this.raiseIntent((padded + reserve) | 0)) return -1;
      this.i32[(HEADER_SIZE + offset) >> 2] = PADDING;
      this.i32[((HEADER_SIZE + offset) >> 2) + 1] = this.sent | 0;
      position = padded;
      this.position = position;
      this.i32[WRITTEN_WORD] = position;
      if (this.uncommitted === 0) this.publish(position);
    }
    const end = (position + size + reserve) | 0;
    if (((end - this.intent) | 0) > 0 && !this.raiseIntent(end)) return -1;
    this.blockedSince = 0;
    return HEADER_SIZE + (position & this.mask);
  }

  private publish(position: number, holdWake = true): void {
    this.publishedPosition = position;
    this.unpublished = 0;
    this.host.published();
    // 'drop': the header at the tail carries the next record's sequence number before that
    // record is written, so a receiver joining at the tail knows where it starts counting
    // what it misses (claim() made I cover it).
    if (this.drop) this.i32[((HEADER_SIZE + (position & this.mask)) >> 2) + 1] = this.sent | 0;
    this.f64[MESSAGES_SENT_SLOT] = this.sent; // plain: published by the store below
    // seq_cst store: publishes the records written before it, and orders the mask loads of
    // the wake after it.
    Atomics.store(this.i32, PRODUCER_WORD, position);
    // Receivers parked that could not all run beside this thread anyway (as many as the CPUs
    // it may use, or more) are woken once a quarter of the ring waits for them, or when this
    // task ends or this thread waits, not at every publish of the task: each wake is a
    // system call that makes every sleeper runnable, and they would take turns on the CPUs
    // with the sender (S10: a quarter of the sender's time went to wakes). The first publish
    // of a task wakes them at once.
    if (holdWake && this.host.flushQueued && ((position - this.wokenAt) | 0) < this.publishBytes) {
      const parked = parkedCount(this.i32, PARKED_RECEIVERS);
      if (parked > 1 && parked >= this.cpus()) {
        this.wakeOwed = true;
        this.host.publishLater();
        return;
      }
    }
    this.wakeOwed = false;
    this.wokenAt = position;
    this.doorbell.wakePeers();
  }

  /** The CPUs this thread may use, looked up again every 1024 calls (not a clock read per publish). */
  private cpus(): number {
    if (++this.cpusAge >= 1024 || this.cpuCount === 0) {
      this.cpusAge = 0;
      this.cpuCount = cpusForThisProcess();
    }
    return this.cpuCount;
  }

  publishNow(): void {
    if (this.uncommitted === 0 && this.position !== this.publishedPosition) {
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
    const header = this.claim(size);
    if (header < 0) {
      this.publishNow(); // what is held back goes out, so receivers can make room
      return false;
    }
    const i32 = this.i32;
    i32[header >> 2] = length;
    i32[(header >> 2) + 1] = this.sent | 0;
    if (typeof data === 'string') this.view.bytes.write(data, header + RECORD_HEADER_SIZE, length, 'utf8');
    else this.view.u8.set(data, header + RECORD_HEADER_SIZE);
    this.sent++;
    const position = (this.position + size) | 0;
    this.position = position;
    // Plain: read only by whoever takes the sender's lock after we die (layout.h, "written").
    i32[WRITTEN_WORD] = position;
    if (deferPublish) return true;
    const host = this.host;
    if (host.flushQueued && !host.spinOnly && ++this.unpublished < PUBLISH_EVERY
      && ((position - this.publishedPosition) | 0) < this.publishBytes
      && (Atomics.load(i32, PARKED_RECEIVERS[0] >> 2) | Atomics.load(i32, PARKED_RECEIVERS[1] >> 2)) === 0) {
      host.publishLater(); // not the first of this task, and nobody parked: goes with the next publish
      return true;
    }
    this.publish(position);
    host.endOfTask();
    return true;
  }

  /**
   * A message longer than a record carries: as many of its fragments as fit now, each
   * published as it is written and carrying the message's sequence number. False until the
   * last one is written.
   */
  private writeFragments(data: Message, length: number): boolean {
    let out = this.outgoing;
    if (out === undefined || out.source !== data) {
      out = new Outgoing(data, length, this.capacity / 4 - RECORD_HEADER_SIZE);
      this.outgoing = out;
    }
    const i32 = this.i32;
    for (;;) {
      out.next(this.capacity - (this.position & this.mask));
      const size = recordBytes(out.chunk);
      const header = this.claim(size);
      if (header < 0) {
        this.publishNow();
        return false;
      }
      i32[header >> 2] = out.word;
      i32[(header >> 2) + 1] = this.sent | 0;
      const last = out.fill(this.view.u8, i32, header + RECORD_HEADER_SIZE);
      const position = (this.position + size) | 0;
      this.position = position;
      i32[WRITTEN_WORD] = position;
      if (last) {
        this.outgoing = undefined;
        this.sent++;
        this.publish(position);
        this.host.endOfTask();
        return true;
      }
      if (out.done !== 0) this.publish(position); // the start record goes with the first data record
    }
  }

  abandon(data: Message): void {
    if (this.outgoing?.source === data) this.outgoing = undefined;
  }

  sendMany(messages: readonly Message[], start: number, end: number): number {
    const sent = writeEach(this, messages, start, end, this.maxMessage, this.maxRecord, this.view.name);
    if (sent !== 0) {
      this.publish(this.position);
      this.host.endOfTask(); // marks where this task ends: until then, wakes may be held (publish())
    }
    return sent;
  }

  tryClaim(length: number, queued: boolean): number {
    if (queued) return -1;
    if (this.uncommitted === 0 && this.position !== this.publishedPosition) this.publish(this.position);
    const size = recordBytes(length);
    const header = this.claim(size);
    if (header < 0) return -1;
    this.claimedHeader = header;
    this.i32[header >> 2] = length;
    this.i32[(header >> 2) + 1] = this.sent | 0;
    this.sent++;
    this.position = (this.position + size) | 0;
    this.uncommitted++;
    return header + RECORD_HEADER_SIZE;
  }

  commit(): void {
    if (this.uncommitted === 0) return;
    this.uncommitted = 0;
    this.i32[WRITTEN_WORD] = this.position;
    this.publish(this.position);
  }

  endedElsewhere(): boolean {
    return false;
  }

  signalEnd(): void {
    // seq_cst, after the last tail store: a receiver that sees it and then reaches the tail has everything.
    Atomics.or(this.i32, STATE_WORD, STATE_ENDED);
    this.doorbell.wakePeers();
  }

  releaseRing(): void {
    // Claims never committed are dropped: the tail never covered them.
  }

  /** Ready when the receiver holding the blocked send back has moved (or left, or was cut off). */
  isReady(): boolean {
    const slowest = this.slowest();
    return slowest === undefined || ((this.blockedEnd - ((slowest + this.capacity) | 0)) | 0) <= 0;
  }

  /**
   * While a send waits: a receiver that died holding it back is cut off (its slot stays,
   * with its pid, for stats and gc); one alive that has held it back for lagLimit ms is cut
   * off too, and learns it at its next receive.
   */
  checkLiveness(): void {
    this.reconciler.reconcile();
    for (let i = 0; i < layout.MAX_SLOTS && !this.isReady(); i++) {
      const slot = this.blockedBy;
      if (slot < 0 || !joined(this.i32, slot)) return;
      const segment = this.view.segment;
      const pidWord = slotField(slot, layout.SLOT_PID) >> 2;
      const pid = Atomics.load(this.i32, pidWord);
      const stalled = performance.now() - this.blockedSince >= this.lagLimit;
      if (segment.lock(layout.SLOT_LOCK_BASE + slot)) {
        // Dead (or gone): cut off under its lock, if it is still the one we judged, so a
        // receiver taking the slot meanwhile cannot inherit the cut.
        try {
          if (Atomics.load(this.i32, pidWord) !== pid || !joined(this.i32, slot)) continue;
          debug('sender of %s: receiver in slot %d (pid %d) died without closing; cut off', this.name, slot, pid);
          Atomics.store(this.i32, slotField(slot, layout.SLOT_CUT) >> 2, 1);
        } finally {
          segment.unlock(layout.SLOT_LOCK_BASE + slot);
        }
      } else if (stalled) {
        debug('sender of %s: receiver in slot %d (pid %d) held it back %d ms; cut off', this.name, slot, pid, this.lagLimit);
        Atomics.store(this.i32, slotField(slot, layout.SLOT_CUT) >> 2, 1);
      } else {
        return;
      }
      this.blockedSince = performance.now();
      this.doorbell.wakePeers(); // a cut receiver parked learns at once
    }
  }
}

/** The receiving end of a broadcast channel. */
export class BroadcastReceiverProtocol implements ReceiverProtocol {
  readonly mode = 'broadcast';
  readonly pidOffset: number;
  readonly doorbell: EpochToFlagDoorbell;
  readonly stableViews: boolean;
  recordLength = 0;
  pollLeft = 0;
  source: Uint8Array;
  /**
   * A message coming in fragments (and its sequence number), whether one is whole and not
   * yet released (in `source`), and whether nothing but the rest of a message begun before
   * this receiver joined has been read since it joined (that message is not counted as lost).
   */
  private readonly assembly: Assembly;
  private assemblySequence = 0;
  private assembled = false;
  private fresh = true;
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly capacity: number;
  private readonly mask: number;
  private readonly maxMessage: number;
  /** The longest whole record a sender of this channel writes: min(one record's most, maxMessageSize). */
  private readonly maxWhole: number;
  private readonly name: string;
  private readonly drop: boolean;
  private readonly slot: number;
  private readonly cursorWord: number;
  private readonly cutWord: number;
  private readonly countSlot: number;
  private readonly lostSlot: number;
  private readonly publishBytes: number;
  private readonly reconciler: ParkedReconciler;
  /** Where we read next, what our slot says, and the tail as last read. */
  private position: number;
  private publishedPosition: number;
  private cachedTail: number;
  private unpublished = 0;
  /** The sequence number of the record peek() returned, and the one expected next. */
  private recordSequence = 0;
  private expected = 0;
  private started = false;
  private received: number;
  /** Messages this receiver missed (the sender wrote over them before it read them). */
  lost = 0;
  /** The pid of the dead sender whose lock another endpoint took before us (0: none). */
  private repairedByOther = 0;

  constructor(private readonly view: RingView, private readonly host: EndpointHost, fromOldest: boolean) {
    const i32 = view.i32;
    this.i32 = i32;
    this.f64 = view.f64;
    this.capacity = view.capacity;
    this.mask = view.mask;
    this.maxMessage = view.maxMessage;
    this.maxWhole = Math.min(view.maxMessage, view.maxMessageSize);
    this.name = view.name;
    this.source = view.u8;
    this.assembly = new Assembly(view.maxMessageSize);
    this.drop = (view.flags & layout.FLAG_OVERFLOW_DROP) !== 0;
    // poll() hands out copies: with 'drop' the sender may overwrite a record under a view at
    // any time, and with 'block' once it cuts this receiver off (its lagLimit).
    this.stableViews = false;
    this.publishBytes = view.capacity >>> 2;
    // The tail our slot's cursor starts at, loaded before the slot counts: 'next' joins there.
    let firstCursor = 0;
    this.slot = openSlot(view, layout.KIND_RECEIVER, {
      mode: 'broadcast', retireEveryReuse: true, parked: [PARKED_RECEIVERS],
      // A cursor the sender may rely on before the join settles it (the tail: never behind
      // what it must keep), and no cut left by an earlier holder, before the slot counts.
      beforeJoin: (slot) => {
        firstCursor = Atomics.load(i32, PRODUCER_WORD);
        Atomics.store(i32, slotField(slot, layout.SLOT_CURSOR) >> 2, firstCursor);
        Atomics.store(i32, slotField(slot, layout.SLOT_CUT) >> 2, 0);
      },
    });
    this.pidOffset = slotField(this.slot, layout.SLOT_PID);
    this.cursorWord = slotField(this.slot, layout.SLOT_CURSOR) >> 2;
    this.cutWord = slotField(this.slot, layout.SLOT_CUT) >> 2;
    this.countSlot = slotField(this.slot, layout.SLOT_MESSAGES) >> 3;
    this.lostSlot = slotField(this.slot, layout.SLOT_LOST) >> 3;
    this.f64[this.lostSlot] = 0;
    this.received = 0;
    this.reconciler = new ParkedReconciler(view, this.slot, [PARKED_RECEIVERS]);
    this.doorbell = new EpochToFlagDoorbell(i32, view.segment, layout.OFF_DATA_SIGNAL, PARKED_RECEIVERS,
      layout.OFF_SPACE_SIGNAL, layout.OFF_SENDER_WAITERS, this.slot);
    this.position = this.join(fromOldest, firstCursor);
    this.publishedPosition = this.position;
    this.cachedTail = this.position;
    // A sender that parked while our cursor was the tail of an earlier instant re-checks now.
    this.doorbell.wakePeers();
  }

  /**
   * layout.h, "join": the cursor is stored, then I loaded; if the sender may already be
   * writing over it, O has moved (the sender stores O before I) and the join starts again,
   * from O. 'next' first tries `firstCursor`, the tail our slot's cursor started at (loaded
   * before the slot counted): a message published once the slot counts (stats() lists it,
   * a 'block' sender waits for it) is never behind where we start.
   */
  private join(fromOldest: boolean, firstCursor: number): number {
    const i32 = this.i32;
    const settle = new Settle();
    for (let first = !fromOldest; ; first = false) {
      const at = first
        ? aligned(this.name, firstCursor, 'tail')
        : aligned(this.name, Atomics.load(i32, OLDEST_WORD), 'oldest position');
      Atomics.store(i32, this.cursorWord, at);
      // 'drop': the header there names the sequence number of the first message we can get
      // (publish()), so messages lost before our first one count too.
      const sequence = i32[((HEADER_SIZE + (at & this.mask)) >> 2) + 1];
      if (((Atomics.load(i32, INTENT_WORD) - at) >>> 0) <= this.capacity) {
        this.expected = sequence;
        this.started = this.drop;
        return at;
      }
      // Lapped: our first cursor is at once given up for O (the sender stored O before I).
      if (!first && !settle.wait()) throw corrupt(this.name, `the oldest position ${at >>> 0} stays behind the intent`);
    }
  }

  peerPid(): number {
    return Atomics.load(this.i32, layout.OFF_SENDER_PID >> 2);
  }

  parkSliceMs(): number {
    // Another receiver is repairing what the dead sender left: look again soon.
    return this.repairedByOther !== 0 ? Math.min(PEER_CHECK_MS, PARK_SLICE_MS) : PARK_SLICE_MS;
  }

  /** Whether the sender may have written over the record at our position (I is past it by more than a ring). */
  private lapped(): boolean {
    return ((Atomics.load(this.i32, INTENT_WORD) - this.position) >>> 0) > this.capacity;
  }

  /**
   * Our position is (or may be) overwritten: 'drop', skip to O, the oldest record still
   * there (the messages skipped count in `lost` when the next one arrives); 'block', we were
   * cut off (ERR_RINGWIRE_CUT_OFF), or I was raised past us for an instant while we joined.
   */
  private onLapped(): void {
    const i32 = this.i32;
    const settle = new Settle();
    if (!this.drop) {
      let checked = performance.now();
      for (;;) {
        if (Atomics.load(i32, this.cutWord) !== 0) throw cutOff(this.name);
        if (!this.lapped()) return;
        // A sender that died between raising I and lowering it left it past us: settle it
        // under its lock (nothing was written past the bound).
        if (performance.now() - checked >= PEER_CHECK_MS) {
          checked = performance.now();
          if (senderDead(this.view)) adoptDeadSender(this.view, false);
        }
        if (!settle.wait()) {
          if (Atomics.load(i32, this.cutWord) !== 0) throw cutOff(this.name);
          throw corrupt(this.name, `the intent ${Atomics.load(i32, INTENT_WORD) >>> 0} is past a receiver the sender must wait for (${this.position >>> 0})`);
        }
      }
    }
    // What was put together of a message is lost with it (the rest of it is skipped, and the
    // gap counted, when the next message arrives).
    this.assembly.drop();
    this.fresh = false;
    for (;;) {
      const oldest = Atomics.load(i32, OLDEST_WORD);
      const tail = Atomics.load(i32, PRODUCER_WORD);
      // A true lap moved O past us (the sender moves O past I - capacity before it stores I):
      // an O at or behind us means I lies behind the tail, which no sender writes.
      if ((oldest & ALIGN_MASK) === 0 && ((tail - oldest) >>> 0) <= this.capacity && ((oldest - this.position) | 0) > 0) {
        this.position = oldest;
        this.cachedTail = oldest;
        if (!this.lapped()) break;
      }
      if (!settle.wait()) throw corrupt(this.name, `the oldest position ${oldest >>> 0} is impossible with tail ${tail >>> 0}`);
    }
    debug('receiver of %s was lapped; goes on from %d', this.name, this.position >>> 0);
    this.publishCursor();
  }

  peek(): number {
    if (this.assembled) {
      this.recordLength = this.assembly.total;
      return 0;
    }
    const i32 = this.i32;
    for (;;) {
      let available = (this.cachedTail - this.position) | 0;
      if (available === 0) {
        const tail = Atomics.load(i32, PRODUCER_WORD);
        available = (tail - this.position) | 0;
        if (available === 0) {
          if (Atomics.load(i32, this.cutWord) !== 0) throw cutOff(this.name);
          this.publishCursor();
          return -1;
        }
        if (available < 0 || available > this.capacity || (available & ALIGN_MASK) !== 0) {
          if (this.lapped()) {
            this.onLapped();
            continue;
          }
          throw corrupt(this.name, `tail ${tail >>> 0} is impossible with a receiver at ${this.position >>> 0}`);
        }
        this.cachedTail = tail;
      }
      const offset = this.position & this.mask;
      const index = (HEADER_SIZE + offset) >> 2;
      const word = i32[index];
      const sequence = i32[index + 1];
      let size: number;
      if (word === PADDING) {
        size = this.capacity - offset;
      } else if (word < 0) {
        if (this.fragment(word, sequence, offset, available)) return 0;
        continue;
      } else {
        const length = word;
        size = length > this.maxWhole || RECORD_HEADER_SIZE + length > this.capacity - offset ? -1 : recordBytes(length);
        if (size > 0 && size <= available) {
          // A whole record: a message begun before it was given up by its sender (layout.h, "Fragments").
          if (this.assembly.buffer !== undefined) this.assembly.drop();
          this.fresh = false;
          this.recordLength = length;
          this.recordSequence = sequence;
          return HEADER_SIZE + offset;
        }
      }
      if (size < 0 || size > available) {
        if (this.lapped()) {
          this.onLapped();
          continue;
        }
        throw corrupt(this.name, `record length ${word >>> 0} at ring offset ${offset} exceeds what was published`);
      }
      // Padding: passed like a record (checked against I like one, since it was read).
      if (this.lapped()) {
        this.onLapped();
        continue;
      }
      this.advance(size, false);
    }
  }

  /**
   * A fragment record at our position (layout.h, "Fragments"), read as any record is: checked,
   * copied into the message being put together, then trusted only if I says the sender cannot
   * have written over it meanwhile. True once that message is whole (then `source` holds it).
   */
  private fragment(word: number, sequence: number, offset: number, available: number): boolean {
    const i32 = this.i32;
    const assembly = this.assembly;
    const n = word & FRAGMENT_LENGTH_MASK;
    const size = recordBytes(n);
    const first = (word & FRAGMENT_FIRST) !== 0;
    const last = (word & FRAGMENT_LAST) !== 0;
    const total = first ? i32[((HEADER_SIZE + offset) >> 2) + 2] >>> 0 : 0;
    const valid = n <= this.maxMessage && RECORD_HEADER_SIZE + n <= this.capacity - offset && size <= available
      && (first ? word === START_WORD && assembly.canStart(total)
        : assembly.buffer === undefined || (assembly.fits(n, last) && sequence === this.assemblySequence));
    const filled = assembly.filled;
    if (valid && !first && assembly.buffer !== undefined) assembly.append(this.view.u8, HEADER_SIZE + offset + RECORD_HEADER_SIZE, n);
    // seq_cst load after the copy, as release() does for a whole record.
    if (this.lapped()) {
      this.onLapped();
      // 'block' (I raised past us for an instant while we joined): the record is read again.
      assembly.filled = filled;
      return false;
    }
    if (!valid) {
      throw corrupt(this.name, `a malformed fragment (word ${word >>> 0}, sequence ${sequence >>> 0}) at ring offset ${offset}`);
    }
    this.advance(size, false);
    if (first) {
      assembly.start(total);
      this.assemblySequence = sequence;
      this.fresh = false;
      return false;
    }
    if (assembly.buffer === undefined) {
      // The rest of a message begun before we joined (not counted as lost: it was never ours),
      // or before a lap (counted with the gap when the next message arrives).
      if (this.fresh) this.expected = (sequence + 1) | 0;
      return false;
    }
    if (!last) return false;
    this.source = assembly.finish();
    this.assembled = true;
    this.recordLength = assembly.total;
    this.recordSequence = sequence;
    return true;
  }

  acquire(): boolean {
    return true;
  }

  release(_offset: number, length: number, inBatch: boolean, copied = false): boolean {
    if (this.assembled) {
      // Put together from fragments, each checked as it was copied.
      this.assembled = false;
      if (copied) this.assembly.giveBack(this.source);
      this.source = this.view.u8;
      this.count(this.recordSequence);
      this.f64[this.countSlot] = this.received; // its last record's position may be published already
      return true;
    }
    // seq_cst load after the copy (x86 keeps loads in order; C++ adds an acquire fence).
    if (this.lapped()) {
      this.onLapped();
      return false;
    }
    this.count(this.recordSequence);
    this.advance(recordBytes(length), inBatch);
    return true;
  }

  /** A message with this sequence number is handed out: what was skipped before it counts as lost. */
  private count(sequence: number): void {
    if (this.started) {
      const missed = (sequence - this.expected) >>> 0;
      if (missed !== 0 && missed < 0x80000000) {
        this.lost += missed;
        this.f64[this.lostSlot] = this.lost;
      }
    }
    this.started = true;
    this.expected = (sequence + 1) | 0;
    this.received++;
  }

  private advance(size: number, inBatch: boolean): void {
    this.position = (this.position + size) | 0;
    if ((++this.unpublished >= PUBLISH_EVERY && !inBatch)
      || ((this.position - this.publishedPosition) | 0) >= this.publishBytes) {
      this.publishCursor();
    } else {
      this.host.publishLater();
    }
  }

  private publishCursor(): void {
    this.host.published();
    if (this.position === this.publishedPosition) return;
    this.publishedPosition = this.position;
    this.unpublished = 0;
    this.f64[this.countSlot] = this.received; // plain: published by the store below
    // seq_cst: the sender may reuse what is before it; orders the waiter load in wakePeers.
    Atomics.store(this.i32, this.cursorWord, this.position);
    this.doorbell.wakePeers();
  }

  publishNow(): void {
    this.publishCursor();
  }

  finishBatch(): void {
    this.publishCursor();
  }

  isReady(): boolean {
    return this.assembled || Atomics.load(this.i32, PRODUCER_WORD) !== this.position
      || (Atomics.load(this.i32, STATE_WORD) & STATE_ENDED) !== 0 || Atomics.load(this.i32, this.cutWord) !== 0;
  }

  drainedAndEnded(): boolean {
    return !this.assembled && (Atomics.load(this.i32, STATE_WORD) & STATE_ENDED) !== 0
      && Atomics.load(this.i32, PRODUCER_WORD) === this.position;
  }

  /**
   * Cut off: say so. The sender died without closing: as SPSC (what it wrote is adopted first,
   * under its lock), then ERR_RINGWIRE_PEER_DEAD if nothing is left to read, but only after a
   * repair of our own: another receiver that took the lock first may be publishing records we
   * have not seen yet (models/broadcast.pml, FINDINGS 1). Then we park for PEER_CHECK_MS, not a
   * whole slice, and look again.
   */
  checkLiveness(): void {
    this.reconciler.reconcile();
    if (Atomics.load(this.i32, this.cutWord) !== 0) throw cutOff(this.name);
    const i32 = this.i32;
    const segment = this.view.segment;
    const pid = Atomics.load(i32, layout.OFF_SENDER_PID >> 2);
    // A new sender (its own pid), or none: nobody is repairing the one we found dead.
    if (pid !== this.repairedByOther) this.repairedByOther = 0;
    if (pid === 0 || segment.isLockedByOther(layout.ROLE_SENDER)) return;
    if (Atomics.load(i32, layout.OFF_SENDER_PID >> 2) !== pid) return;
    debug('receiver of %s: its sender (pid %d) died without closing', this.name, pid);
    if (!adoptDeadSender(this.view, this.drop)) {
      this.repairedByOther = pid;
      return;
    }
    this.repairedByOther = 0;
    if (this.isReady()) return;
    throw new RingwireError('ERR_RINGWIRE_PEER_DEAD',
      `the sender of broadcast channel '${this.name}' (pid ${pid}) exited without closing; `
      + 'nothing more will arrive from it (a new sender may open the channel)');
  }

  /** Leaving: the slot no longer counts for the sender (pid cleared first), which is woken. */
  releaseRing(): void {
    this.publishCursor();
    Atomics.compareExchange(this.i32, this.pidOffset >> 2, process.pid, 0);
    this.doorbell.wakePeers();
  }
}
