// MPMC endpoints: the protocol of layout.h ("MPMC protocol") in JavaScript. Any number of
// senders and receivers (up to MAX_SLOTS in all) share one ring: senders claim a record (or
// a batch's run of records) by a CAS on its header, receivers take records by a CAS on the
// take position, and space comes back to the senders in ring order as records are released. Nothing read from the segment
// is trusted: every length and position is checked before use, and an impossible one is
// re-read (it may just be stale) before it is reported as ERR_RINGWIRE_CORRUPT.
import { writeSync } from 'node:fs';
import { debug } from '../debug.js';
import { corrupt, invalidArg, RingwireError, streamEnded } from '../errors.js';
import { layout, type NativeSegment } from '../native.js';
import { type EndpointHost, measure, type Message, type ReceiverProtocol, type SenderProtocol } from './contract.js';
import {
  ALIGN_MASK, HEADER_SIZE, PARK_SLICE_MS, PARKED_RECEIVERS, PARKED_SENDERS, parkedBit, parkedIndex,
  RECORD_HEADER_SIZE, STATE_ENDED, STATE_WORD, validCount,
} from './layout.js';
import type { RingView } from './segment.js';
import { openSlot, ParkedReconciler, type PeerCount, peers, slotField } from './slots.js';
import { EpochDoorbell, wakeEpoch } from './wait.js';

const CLAIM_WORD = layout.OFF_CLAIM_POSITION >> 2;
const TAKE_WORD = layout.OFF_TAKE_POSITION >> 2;
const RELEASE_WORD = layout.OFF_RELEASE_POSITION >> 2;
const STATE_MASK = layout.STATE_MASK;
const SLOT_SHIFT = layout.SLOT_SHIFT;
const FREE = layout.REC_FREE;
const CLAIMED = layout.REC_CLAIMED;
const COMMITTED = layout.REC_COMMITTED;
const RELEASED = layout.REC_RELEASED;
const ABANDONED = layout.REC_ABANDONED;
/** A batch claims at most this many bytes of records at once. */
const BATCH_BYTES = 1 << 16;
/**
 * A receiver wakes parked senders once it has released an eighth of the ring since it last
 * did (or at the end of the current JavaScript task, or before it blocks, whichever comes
 * first), not after each record: a wake is a system call, and a sender woken for one
 * record's space parks again at once.
 */
const WAKE_FRACTION_SHIFT = 3;
/** word0 of a skip record, as Int32Array reads it: negative. */
const SKIP = layout.SKIP | 0;
/** The slot field of a record's word1 (shift right by SLOT_SHIFT for the slot). */
const SLOT_FIELD_MASK = layout.SLOT_FIELD_MASK;
/** word0 of a skip record without its SKIP bit: the record's size. */
const SKIP_SIZE_MASK = ~layout.SKIP;

/**
 * Test-only: a sender stops for good right after its Nth claim, before writing or
 * committing it (RINGWIRE_TEST_STALL_AFTER_CLAIM=N), so a test can kill it exactly between
 * claim and commit. It writes "stalled\n" to stdout first.
 */
const STALL_AFTER_CLAIM = Number(process.env.RINGWIRE_TEST_STALL_AFTER_CLAIM ?? 0) | 0;
/** Test-only, likewise: a receiver stops for good right after taking its Nth message. */
const STALL_AFTER_TAKE = Number(process.env.RINGWIRE_TEST_STALL_AFTER_TAKE ?? 0) | 0;

/** MPMC's parked masks: receivers' and senders' (a bit per slot each). */
const PARKED_MASKS = [PARKED_RECEIVERS, PARKED_SENDERS];

function stallForever(): never {
  writeSync(1, 'stalled\n');
  for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}

/** A record header's two words as one 64-bit value (word0 is the low half). */
function pack(word0: number, word1: number): bigint {
  return BigInt.asIntN(64, (BigInt(word1) << 32n) | BigInt(word0 >>> 0));
}


/**
 * The ring as one endpoint sees it: its slot, the shared positions, and the steps both
 * kinds of endpoint take (validating, releasing, repairing what dead endpoints left).
 */
class MpmcRing {
  readonly slot: number;
  readonly intentWord: number;
  readonly sizeWord: number;
  readonly countSlot: number;
  readonly ownerBits: number;
  private readonly big64: BigInt64Array;
  private readonly mask: number;
  private freeLap = 0;
  private freeValue = 0n;
  private readonly view: RingView;
  private readonly reconciler: ParkedReconciler;

  private readonly segment: NativeSegment;
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly capacity: number;
  /** The longest record a sender of this channel writes: min(one record's most, maxMessageSize). */
  private readonly maxMessage: number;
  private readonly name: string;

  constructor(view: RingView, kind: number) {
    this.segment = view.segment;
    this.i32 = view.i32;
    this.f64 = view.f64;
    this.capacity = view.capacity;
    this.maxMessage = Math.min(view.maxMessage, view.maxMessageSize);
    this.name = view.name;
    this.big64 = new BigInt64Array(view.segment.buffer);
    this.mask = view.mask;
    this.view = view;
    this.slot = openSlot(view, kind, { mode: 'mpmc', parked: PARKED_MASKS, takeOver: (slot) => this.repairSlot(slot) });
    this.reconciler = new ParkedReconciler(view, this.slot, PARKED_MASKS);
    this.intentWord = slotField(this.slot, layout.SLOT_INTENT) >> 2;
    this.sizeWord = slotField(this.slot, layout.SLOT_SIZE_OR_END) >> 2;
    this.countSlot = slotField(this.slot, layout.SLOT_MESSAGES) >> 3;
    this.ownerBits = this.slot << SLOT_SHIFT;
  }

  get pidOffset(): number {
    return slotField(this.slot, layout.SLOT_PID);
  }

  /**
   * Int32Array index of the header (word0) of the record at `position`, which was read from
   * the segment: a position that is not 8-byte aligned names no header (and its word1 could
   * lie past the end of the ring), so it is ERR_RINGWIRE_CORRUPT. Positions are never
   * misaligned in passing, so there is nothing to re-read.
   */
  headerWord(position: number): number {
    if ((position & ALIGN_MASK) !== 0) throw corrupt(this.name, `position ${position >>> 0} is not ${ALIGN_MASK + 1}-byte aligned`);
    return (HEADER_SIZE + (position & this.mask)) >> 2;
  }

  /** Whether `word1` is the header of a record (not FREE) at a position of lap `lap`. */
  isRecordOfLap(word1: number, lap: number): boolean {
    return (word1 & ~this.mask) === lap && (word1 & STATE_MASK) !== FREE;
  }

  /**
   * The size in bytes of the record whose word0 is `word0`, starting at ring offset
   * `offset`; -1 if no valid record could say that.
   */
  recordSize(word0: number, offset: number): number {
    let size: number;
    if (word0 < 0) {
      size = word0 & SKIP_SIZE_MASK;
      if (size < RECORD_HEADER_SIZE || (size & ALIGN_MASK) !== 0) return -1;
    } else {
      if (word0 > this.maxMessage) return -1;
      size = (RECORD_HEADER_SIZE + word0 + ALIGN_MASK) & ~ALIGN_MASK;
    }
    return size <= this.capacity - offset ? size : -1;
  }

  /**
   * The size of the claim at `position` (word1 `word1`, CLAIMED), from its owner's slot: the
   * owner stored it before claiming and keeps it until its next claim. -1 if the slot does
   * not say so (the claim has moved on meanwhile, or a peer wrote nonsense).
   */
  claimSize(position: number, word1: number): number {
    const owner = (word1 & SLOT_FIELD_MASK) >>> SLOT_SHIFT;
    if (owner >= layout.MAX_SLOTS) return -1;
    if (Atomics.load(this.i32, slotField(owner, layout.SLOT_INTENT) >> 2) !== (position | layout.INTENT_VALID)) return -1;
    const size = Atomics.load(this.i32, slotField(owner, layout.SLOT_SIZE_OR_END) >> 2);
    if (size < RECORD_HEADER_SIZE || (size & ALIGN_MASK) !== 0 || size > this.capacity - (position & this.mask)) return -1;
    return size;
  }

  /** Throws ERR_RINGWIRE_CORRUPT unless the shared word at `index` moved on from `seen`. */
  recheck(index: number, seen: number, what: string): void {
    if (Atomics.load(this.i32, index) === seen) throw corrupt(this.name, what);
  }

  /**
   * Releases the taken record at `position` (header at mapping offset `header`, `size`
   * bytes): its body becomes FREE for the next lap, so stale bytes can never read as a
   * header; then its state. Moves R past it (and on) unless `deferR` (a batch moves R once).
   */
  release(position: number, header: number, size: number, deferR = false): void {
    const nextLap = ((position & ~this.mask) + this.capacity) | 0;
    const i32 = this.i32;
    const end = (header + size) >> 2;
    if (size <= 256) {
      // Small records: plain stores beat a BigInt fill.
      for (let i = (header + RECORD_HEADER_SIZE) >> 2; i < end; i += 2) {
        i32[i] = 0;
        i32[i + 1] = nextLap;
      }
    } else {
      if (nextLap !== this.freeLap || this.freeValue === 0n) {
        this.freeLap = nextLap;
        this.freeValue = pack(0, nextLap);
      }
      this.big64.fill(this.freeValue, (header + RECORD_HEADER_SIZE) >> 3, end >> 1);
    }
    // seq_cst: the body rewrite above happens-before any producer's claim of this space.
    Atomics.store(i32, (header >> 2) + 1, (position & ~this.mask) | this.ownerBits | RELEASED);
    // The common case, the record at R: move R past it. Records released after it out of
    // order wait for advanceRelease() (a sender short of space, or the end of a batch).
    if (!deferR && Atomics.load(i32, RELEASE_WORD) === position) {
      Atomics.compareExchange(i32, RELEASE_WORD, position, (position + size) | 0);
    }
  }

  /** Moves R over every released record at it, with one CAS per attempt. */
  advanceRelease(): void {
    const i32 = this.i32;
    for (;;) {
      const r = Atomics.load(i32, RELEASE_WORD);
      const t = Atomics.load(i32, TAKE_WORD);
      let position = r;
      // Released records are all before T; stop there (or after a lap, if T is nonsense).
      while (position !== t && ((position - r) | 0) < this.capacity) {
        const index = this.headerWord(position);
        const word1 = Atomics.load(i32, index + 1);
        if ((word1 & ~this.mask) !== (position & ~this.mask) || (word1 & STATE_MASK) !== RELEASED) break;
        const size = this.recordSize(i32[index], position & this.mask);
        if (size < 0) {
          this.recheck(RELEASE_WORD, r, `released record at position ${position >>> 0} has an impossible length`);
          break;
        }
        position = (position + size) | 0;
      }
      if (position === r || Atomics.compareExchange(i32, RELEASE_WORD, r, position) === r) return;
    }
  }

  /**
   * A sender died between claim and commit at T: once its lock is ours, its claim becomes a
   * skip record (ABANDONED) the receivers pass over. True if it repaired.
   */
  repairClaim(position: number, word1: number): boolean {
    const owner = (word1 & SLOT_FIELD_MASK) >>> SLOT_SHIFT;
    if (owner >= layout.MAX_SLOTS) {
      throw corrupt(this.name, `record at position ${position >>> 0} names endpoint slot ${owner}`);
    }
    if (owner === this.slot || !this.segment.lock(layout.SLOT_LOCK_BASE + owner)) return false;
    try {
      return this.abandon(position, word1);
    } finally {
      this.segment.unlock(layout.SLOT_LOCK_BASE + owner);
    }
  }

  /** With the owner's lock held: CLAIMED -> ABANDONED, sized from the owner's slot. */
  private abandon(position: number, word1: number): boolean {
    const index = this.headerWord(position);
    // A claim not yet released lies in [R, C]. C loaded before R: C <= R + capacity holds
    // whenever C is loaded and R only grows, so a wider window is a peer's scribble. R past C
    // (both moved on meanwhile), or a position outside the window, is no claim of now.
    const c = Atomics.load(this.i32, CLAIM_WORD);
    const r = Atomics.load(this.i32, RELEASE_WORD);
    const window = (c - r) | 0;
    if (window > this.capacity) {
      throw corrupt(this.name, `claim position ${c >>> 0} is more than a ring past release position ${r >>> 0}`);
    }
    const into = (position - r) | 0;
    if (window < 0 || into < 0 || into > window) return false;
    if (Atomics.load(this.i32, index + 1) !== word1) return false;
    // R still at or before it after the read: the record was not released, so that was its header.
    if (((position - Atomics.load(this.i32, RELEASE_WORD)) | 0) < 0) return false;
    const size = this.claimSize(position, word1);
    if (size < 0) throw corrupt(this.name, `claim at position ${position >>> 0} has no size in its owner's slot`);
    // Its sender may have died before moving C past it: do that first, so that receivers
    // passing the skip record never get ahead of C.
    Atomics.compareExchange(this.i32, CLAIM_WORD, position, (position + size) | 0);
    this.i32[index] = SKIP | size;
    if (Atomics.compareExchange(this.i32, index + 1, word1, (word1 & ~STATE_MASK) | ABANDONED) !== word1) return false;
    debug('%s: repaired the claim a dead sender (slot %d) left at position %d', this.name, (word1 & SLOT_FIELD_MASK) >>> SLOT_SHIFT, position >>> 0);
    this.wakeAll();
    return true;
  }

  /**
   * A receiver died while holding the record at R (taken, not released): once the lock of
   * the lowest dead slot whose run covers it is ours, its run is released. True if it did.
   */
  repairTaken(): boolean {
    const r = Atomics.load(this.i32, RELEASE_WORD);
    if (r === Atomics.load(this.i32, TAKE_WORD)) return false;
    const word1 = Atomics.load(this.i32, this.headerWord(r) + 1);
    const state = word1 & STATE_MASK;
    if ((word1 & ~this.mask) !== (r & ~this.mask) || (state !== COMMITTED && state !== ABANDONED)) return false;
    let dead = -1;
    for (let slot = 0; slot < layout.MAX_SLOTS; slot++) {
      if (slot === this.slot || !this.covers(slot, r)) continue;
      if (this.segment.isLockedByOther(layout.SLOT_LOCK_BASE + slot)) return false; // a live one: wait
      if (dead < 0) dead = slot;
    }
    if (dead < 0 || !this.segment.lock(layout.SLOT_LOCK_BASE + dead)) return false;
    try {
      if (!this.covers(dead, r)) return false;
      debug('%s: releasing the run a dead receiver (slot %d) held at position %d', this.name, dead, r >>> 0);
      this.releaseRun(dead);
      return true;
    } finally {
      this.segment.unlock(layout.SLOT_LOCK_BASE + dead);
    }
  }

  private coveredByOther(slot: number, position: number): boolean {
    for (let other = 0; other < layout.MAX_SLOTS; other++) {
      if (other !== slot && this.covers(other, position)) return true;
    }
    return false;
  }

  /**
   * The position `slot`'s intent names, or -1 if it has none. An intent is an aligned position
   * | INTENT_VALID: any other low bit set is a peer's scribble (ERR_RINGWIRE_CORRUPT).
   */
  private intentOf(slot: number): number {
    const intent = Atomics.load(this.i32, slotField(slot, layout.SLOT_INTENT) >> 2);
    if ((intent & layout.INTENT_VALID) === 0) return -1;
    if ((intent & ALIGN_MASK) !== layout.INTENT_VALID) throw corrupt(this.name, `endpoint slot ${slot} holds an impossible intent`);
    return intent & ~ALIGN_MASK;
  }

  /** Whether `slot` is a receiver whose intent (a taken run) covers `position`. */
  private covers(slot: number, position: number): boolean {
    if (Atomics.load(this.i32, slotField(slot, layout.SLOT_KIND) >> 2) !== layout.KIND_RECEIVER) return false;
    const start = this.intentOf(slot);
    if (start < 0) return false;
    const end = Atomics.load(this.i32, slotField(slot, layout.SLOT_SIZE_OR_END) >> 2);
    return ((position - start) | 0) >= 0 && ((end - position) | 0) > 0;
  }

  /**
   * With `slot`'s lock held: releases every record of its taken run not yet released (from
   * R on: what is before R was released), then clears its intent.
   */
  private releaseRun(slot: number, soleOwner = false): void {
    let position = this.intentOf(slot);
    if (position < 0) return;
    const end = Atomics.load(this.i32, slotField(slot, layout.SLOT_SIZE_OR_END) >> 2);
    const r = Atomics.load(this.i32, RELEASE_WORD);
    const t = Atomics.load(this.i32, TAKE_WORD);
    if (((r - position) | 0) > 0) position = r;
    if (((end - position) | 0) > this.capacity) throw corrupt(this.name, `endpoint slot ${slot} holds an impossible run`);
    // A run starts where T stood: at a record, which the walk from R meets (unless R has
    // passed it meanwhile). Released from the middle of a record, it would write into it.
    if (position !== r && !this.reachable(position, RELEASE_WORD)
      && ((Atomics.load(this.i32, RELEASE_WORD) - position) | 0) <= 0) {
      throw corrupt(this.name, `the run endpoint slot ${slot} took starts inside a record, at ${position >>> 0}`);
    }
    // Only what was taken (before T) can be this slot's; a receiver that lost its CAS on T
    // and died before clearing its intent covers records that were someone else's.
    while (((end - position) | 0) > 0 && ((t - position) | 0) > 0) {
      // Records before R are released, and their space may already hold the next lap's: start
      // at R if it has passed (R moves while we walk), and read a header only while R has not.
      const before = Atomics.load(this.i32, RELEASE_WORD);
      if (((before - position) | 0) > 0) {
        position = before;
        continue;
      }
      const index = this.headerWord(position);
      const word1 = Atomics.load(this.i32, index + 1);
      const state = word1 & STATE_MASK;
      const size = this.recordSize(this.i32[index], position & this.mask);
      if (((Atomics.load(this.i32, RELEASE_WORD) - position) | 0) > 0) continue;
      if ((word1 & ~this.mask) !== (position & ~this.mask) || size < 0 || ((t - position - size) | 0) < 0
        || (state !== COMMITTED && state !== ABANDONED && state !== RELEASED)) {
        throw corrupt(this.name, `the run endpoint slot ${slot} took holds an impossible record at ${position >>> 0}`);
      }
      // An opener repairing its slot leaves a record another slot also covers (a stale
      // intent, or a live receiver's) to repairTaken(), whose lowest-slot rule keeps two
      // repairers apart.
      if (state !== RELEASED && !(soleOwner && this.coveredByOther(slot, position))) {
        this.release(position, index << 2, size, true);
      }
      position = (position + size) | 0;
    }
    Atomics.store(this.i32, slotField(slot, layout.SLOT_INTENT) >> 2, 0);
    this.advanceRelease();
    this.wakeAll();
  }

  /** An endpoint opening into a dead holder's slot: repairs what its intent covers. */
  private repairSlot(slot: number): void {
    const position = this.intentOf(slot);
    if (position < 0) return;
    debug('%s: repairing what the dead holder of slot %d left', this.name, slot);
    const kind = Atomics.load(this.i32, slotField(slot, layout.SLOT_KIND) >> 2);
    if (kind === layout.KIND_RECEIVER) {
      this.releaseRun(slot, true);
      return;
    }
    const word1 = Atomics.load(this.i32, this.headerWord(position) + 1);
    if (kind === layout.KIND_SENDER && (word1 & ~this.mask) === (position & ~this.mask)
      && (word1 & STATE_MASK) === CLAIMED && ((word1 & SLOT_FIELD_MASK) >>> SLOT_SHIFT) === slot
      && this.reachable(position, TAKE_WORD)) {
      this.abandon(position, word1);
    }
  }

  /**
   * Whether a record starts at `position`, found by walking the records from T (`from`
   * TAKE_WORD: the only places a claim can be) or from R (RELEASE_WORD: where a taken run can
   * start). A position in a slot is one a peer stored: the unit there can be payload of a
   * record whose bytes read as a header, and repairing it would write into that record. A
   * record is read only while the walk's start has not passed it (not yet taken, or not yet
   * released: its header still stands); if it moves past, the walk starts again from there.
   * A claim the walk meets takes its size from its owner's slot, valid while the claim stands.
   */
  private reachable(position: number, from: number): boolean {
    const i32 = this.i32;
    const mask = this.mask;
    let start = Atomics.load(i32, from);
    let at = start;
    // Each record is read at most a few times (again after its claim is committed, or after
    // the start moved); a ring a peer scribbled on could make the walk go round without that bound.
    for (let reads = 4 * (this.capacity >> 3) + 16; reads > 0; reads--) {
      const ahead = (position - at) | 0;
      if (ahead === 0) return true;
      if (ahead < 0 || ahead >= this.capacity) return false;
      const index = this.headerWord(at);
      const word1 = Atomics.load(i32, index + 1);
      const state = word1 & STATE_MASK;
      let size = -1;
      if ((word1 & ~mask) === (at & ~mask)) {
        if (state === CLAIMED) size = this.claimSize(at, word1);
        else if (state === COMMITTED || state === ABANDONED || (state === RELEASED && from === RELEASE_WORD)) {
          size = this.recordSize(i32[index], at & mask);
        }
      }
      const now = Atomics.load(i32, from);
      if (((now - at) | 0) > 0) {
        // Passed since: what was read may be gone. Start again there, further on.
        if (((now - start) | 0) <= 0) return false;
        start = now;
        at = now;
        continue;
      }
      if (Atomics.load(i32, index + 1) !== word1) continue; // committed (or repaired) meanwhile
      if (size < 0) return false; // not a record (C or T is here, or the ring is not one to walk)
      at = (at + size) | 0;
    }
    return false;
  }

  wakeAll(): void {
    wakeEpoch(this.i32, this.segment, layout.OFF_DATA_SIGNAL, PARKED_RECEIVERS);
    wakeEpoch(this.i32, this.segment, layout.OFF_SPACE_SIGNAL, PARKED_SENDERS);
  }

  reconcileParked(): void {
    this.reconciler.reconcile();
  }

  /** Endpoints of `kind` with a pid recorded: live (lock held) or dead (lock free). */
  peers(kind: number): PeerCount {
    return peers(this.view, kind, this.slot);
  }

  /**
   * A channel that ends with its last sender (layout.h, "Ending with the last sender"):
   * whether no sender other than this endpoint is open, alive, and not yet ended.
   */
  noLiveSenderLeft(): boolean {
    for (let slot = 0; slot < layout.MAX_SLOTS; slot++) {
      if (slot === this.slot || Atomics.load(this.i32, slotField(slot, layout.SLOT_KIND) >> 2) !== layout.KIND_SENDER
        || Atomics.load(this.i32, slotField(slot, layout.SLOT_PID) >> 2) === 0
        || Atomics.load(this.i32, slotField(slot, layout.SLOT_ENDED) >> 2) !== 0) continue;
      if (this.segment.isLockedByOther(layout.SLOT_LOCK_BASE + slot)) return false;
    }
    return true;
  }

  /** Marks this sender's slot ended (seq_cst: before it looks at the others'). */
  markSlotEnded(): void {
    Atomics.store(this.i32, slotField(this.slot, layout.SLOT_ENDED) >> 2, 1);
    Atomics.or(this.i32, STATE_WORD, layout.STATE_SENDER_ENDED);
  }

  count(value: number): void {
    this.f64[this.countSlot] = value;
  }

  initialCount(): number {
    return validCount(this.f64[this.countSlot]);
  }
}

function peerDead(name: string, peer: string, dead: number): RingwireError {
  return new RingwireError('ERR_RINGWIRE_PEER_DEAD',
    `every ${peer} of channel '${name}' is gone and ${dead} exited without closing; `
    + `nothing more will come from them (a new ${peer} may open the channel)`);
}

const recordBytes = (length: number) => (RECORD_HEADER_SIZE + length + ALIGN_MASK) & ~ALIGN_MASK;

/** The sending end of an MPMC channel. */
export class MpmcSenderProtocol implements SenderProtocol {
  readonly mode = 'mpmc';
  /**
   * MPMC carries no fragments (layout.h, "Fragments": a receiver taking the start of a
   * message would hold every other one up until the rest came), so its largest message is
   * what one record carries, or the channel's smaller maxMessageSize.
   */
  readonly maxMessage: number;
  readonly maxRecord: number;
  readonly pidOffset: number;
  readonly doorbell: EpochDoorbell;
  private readonly ring: MpmcRing;
  private readonly i32: Int32Array;
  private readonly capacity: number;
  private readonly mask: number;
  private readonly name: string;
  private sent: number;
  private claims = 0;
  /** Header offset of a claim tryClaim handed out and commit() has not published, or -1. */
  private claimedHeader = -1;
  /** Position of the record claim() returned. */
  private claimedPosition = 0;
  /** R when a send last found the ring full: space has come back once it moves. */
  private blockedRelease = 0;
  /**
   * @internal For ringwire/pool: called with each message as it is written (by any send
   * path but tryClaim) and the channel position just after its record. Records before the
   * take position (takePosition()) have been taken by a receiver.
   */
  written: ((message: Message, end: number) => void) | undefined;

  /** @internal This sender's endpoint slot (its lock byte is SLOT_LOCK_BASE + slot). */
  get slotIndex(): number {
    return this.ring.slot;
  }

  /** @internal The ring's size in bytes. */
  get capacityBytes(): number {
    return this.capacity;
  }

  /** @internal The take position T: every record ending at or before it was taken. */
  takePosition(): number {
    this.host.ensureOpen();
    return Atomics.load(this.i32, TAKE_WORD);
  }

  constructor(private readonly view: RingView, private readonly host: EndpointHost) {
    this.maxMessage = Math.min(view.maxMessage, view.maxMessageSize);
    this.maxRecord = this.maxMessage;
    this.i32 = view.i32;
    this.capacity = view.capacity;
    this.mask = view.mask;
    this.name = view.name;
    this.ring = new MpmcRing(view, layout.KIND_SENDER);
    this.doorbell = new EpochDoorbell(view.i32, view.segment, layout.OFF_SPACE_SIGNAL, PARKED_SENDERS,
      layout.OFF_DATA_SIGNAL, PARKED_RECEIVERS, this.ring.slot);
    this.pidOffset = this.ring.pidOffset;
    this.sent = this.ring.initialCount();
    // The channel may have ended between openSender's check and our slot (another sender's
    // end(), a receiver finding the last sender gone): refuse now, leaving the slot clean.
    if ((Atomics.load(this.i32, STATE_WORD) & STATE_ENDED) !== 0) {
      Atomics.store(this.i32, this.pidOffset >> 2, 0);
      throw new RingwireError('ERR_RINGWIRE_CLOSED',
        `channel '${this.name}' was ended by its senders; unlink it and create it again to send more`);
    }
  }

  get pendingClaims(): number {
    return this.claimedHeader < 0 ? 0 : 1;
  }

  /**
   * Claims `size` bytes (one record, or a batch's run) at the claim position; returns the
   * mapping offset of the first header, or -1 when the ring is too full now. Claims and
   * commits a skip record first where the claim would straddle the end of the ring.
   */
  private claim(size: number): number {
    const i32 = this.i32;
    const ring = this.ring;
    const capacity = this.capacity;
    const mask = this.mask;
    for (;;) {
      const c = Atomics.load(i32, CLAIM_WORD);
      // R before the header: a record is RELEASED before R moves past it, so a header read
      // after R is at least as new as R says.
      const r = Atomics.load(i32, RELEASE_WORD);
      const offset = c & mask;
      const index = ring.headerWord(c);
      const lap = c & ~mask;
      const word1 = Atomics.load(i32, index + 1);
      if (ring.isRecordOfLap(word1, lap)) {
        // Claimed already, C not yet moved past it: help.
        const state = word1 & STATE_MASK;
        const claimed = state === CLAIMED ? ring.claimSize(c, word1)
          : state <= ABANDONED ? ring.recordSize(i32[index], offset) : -1;
        if (claimed < 0) {
          ring.recheck(CLAIM_WORD, c, `record at claim position ${c >>> 0} has an impossible header`);
          continue;
        }
        Atomics.compareExchange(i32, CLAIM_WORD, c, (c + claimed) | 0);
        continue;
      }
      const used = (c - r) | 0;
      if (used < 0 || used > capacity) {
        ring.recheck(CLAIM_WORD, c, `claim position ${c >>> 0} is impossible with release position ${r >>> 0}`);
        continue;
      }
      const tail = capacity - offset;
      if (size > capacity) return -1;
      const padding = size > tail;
      const claimSize = padding ? tail : size;
      if (capacity - used < claimSize) {
        // Released records may wait beyond R (released out of order): move R, look again.
        ring.advanceRelease();
        if (Atomics.load(i32, RELEASE_WORD) !== r) continue;
        this.blockedRelease = r;
        return -1;
      }
      // R is past the record that last used this unit, so it must be free for this lap.
      if (word1 !== lap
        && ((word1 & ~mask) !== ((lap - capacity) | 0) || (word1 & STATE_MASK) !== RELEASED)) {
        ring.recheck(CLAIM_WORD, c, `ring unit at claim position ${c >>> 0} is not free although released`);
        continue;
      }
      // Our slot says how big the claim is before the claim exists (see layout.h). Plain
      // stores: the Atomics loads above keep them after our last commit (a repairer's walk
      // sizes a claim from them while its header reads CLAIMED) on x86 and on arm64.
      i32[ring.sizeWord] = claimSize;
      i32[ring.intentWord] = c | layout.INTENT_VALID;
      // A claim position read a lap or more ago may now be inside another record's payload,
      // whose bytes could equal the free header we expect: make sure it is still current
      // just before the CAS, and, since that leaves an instant, undo a claim R has passed.
      if (Atomics.load(i32, CLAIM_WORD) !== c) continue;
      const claimed = lap | ring.ownerBits | CLAIMED;
      if (Atomics.compareExchange(i32, index + 1, word1, claimed) !== word1) continue;
      if (((c - Atomics.load(i32, RELEASE_WORD)) | 0) < 0) {
        Atomics.compareExchange(i32, index + 1, claimed, word1);
        continue;
      }
      Atomics.compareExchange(i32, CLAIM_WORD, c, (c + claimSize) | 0);
      if (padding) {
        i32[index] = SKIP | claimSize;
        Atomics.store(i32, index + 1, lap | ring.ownerBits | COMMITTED);
        // Receivers must pass the skip record for R to reach the space after it.
        this.doorbell.wakePeers();
        continue;
      }
      // A claim racing another sender's end(): a receiver that saw the end with nothing at
      // T may have finished; give the claim up rather than send into a finished stream.
      if ((Atomics.load(i32, STATE_WORD) & STATE_ENDED) !== 0) {
        i32[index] = SKIP | claimSize;
        Atomics.store(i32, index + 1, lap | ring.ownerBits | ABANDONED);
        this.doorbell.wakePeers();
        throw streamEnded(this.name);
      }
      if (STALL_AFTER_CLAIM !== 0 && ++this.claims === STALL_AFTER_CLAIM) stallForever();
      this.claimedPosition = c;
      return index << 2;
    }
  }

  /** Publishes the claimed record at `header` (length `length`). */
  private publish(header: number, length: number): void {
    const index = header >> 2;
    this.i32[index] = length;
    // seq_cst: publishes the payload and length written before it (receivers acquire word1).
    Atomics.store(this.i32, index + 1, (this.claimedPosition & ~this.mask) | this.ring.ownerBits | COMMITTED);
  }

  private put(data: Message, at: number, length: number): void {
    if (typeof data === 'string') this.view.bytes.write(data, at, length, 'utf8');
    else this.view.u8.set(data, at);
  }

  endedElsewhere(): boolean {
    return (Atomics.load(this.i32, STATE_WORD) & STATE_ENDED) !== 0;
  }

  /** Whether the channel ends with its last sender rather than at the first end(). */
  private get endsWithLastSender(): boolean {
    return (this.view.flags & layout.FLAG_END_WITH_LAST_SENDER) !== 0;
  }

  /**
   * Marks the channel ended for receivers. seq_cst: after this sender's last commit, so a
   * receiver that sees the flag and then finds nothing at T has every message.
   */
  private endChannel(): void {
    Atomics.or(this.i32, STATE_WORD, STATE_ENDED);
    this.doorbell.wakePeers();
  }

  /** Ends the channel, or with endWhen 'last-sender', this sender's part of it. */
  signalEnd(): void {
    if (!this.endsWithLastSender) {
      this.endChannel();
      return;
    }
    this.ring.markSlotEnded();
    if (this.ring.noLiveSenderLeft()) {
      debug('sender of %s ended last: the channel ends', this.name);
      this.endChannel();
    } else {
      debug('sender of %s ended; other senders remain', this.name);
    }
  }

  write(data: Message, length: number, deferPublish = false): boolean {
    // A queued send whose channel another sender ended meanwhile fails (ERR_RINGWIRE_CLOSED).
    if (this.endedElsewhere()) throw streamEnded(this.name);
    const header = this.claim(recordBytes(length));
    if (header < 0) return false;
    this.put(data, header + RECORD_HEADER_SIZE, length);
    this.publish(header, length);
    this.ring.count(++this.sent);
    if (this.written !== undefined) this.written(data, (this.claimedPosition + recordBytes(length)) | 0);
    if (!deferPublish) this.doorbell.wakePeers();
    return true;
  }

  /** Commits publish at once: nothing is held back. */
  publishNow(): void {}

  peerPid(): number {
    return 0;
  }

  parkSliceMs(): number {
    return PARK_SLICE_MS;
  }

  /**
   * Sends messages[start..end) in order, as many as fit now, with one claim for the run (up
   * to 64 KiB of records at a time) and at most one wake. Returns how many it sent. A
   * message that can never fit stops the batch there; the next call starting with it throws
   * ERR_RINGWIRE_TOO_LARGE.
   */
  sendMany(messages: readonly Message[], start: number, end: number): number {
    let sent = 0;
    const lengths: number[] = [];
    const most = Math.min(BATCH_BYTES, this.capacity >>> 2);
    while (start + sent < end) {
      // Size the next run: at most a quarter of the ring, and (when the first message
      // fits there) no further than the end of the ring, to spare a skip record.
      lengths.length = 0;
      let bytes = 0;
      const tail = this.capacity - (Atomics.load(this.i32, CLAIM_WORD) & this.mask);
      for (let i = start + sent; i < end; i++) {
        let length: number;
        try {
          length = measure(messages[i], this.maxMessage, this.name);
        } catch (error) {
          if (sent + lengths.length === 0) throw error;
          break;
        }
        if (lengths.length !== 0 && (bytes + recordBytes(length) > most
          || (bytes <= tail && bytes + recordBytes(length) > tail))) break;
        lengths.push(length);
        bytes += recordBytes(length);
      }
      if (lengths.length === 0) break;
      let header: number;
      try {
        header = this.claim(bytes);
        // Too full for the run: try its first half, and so on.
        while (header < 0 && lengths.length > 1) {
          lengths.length = lengths.length >> 1;
          bytes = 0;
          for (const length of lengths) bytes += recordBytes(length);
          header = this.claim(bytes);
        }
      } catch (error) {
        // (Another sender's end(), a peer breaking the protocol.) What went out counts: the
        // caller learns of the failure when it sends what is left.
        if (sent === 0) throw error;
        break;
      }
      if (header < 0) break;
      // The records after the first are committed with plain stores; the first one's
      // seq_cst commit publishes them all.
      const first = header;
      let position = this.claimedPosition;
      const lap = position & ~this.mask;
      for (let k = 0; k < lengths.length; k++) {
        const length = lengths[k];
        this.put(messages[start + sent + k], header + RECORD_HEADER_SIZE, length);
        if (k !== 0) {
          this.i32[header >> 2] = length;
          this.i32[(header >> 2) + 1] = lap | this.ring.ownerBits | COMMITTED;
        }
        header += recordBytes(length);
        position += recordBytes(length);
      }
      this.publish(first, lengths[0]);
      if (this.written !== undefined) {
        let end = this.claimedPosition;
        for (let k = 0; k < lengths.length; k++) {
          end = (end + recordBytes(lengths[k])) | 0;
          this.written(messages[start + sent + k], end);
        }
      }
      sent += lengths.length;
      this.sent += lengths.length;
      this.ring.count(this.sent);
    }
    if (sent !== 0) this.doorbell.wakePeers();
    return sent;
  }

  /**
   * Zero-copy send: claims room for a `length`-byte message and returns the offset in
   * `buffer` where its bytes go, or -1 when the ring is too full now. The message is
   * invisible to receivers until commit(). On an MPMC channel a sender holds one claim at a
   * time (receivers wait at an uncommitted claim: commit promptly).
   */
  tryClaim(length: number, queued: boolean): number {
    if (this.claimedHeader >= 0) throw invalidArg('an mpmc sender holds one claim at a time: commit() it first');
    if (this.endedElsewhere()) throw streamEnded(this.name);
    if (queued) return -1;
    const header = this.claim(recordBytes(length));
    if (header < 0) return -1;
    this.claimedHeader = header;
    this.i32[header >> 2] = length;
    return header + RECORD_HEADER_SIZE;
  }

  abandon(): void {}

  /** Publishes the message claimed with tryClaim. */
  commit(): void {
    if (this.claimedHeader < 0) return;
    this.publish(this.claimedHeader, this.i32[this.claimedHeader >> 2]);
    this.claimedHeader = -1;
    this.ring.count(++this.sent);
    this.doorbell.wakePeers();
  }

  isReady(): boolean {
    if (Atomics.load(this.i32, RELEASE_WORD) !== this.blockedRelease) return true;
    this.ring.advanceRelease();
    return Atomics.load(this.i32, RELEASE_WORD) !== this.blockedRelease;
  }

  /**
   * While the ring is full: a receiver that died while holding the record at R (or before
   * moving R past what it released) holds all space back; repair it. With no receiver alive and one dead, ERR_RINGWIRE_PEER_DEAD.
   */
  checkLiveness(): void {
    this.ring.reconcileParked();
    // A receiver that died between releasing a poll() batch and moving R left R behind.
    this.ring.advanceRelease();
    if (this.isReady() || this.ring.repairTaken() || this.isReady()) return;
    const { live, dead } = this.ring.peers(layout.KIND_RECEIVER);
    if (live === 0 && dead !== 0 && !this.isReady()) throw peerDead(this.name, 'receiver', dead);
  }

  /** An uncommitted claim is abandoned (receivers skip it) rather than left to block them. */
  releaseRing(endRequested: boolean): void {
    // Ending with the last sender: one that closes without ending, after another ended, may
    // be the last one that had not. Its slot counts as done first (seq_cst), then it looks:
    // with a sender ending at the same instant (which stores, then looks too), one of the two
    // sees the other (layout.h, "Ending with the last sender").
    if (this.endsWithLastSender && !endRequested) {
      Atomics.store(this.i32, slotField(this.ring.slot, layout.SLOT_ENDED) >> 2, 1);
      if ((Atomics.load(this.i32, STATE_WORD) & (layout.STATE_SENDER_ENDED | STATE_ENDED)) === layout.STATE_SENDER_ENDED
        && this.ring.noLiveSenderLeft()) {
        this.endChannel();
      }
    }
    if (this.claimedHeader >= 0) {
      const index = this.claimedHeader >> 2;
      const word1 = (this.claimedPosition & ~this.mask) | this.ring.ownerBits | CLAIMED;
      this.i32[index] = SKIP | recordBytes(this.i32[index]);
      Atomics.compareExchange(this.i32, index + 1, word1, (word1 & ~STATE_MASK) | ABANDONED);
      this.claimedHeader = -1;
      this.doorbell.wakePeers();
    }
    Atomics.store(this.i32, this.ring.intentWord, 0);
  }
}

/** The receiving end of an MPMC channel. */
export class MpmcReceiverProtocol implements ReceiverProtocol {
  readonly mode = 'mpmc';
  readonly pidOffset: number;
  readonly doorbell: EpochDoorbell;
  readonly stableViews = true;
  readonly lost = 0;
  recordLength = 0;
  pollLeft = 0;
  readonly source: Uint8Array;
  private readonly ring: MpmcRing;
  private readonly i32: Int32Array;
  private readonly capacity: number;
  private readonly mask: number;
  private readonly name: string;
  private received: number;
  /** What peek() found: the record's position and size. */
  private peekPosition = 0;
  private peekSize = 0;
  /** C as last loaded: C only grows, so it stays a lower bound (beforeClaim()). */
  private knownClaim = 0;
  /** The record acquire() took. */
  private takenPosition = 0;
  private takenSize = 0;
  /** Releases in a poll() batch leave R and the wake to finishBatch(). */
  private batchReleased = false;
  private takes = 0;
  /** A record is taken and not yet released (a poll() handler closed the receiver). */
  private holding = false;
  /** Bytes released since senders were last woken; in `unpublished` while nonzero. */
  private unwoken = 0;
  /**
   * A run taken with one CAS on T by poll(): records from runNext to runEnd are this
   * receiver's and not yet handed out (equal: none). They come before anything else.
   */
  private runNext = 0;
  private runEnd = 0;
  /** peek() returned a record of the held run: acquire() needs no CAS. */
  private peekHeld = false;
  /** The record acquired came from the held run. */
  private fromRun = false;

  /**
   * @internal For ringwire/pool: takes the channel's exclusive-receiver lock (lock byte
   * ROLE_RECEIVER, unused by MPMC slots) for as long as this receiver is open; false if
   * another endpoint holds it.
   */
  lockExclusive(): boolean {
    this.host.ensureOpen();
    return this.view.segment.lock(layout.ROLE_RECEIVER);
  }

  /**
   * @internal Whether the sender that held endpoint slot `slot` as process `pid` is still
   * there: the slot still names that pid, and its lock is held.
   */
  senderAlive(slot: number, pid: number): boolean {
    this.host.ensureOpen();
    if (!Number.isInteger(slot) || slot < 0 || slot >= layout.MAX_SLOTS) return false;
    const base = layout.OFF_SLOTS + slot * layout.SLOT_SIZE;
    if (Atomics.load(this.i32, (base + layout.SLOT_PID) >> 2) !== pid
      || Atomics.load(this.i32, (base + layout.SLOT_KIND) >> 2) !== layout.KIND_SENDER) return false;
    return this.view.segment.isLockedByOther(layout.SLOT_LOCK_BASE + slot);
  }

  /** @internal Nothing at the take position: every committed record has been taken. */
  isEmpty(): boolean {
    this.host.ensureOpen();
    return this.stateAtT() === 0;
  }

  /** @internal Senders alive now (their slot's lock is held), this process's included. */
  liveSenders(): number {
    this.host.ensureOpen();
    return this.ring.peers(layout.KIND_SENDER).live;
  }

  constructor(private readonly view: RingView, private readonly host: EndpointHost) {
    this.source = view.u8;
    this.i32 = view.i32;
    this.capacity = view.capacity;
    this.mask = view.mask;
    this.name = view.name;
    this.ring = new MpmcRing(view, layout.KIND_RECEIVER);
    this.doorbell = new EpochDoorbell(view.i32, view.segment, layout.OFF_DATA_SIGNAL, PARKED_RECEIVERS,
      layout.OFF_SPACE_SIGNAL, PARKED_SENDERS, this.ring.slot);
    this.pidOffset = this.ring.pidOffset;
    this.received = this.ring.initialCount();
  }

  peerPid(): number {
    return 0;
  }

  parkSliceMs(): number {
    return PARK_SLICE_MS;
  }

  /**
   * What is at T: a message (its header offset, with peek state set), or -1 for nothing
   * yet. Takes and releases skip records on the way.
   */
  peek(): number {
    const i32 = this.i32;
    const mask = this.mask;
    this.peekHeld = false;
    while (this.runNext !== this.runEnd) {
      // Ours since the run's CAS, but the memory is shared: checked again before use.
      const position = this.runNext;
      const index = this.ring.headerWord(position);
      const word1 = Atomics.load(i32, index + 1);
      const word0 = i32[index];
      const state = word1 & STATE_MASK;
      const size = this.ring.recordSize(word0, position & mask);
      if ((word1 & ~mask) !== (position & ~mask) || (state !== COMMITTED && state !== ABANDONED)
        || size < 0 || size > ((this.runEnd - position) >>> 0)) {
        throw corrupt(this.name, `a record of the run this receiver took changed under it at ${position >>> 0}`);
      }
      if (state === ABANDONED || word0 < 0) {
        this.runNext = (position + size) | 0;
        this.ring.release(position, index << 2, size, true);
        this.batchReleased = true;
        continue;
      }
      this.peekHeld = true;
      this.peekPosition = position;
      this.peekSize = size;
      this.recordLength = word0;
      return index << 2;
    }
    // Outside poll() nobody else finishes the skips released above.
    if (this.batchReleased && this.pollLeft === 0) this.finishBatch();
    for (;;) {
      const t = Atomics.load(i32, TAKE_WORD);
      const offset = t & mask;
      const index = this.ring.headerWord(t);
      // acquire: pairs with the sender's commit; its payload and length are visible.
      const word1 = Atomics.load(i32, index + 1);
      if ((word1 & ~mask) !== (t & ~mask)) return -1;
      const state = word1 & STATE_MASK;
      if (state === FREE || state === CLAIMED) return -1;
      const word0 = i32[index];
      const size = this.ring.recordSize(word0, offset);
      // A committed or abandoned record lies before C (its claim moved C past it before
      // word1 said so: C loaded after word1 is at least there). C only grows: a value loaded
      // before that already covers the record (within a ring of it) saves the load of a line
      // every sender writes.
      if (size < 0 || (state !== COMMITTED && state !== ABANDONED) || !this.beforeClaim(t, (t + size) | 0)) {
        this.ring.recheck(TAKE_WORD, t, `record at take position ${t >>> 0} has an impossible header`);
        continue;
      }
      if (state === ABANDONED || word0 < 0) {
        // A skip record, or the claim of a sender that died: take it, deliver nothing.
        if (this.takeRecord(t, size)) {
          this.holding = false;
          this.ring.release(t, index << 2, size);
          i32[this.ring.intentWord] = 0;
          this.doorbell.wakePeers();
        }
        continue;
      }
      this.peekPosition = t;
      this.peekSize = size;
      this.recordLength = word0;
      return index << 2;
    }
  }

  /**
   * Takes the `size`-byte record at T = `position`, and with it whatever lies before `end`
   * (a run), with one CAS on T; false if another receiver moved T first.
   */
  private takeRecord(position: number, size: number, end = (position + size) | 0): boolean {
    const i32 = this.i32;
    // Our slot says what we take before we take it (a repairer reads it if we die).
    i32[this.ring.sizeWord] = end;
    i32[this.ring.intentWord] = position | layout.INTENT_VALID;
    if (Atomics.compareExchange(i32, TAKE_WORD, position, end) !== position) {
      i32[this.ring.intentWord] = 0;
      return false;
    }
    this.takenPosition = position;
    this.takenSize = size;
    this.holding = true;
    return true;
  }

  acquire(): boolean {
    if (this.peekHeld) {
      this.peekHeld = false;
      this.fromRun = true;
      this.runNext = (this.peekPosition + this.peekSize) | 0;
      this.takenPosition = this.peekPosition;
      this.takenSize = this.peekSize;
      this.holding = true;
    } else if (this.pollLeft > 1) {
      if (!this.takeRun(this.pollLeft)) return false;
    } else if (!this.takeRecord(this.peekPosition, this.peekSize)) {
      return false;
    }
    if (STALL_AFTER_TAKE !== 0 && ++this.takes === STALL_AFTER_TAKE) stallForever();
    return true;
  }

  /**
   * poll(): takes the record peek() found and the committed records right after it, up to
   * `wanted` messages and BATCH_BYTES, with one CAS on T (the slot's intent covers the whole
   * run, so a repairer releases what is left of it if this receiver dies: those messages are
   * lost, as a taken one is). False if another receiver moved T first.
   */
  private takeRun(wanted: number): boolean {
    const i32 = this.i32;
    const mask = this.mask;
    const start = this.peekPosition;
    let end = (start + this.peekSize) | 0;
    const limit = (start + BATCH_BYTES) | 0;
    for (let messages = 1; messages < wanted && ((limit - end) | 0) > 0;) {
      const index = this.ring.headerWord(end);
      const word1 = Atomics.load(i32, index + 1); // acquire: pairs with that sender's commit
      const state = word1 & STATE_MASK;
      if ((word1 & ~mask) !== (end & ~mask) || (state !== COMMITTED && state !== ABANDONED)) break;
      const word0 = i32[index];
      const size = this.ring.recordSize(word0, end & mask);
      if (size < 0) break; // left for peek() to judge once it is at T
      // Before C, as peek() checks.
      if (!this.beforeClaim(start, (end + size) | 0)) break;
      if (state === COMMITTED && word0 >= 0) messages++;
      end = (end + size) | 0;
    }
    if (!this.takeRecord(start, this.peekSize, end)) return false;
    this.runNext = (start + this.peekSize) | 0;
    this.runEnd = end;
    return true;
  }

  release(header: number, _length: number, inBatch: boolean): boolean {
    this.holding = false;
    this.ring.count(++this.received);
    this.ring.release(this.takenPosition, header, this.takenSize, inBatch);
    if (inBatch) {
      this.unwoken += this.takenSize;
      this.batchReleased = true;
    } else {
      if (this.runNext === this.runEnd) this.i32[this.ring.intentWord] = 0;
      // A held run's records are released one call at a time, maybe after records others
      // took later and released first: move R over all of them now.
      if (this.fromRun) this.ring.advanceRelease();
      this.wakeSoon(this.takenSize);
    }
    this.fromRun = false;
    return true;
  }

  /**
   * A run poll() did not hand out in full (its handler threw, or closed the receiver): if no
   * receiver has taken anything after it, T moves back to what is left, which stays in the
   * channel for every receiver (T only grows otherwise, so the CAS cannot mistake a later
   * T for ours). True if it did; else the rest stays this receiver's.
   */
  private giveBackRun(): boolean {
    if (this.runNext === this.runEnd) return true;
    if (Atomics.compareExchange(this.i32, TAKE_WORD, this.runEnd, this.runNext) !== this.runEnd) return false;
    this.runEnd = this.runNext;
    this.ring.wakeAll(); // receivers that parked while it was ours
    return true;
  }

  finishBatch(): void {
    this.giveBackRun();
    if (!this.batchReleased) return;
    this.batchReleased = false;
    // A run it could not give back stays taken (and covered) for the next call.
    if (this.runNext === this.runEnd) this.i32[this.ring.intentWord] = 0;
    this.ring.advanceRelease();
    this.wakeSoon(0);
  }

  /** Space came back: wake parked senders now, or soon (see WAKE_EVERY). */
  private wakeSoon(bytes: number): void {
    this.unwoken += bytes + 1;
    if (this.unwoken >= this.capacity >>> WAKE_FRACTION_SHIFT) this.publishNow();
    else this.host.publishLater();
  }

  /** Wakes senders for the space released so far (before this thread blocks). */
  publishNow(): void {
    this.host.published();
    if (this.unwoken === 0) return;
    this.unwoken = 0;
    this.doorbell.wakePeers();
  }

  /** 1: a record at T; 0: nothing; -1: a claim not yet committed. */
  private stateAtT(): number {
    const t = Atomics.load(this.i32, TAKE_WORD);
    const word1 = Atomics.load(this.i32, this.ring.headerWord(t) + 1);
    if ((word1 & ~this.mask) !== (t & ~this.mask)) return 0;
    const state = word1 & STATE_MASK;
    return state === FREE ? 0 : state === CLAIMED ? -1 : 1;
  }

  drainedAndEnded(): boolean {
    return this.runNext === this.runEnd
      && (Atomics.load(this.i32, STATE_WORD) & STATE_ENDED) !== 0 && this.stateAtT() === 0;
  }

  isReady(): boolean {
    if (this.runNext !== this.runEnd) return true;
    // Not while a claim at T is uncommitted, ended or not: parking is what lets checkPeer
    // repair a dead sender's claim, and a live sender's commit wakes us.
    const state = this.stateAtT();
    return state === 1 || (state === 0 && (Atomics.load(this.i32, STATE_WORD) & STATE_ENDED) !== 0);
  }

  /**
   * While waiting: a sender that died between claim and commit blocks the record at T;
   * repair it. With nothing to take, no sender alive and one dead, ERR_RINGWIRE_PEER_DEAD.
   */
  checkLiveness(): void {
    this.ring.reconcileParked();
    if (this.repairClaimAtT()) return;
    if (this.isReady()) return;
    const { live, dead } = this.ring.peers(layout.KIND_SENDER);
    // Ending with the last sender: a sender that died counts as ended. Once one has ended or
    // died and no live sender that has not ended remains, the channel ends here.
    if ((this.view.flags & layout.FLAG_END_WITH_LAST_SENDER) !== 0
      && (dead !== 0 || (Atomics.load(this.i32, STATE_WORD) & layout.STATE_SENDER_ENDED) !== 0)
      && this.ring.noLiveSenderLeft()) {
      debug('receiver of %s: no sender left that has not ended; the channel ends', this.name);
      Atomics.or(this.i32, STATE_WORD, STATE_ENDED);
      this.doorbell.wakeOwnKind();
      return;
    }
    if (live === 0 && dead !== 0) {
      // Decide on what is at T now, not on isReady() (false at a claim): since the first look
      // a sender may have claimed T and died holding the claim, after another committed a
      // message behind it and closed (models/mpmc.pml, FINDINGS 1). Such a claim is repaired
      // here, so the wait goes round at once and delivers what follows it; only nothing at
      // T, with the stream not ended, is the end.
      if (this.runNext !== this.runEnd || this.repairClaimAtT()) return;
      if (this.stateAtT() === 0 && (Atomics.load(this.i32, STATE_WORD) & STATE_ENDED) === 0) {
        throw peerDead(this.name, 'sender', dead);
      }
    }
  }

  /**
   * Whether a record found at or after T = `t` and ending at `end` lies before C, with C no
   * more than a ring past `t` (R <= T <= C <= R + capacity: a wider window is a peer's
   * scribble, and what reads as a record at `t` may be the payload of one a lap ahead). By C
   * as last loaded if that settles it (C only grows), else by C now. False when T moved on
   * meanwhile, too: the caller checks T again before it calls the image corrupt.
   */
  private beforeClaim(t: number, end: number): boolean {
    if (((this.knownClaim - end) | 0) >= 0 && ((this.knownClaim - t) >>> 0) <= this.capacity) return true;
    this.knownClaim = Atomics.load(this.i32, CLAIM_WORD);
    return ((this.knownClaim - end) | 0) >= 0 && ((this.knownClaim - t) >>> 0) <= this.capacity;
  }

  /**
   * A claim at T: repairs it if its sender is dead (a skip record: the wait goes round and
   * passes it; isReady() says so), else leaves it to its live sender's commit, which wakes
   * us. True if there was a claim at T.
   */
  private repairClaimAtT(): boolean {
    const t = Atomics.load(this.i32, TAKE_WORD);
    const word1 = Atomics.load(this.i32, this.ring.headerWord(t) + 1);
    if ((word1 & ~this.mask) !== (t & ~this.mask) || (word1 & STATE_MASK) !== CLAIMED) return false;
    this.ring.repairClaim(t, word1);
    return true;
  }

  releaseRing(): void {
    if (this.holding) {
      // Closed from inside a poll() handler: the handler had the message; free its space.
      this.holding = false;
      this.ring.count(++this.received);
      this.ring.release(this.takenPosition, HEADER_SIZE + (this.takenPosition & this.mask), this.takenSize);
      this.doorbell.wakePeers();
    }
    // What is left of a taken run goes back to the channel, or, if another receiver took
    // records after it, is released unread, as this receiver's death would.
    this.giveBackRun();
    while (this.runNext !== this.runEnd) {
      const position = this.runNext;
      const index = this.ring.headerWord(position);
      const size = this.ring.recordSize(this.i32[index], position & this.mask);
      if (size < 0 || size > ((this.runEnd - position) >>> 0)) break; // left to a repairer
      this.runNext = (position + size) | 0;
      this.ring.release(position, index << 2, size, true);
      this.batchReleased = true;
    }
    this.runNext = this.runEnd;
    if (this.batchReleased) this.finishBatch();
    this.publishNow();
    Atomics.store(this.i32, this.ring.intentWord, 0);
  }
}
