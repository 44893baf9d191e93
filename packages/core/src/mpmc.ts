// MPMC endpoints: the protocol of layout.h ("MPMC protocol") in JavaScript. Any number of
// senders and receivers (up to MAX_SLOTS in all) share one ring: senders claim a record by a
// 64-bit CAS on its header, receivers take one by a CAS on its state word, and space comes
// back to the senders in ring order as records are released. Nothing read from the segment
// is trusted: every length and position is checked before use, and an impossible one is
// re-read (it may just be stale) before it is reported as ERR_RINGWIRE_CORRUPT.
import { writeSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { corrupt, invalidArg, RingwireError } from './errors.js';
import { layout, type NativeSegment } from './native.js';
import type { ResolvedEndpoint } from './options.js';
import { Receiver } from './receiver.js';
import { type Message, Sender } from './sender.js';
import {
  ALIGN_MASK, HEADER_SIZE, RECORD_HEADER_SIZE, STATE_ENDED, STATE_WORD, validCount,
} from './words.js';

const CLAIM_WORD = layout.OFF_CLAIM_POSITION >> 2;
const TAKE_WORD = layout.OFF_TAKE_POSITION >> 2;
const RELEASE_WORD = layout.OFF_RELEASE_POSITION >> 2;
const STATE_MASK = layout.STATE_MASK;
const SLOT_SHIFT = layout.SLOT_SHIFT;
const OWNER_AND_STATE = layout.SLOT_FIELD_MASK | layout.STATE_MASK;
const FREE = layout.REC_FREE;
const CLAIMED = layout.REC_CLAIMED;
const COMMITTED = layout.REC_COMMITTED;
const TAKEN = layout.REC_TAKEN;
const RELEASED = layout.REC_RELEASED;
const ABANDONED = layout.REC_ABANDONED;
/** word0 of a skip record, as Int32Array reads it: negative. */
const SKIP = layout.SKIP | 0;
const SKIP_SIZE_MASK = 0x7fffffff;

/**
 * Test-only: a sender stops for good right after its Nth claim, before writing or
 * committing it (RINGWIRE_TEST_STALL_AFTER_CLAIM=N), so a test can kill it exactly between
 * claim and commit. It writes "stalled\n" to stdout first.
 */
const STALL_AFTER_CLAIM = Number(process.env.RINGWIRE_TEST_STALL_AFTER_CLAIM ?? 0) | 0;
/** Test-only, likewise: a receiver stops for good right after taking its Nth message. */
const STALL_AFTER_TAKE = Number(process.env.RINGWIRE_TEST_STALL_AFTER_TAKE ?? 0) | 0;

function stallForever(): never {
  writeSync(1, 'stalled\n');
  for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}

/** A record header's two words as one 64-bit value (word0 is the low half). */
function pack(word0: number, word1: number): bigint {
  return BigInt.asIntN(64, (BigInt(word1) << 32n) | BigInt(word0 >>> 0));
}

export interface PeerCount {
  live: number;
  dead: number;
}

/**
 * The ring as one endpoint sees it: its slot, the shared positions, and the steps both
 * kinds of endpoint take (validating, releasing, repairing what dead endpoints left).
 */
class MpmcRing {
  readonly slot: number;
  readonly slotBase: number;
  readonly intentWord: number;
  readonly countSlot: number;
  private readonly big64: BigInt64Array;
  private readonly mask: number;
  private freeLap = 0;
  private freeValue = 0n;

  constructor(private readonly segment: NativeSegment, private readonly i32: Int32Array,
    private readonly f64: Float64Array, private readonly capacity: number,
    private readonly maxMessage: number, private readonly name: string, kind: number) {
    this.big64 = new BigInt64Array(segment.buffer);
    this.mask = capacity - 1;
    this.slot = this.openSlot(kind);
    this.slotBase = layout.OFF_SLOTS + this.slot * layout.SLOT_SIZE;
    this.intentWord = (this.slotBase + layout.SLOT_INTENT) >> 2;
    this.countSlot = (this.slotBase + layout.SLOT_MESSAGES) >> 3;
  }

  /**
   * Takes a free slot, preferring one never used or closed cleanly: a slot whose holder died
   * keeps that record (stats, ERR_RINGWIRE_PEER_DEAD) until no other is free. Repairs what
   * a dead holder left before using its slot. ERR_RINGWIRE_BUSY if every slot is held.
   */
  private openSlot(kind: number): number {
    for (let pass = 0; pass < 2; pass++) {
      for (let slot = 0; slot < layout.MAX_SLOTS; slot++) {
        const base = layout.OFF_SLOTS + slot * layout.SLOT_SIZE;
        if (pass === 0 && Atomics.load(this.i32, (base + layout.SLOT_PID) >> 2) !== 0) continue;
        if (this.takeSlot(slot, kind)) return slot;
      }
    }
    throw new RingwireError('ERR_RINGWIRE_BUSY',
      `channel '${this.name}' already has ${layout.MAX_SLOTS} open endpoints, the most an mpmc channel can have`);
  }

  private takeSlot(slot: number, kind: number): boolean {
    if (!this.segment.lock(layout.SLOT_LOCK_BASE + slot)) return false;
    const base = layout.OFF_SLOTS + slot * layout.SLOT_SIZE;
    // A pid left behind: its holder died without closing. We own its leftovers now.
    if (Atomics.load(this.i32, (base + layout.SLOT_PID) >> 2) !== 0) this.adopt(slot);
    Atomics.store(this.i32, (base + layout.SLOT_KIND) >> 2, kind);
    Atomics.store(this.i32, (base + layout.SLOT_THREAD) >> 2, threadId);
    Atomics.store(this.i32, (base + layout.SLOT_INTENT) >> 2, 0);
    Atomics.store(this.i32, (base + layout.SLOT_PID) >> 2, process.pid);
    return true;
  }

  /** Repairs the record a dead holder of `slot` may have left claimed or taken. */
  private adopt(slot: number): void {
    const base = layout.OFF_SLOTS + slot * layout.SLOT_SIZE;
    const intent = Atomics.load(this.i32, (base + layout.SLOT_INTENT) >> 2);
    if ((intent & layout.INTENT_VALID) === 0) return;
    const position = intent & ~ALIGN_MASK;
    const word1 = Atomics.load(this.i32, this.headerWord(position) + 1);
    if ((word1 & ~this.mask) === (position & ~this.mask)
      && ((word1 >>> SLOT_SHIFT) & 63) === slot) {
      this.repairRecord(position, word1);
    }
  }

  /** Int32Array index of the header (word0) of the record at `position`. */
  headerWord(position: number): number {
    return (HEADER_SIZE + (position & this.mask)) >> 2;
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

  /** Throws ERR_RINGWIRE_CORRUPT unless the shared word at `index` moved on from `seen`. */
  recheck(index: number, seen: number, what: string): void {
    if (Atomics.load(this.i32, index) === seen) throw corrupt(this.name, what);
  }

  /**
   * Releases the record at `position` (header at mapping offset `header`, `size` bytes,
   * word1 `taken` in state TAKEN): its body becomes FREE for the next lap, so stale bytes
   * can never read as a header; then its state; then R moves if it was waiting for it.
   */
  release(position: number, header: number, size: number, taken: number): void {
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
    Atomics.store(i32, (header >> 2) + 1, (taken & ~STATE_MASK) | RELEASED);
    // The common case, our record at R: move R past it, then over any released after it.
    if (Atomics.load(i32, RELEASE_WORD) === position
      && Atomics.compareExchange(i32, RELEASE_WORD, position, (position + size) | 0) === position) {
      this.advanceRelease();
    }
  }

  /** Moves R over every released record at it. */
  advanceRelease(): void {
    for (;;) {
      const r = Atomics.load(this.i32, RELEASE_WORD);
      const index = this.headerWord(r);
      const word1 = Atomics.load(this.i32, index + 1);
      if ((word1 & ~this.mask) !== (r & ~this.mask) || (word1 & STATE_MASK) !== RELEASED) return;
      const size = this.recordSize(this.i32[index], r & this.mask);
      if (size < 0) {
        this.recheck(RELEASE_WORD, r, `released record at position ${r >>> 0} has an impossible length`);
        continue;
      }
      Atomics.compareExchange(this.i32, RELEASE_WORD, r, (r + size) | 0);
    }
  }

  /**
   * Repairs the record at `position` whose word1 was `word1` if its owner is dead: takes the
   * owner's slot lock (so no one else repairs it at once), and if the record is unchanged,
   * a CLAIMED one becomes ABANDONED (receivers skip it) and a TAKEN one is released (its
   * message is lost: delivery is at most once). True if it repaired.
   */
  repairIfOwnerDead(position: number, word1: number): boolean {
    const owner = (word1 >>> SLOT_SHIFT) & 63;
    if (owner >= layout.MAX_SLOTS) {
      throw corrupt(this.name, `record at position ${position >>> 0} names endpoint slot ${owner}`);
    }
    if (owner === this.slot || !this.segment.lock(layout.SLOT_LOCK_BASE + owner)) return false;
    try {
      if (Atomics.load(this.i32, this.headerWord(position) + 1) !== word1) return false;
      return this.repairRecord(position, word1);
    } finally {
      this.segment.unlock(layout.SLOT_LOCK_BASE + owner);
    }
  }

  private repairRecord(position: number, word1: number): boolean {
    const index = this.headerWord(position);
    const state = word1 & STATE_MASK;
    let repaired = false;
    if (state === CLAIMED) {
      repaired = Atomics.compareExchange(this.i32, index + 1, word1,
        (word1 & ~STATE_MASK) | ABANDONED) === word1;
    } else if (state === TAKEN) {
      const size = this.recordSize(this.i32[index], position & this.mask);
      if (size < 0) throw corrupt(this.name, `taken record at position ${position >>> 0} has an impossible length`);
      this.release(position, index << 2, size, word1);
      repaired = true;
    }
    if (repaired) {
      this.wake(layout.OFF_DATA_SIGNAL, layout.OFF_RECEIVER_WAITERS);
      this.wake(layout.OFF_SPACE_SIGNAL, layout.OFF_SENDER_WAITERS);
    }
    return repaired;
  }

  private wake(signal: number, waitersOffset: number): void {
    const waiters = Atomics.load(this.i32, waitersOffset >> 2);
    if (waiters === 0) return;
    const epoch = Atomics.load(this.i32, signal >> 2);
    if ((epoch & 1) === 0
      && Atomics.compareExchange(this.i32, signal >> 2, epoch, (epoch + 1) | 0) === epoch) {
      this.segment.wake(signal, waiters);
    }
  }

  /** Endpoints of `kind` with a pid recorded: live (lock held) or dead (lock free). */
  peers(kind: number): PeerCount {
    const count = { live: 0, dead: 0 };
    for (let slot = 0; slot < layout.MAX_SLOTS; slot++) {
      const base = layout.OFF_SLOTS + slot * layout.SLOT_SIZE;
      if (slot === this.slot || Atomics.load(this.i32, (base + layout.SLOT_KIND) >> 2) !== kind
        || Atomics.load(this.i32, (base + layout.SLOT_PID) >> 2) === 0) continue;
      if (this.segment.isLockedByOther(layout.SLOT_LOCK_BASE + slot)) count.live++;
      else count.dead++;
    }
    return count;
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

/** The sending end of an MPMC channel. */
export class MpmcSender extends Sender {
  protected readonly pidOffset: number;
  private readonly ring: MpmcRing;
  private readonly big64: BigInt64Array;
  private readonly bytes: Buffer;
  private readonly ownerBits: number;
  private sent: number;
  private claims = 0;
  /** Header offset of a claim tryClaim handed out and commit() has not published, or -1. */
  private claimedHeader = -1;
  /** word1 (state CLAIMED) of the record claim() returned. */
  private claimedWord1 = 0;
  /** R when a send last found the ring full: space has come back once it moves. */
  private blockedRelease = 0;

  /** @internal Use openSender(). */
  constructor(segment: NativeSegment, strategy: ResolvedEndpoint) {
    super(segment, strategy, {
      ownSignal: layout.OFF_SPACE_SIGNAL,
      ownWaiters: layout.OFF_SENDER_WAITERS,
      peerSignal: layout.OFF_DATA_SIGNAL,
      peerWaiters: layout.OFF_RECEIVER_WAITERS,
      peerRole: -1,
      peerPid: 0,
      ownThread: 0,
      peerName: 'receiver',
      epochs: true,
    }, 'sender');
    this.ring = new MpmcRing(segment, this.i32, this.f64, this.capacity, this.maxMessage,
      this.name, layout.KIND_SENDER);
    this.pidOffset = this.ring.slotBase + layout.SLOT_PID;
    this.big64 = new BigInt64Array(segment.buffer);
    this.bytes = Buffer.from(segment.buffer);
    this.ownerBits = this.ring.slot << SLOT_SHIFT;
    this.sent = this.ring.initialCount();
  }

  protected get pendingClaims(): number {
    return this.claimedHeader < 0 ? 0 : 1;
  }

  /**
   * Claims a record for a `length`-byte message (`size` bytes with its header); returns the
   * mapping offset of its header, or -1 when the ring is too full now. Claims and commits a
   * skip record first where the message would straddle the end of the ring.
   */
  private claim(length: number, size: number): number {
    const i32 = this.i32;
    const capacity = this.capacity;
    const mask = this.mask;
    for (;;) {
      const c = Atomics.load(i32, CLAIM_WORD);
      // R before the header: a record is RELEASED before R moves past it, so a header read
      // after R is at least as new as R says.
      const r = Atomics.load(i32, RELEASE_WORD);
      const offset = c & mask;
      const index = (HEADER_SIZE + offset) >> 2;
      const lap = c & ~mask;
      const word1 = Atomics.load(i32, index + 1);
      if ((word1 & ~mask) === lap && (word1 & STATE_MASK) !== FREE) {
        // Claimed already, C not yet moved past it: help.
        const claimed = this.ring.recordSize(i32[index], offset);
        if (claimed < 0 || (c & ALIGN_MASK) !== 0 || (word1 & STATE_MASK) > ABANDONED) {
          this.ring.recheck(CLAIM_WORD, c, `record at claim position ${c >>> 0} has an impossible length`);
          continue;
        }
        Atomics.compareExchange(i32, CLAIM_WORD, c, (c + claimed) | 0);
        continue;
      }
      const used = (c - r) | 0;
      if (used < 0 || used > capacity || (c & ALIGN_MASK) !== 0) {
        this.ring.recheck(CLAIM_WORD, c, `claim position ${c >>> 0} is impossible with release position ${r >>> 0}`);
        continue;
      }
      const tail = capacity - offset;
      const padding = size > tail;
      const claimSize = padding ? tail : size;
      if (capacity - used < claimSize) {
        this.blockedRelease = r;
        return -1;
      }
      // R is past the record that last used this unit, so it must be free for this lap.
      if (word1 !== lap
        && ((word1 & ~mask) !== ((lap - capacity) | 0) || (word1 & STATE_MASK) !== RELEASED)) {
        this.ring.recheck(CLAIM_WORD, c, `ring unit at claim position ${c >>> 0} is not free although released`);
        continue;
      }
      i32[this.ring.intentWord] = c | layout.INTENT_VALID;
      const expected = pack(i32[index], word1);
      const claimedWord1 = lap | this.ownerBits | CLAIMED;
      const word0 = padding ? SKIP | claimSize : length;
      // The claim: one CAS that writes length, lap, owner and state together.
      if (Atomics.compareExchange(this.big64, index >> 1, expected, pack(word0, claimedWord1)) !== expected) {
        continue;
      }
      Atomics.compareExchange(i32, CLAIM_WORD, c, (c + claimSize) | 0);
      if (padding) {
        Atomics.store(i32, index + 1, lap | this.ownerBits | COMMITTED);
        continue;
      }
      if (STALL_AFTER_CLAIM !== 0 && ++this.claims === STALL_AFTER_CLAIM) stallForever();
      this.claimedWord1 = claimedWord1;
      return index << 2;
    }
  }

  /** Publishes the claimed record at `header`. */
  private publish(header: number): void {
    // seq_cst: publishes the payload written before it (receivers acquire word1).
    Atomics.store(this.i32, (header >> 2) + 1, (this.claimedWord1 & ~STATE_MASK) | COMMITTED);
    this.ring.count(++this.sent);
  }

  protected write(data: Message, length: number, deferPublish = false): boolean {
    const header = this.claim(length, (RECORD_HEADER_SIZE + length + ALIGN_MASK) & ~ALIGN_MASK);
    if (header < 0) return false;
    if (typeof data === 'string') this.bytes.write(data, header + RECORD_HEADER_SIZE, length, 'utf8');
    else this.u8.set(data, header + RECORD_HEADER_SIZE);
    this.publish(header);
    if (!deferPublish) this.wakePeer();
    return true;
  }

  protected flush(): void {
    this.wakePeer();
  }

  /**
   * Zero-copy send: claims room for a `length`-byte message and returns the offset in
   * `buffer` where its bytes go, or -1 when the ring is too full now. The message is
   * invisible to receivers until commit(). On an MPMC channel a sender holds one claim at a
   * time (receivers wait at an uncommitted claim: commit promptly).
   */
  tryClaim(length: number): number {
    this.ensureOpen();
    if (this.endRequested) this.ensureSendable();
    if (!Number.isInteger(length) || length < 0) throw invalidArg(`length must be a non-negative integer, got ${String(length)}`);
    if (length > this.maxMessage) throw this.tooLarge(length);
    if (this.claimedHeader >= 0) throw invalidArg('an mpmc sender holds one claim at a time: commit() it first');
    if (this.queue.length !== 0) return -1;
    const header = this.claim(length, (RECORD_HEADER_SIZE + length + ALIGN_MASK) & ~ALIGN_MASK);
    if (header < 0) return -1;
    this.claimedHeader = header;
    return header + RECORD_HEADER_SIZE;
  }

  /** Publishes the message claimed with tryClaim. */
  commit(): void {
    this.ensureOpen();
    if (this.claimedHeader < 0) return;
    this.publish(this.claimedHeader);
    this.claimedHeader = -1;
    this.wakePeer();
  }

  protected isReady(): boolean {
    return Atomics.load(this.i32, RELEASE_WORD) !== this.blockedRelease;
  }

  /**
   * While the ring is full: a receiver that died while copying the record at R holds all
   * space back; repair it. With no receiver alive and one dead, ERR_RINGWIRE_PEER_DEAD.
   */
  protected override checkLiveness(): void {
    const r = Atomics.load(this.i32, RELEASE_WORD);
    const word1 = Atomics.load(this.i32, this.ring.headerWord(r) + 1);
    if ((word1 & ~this.mask) === (r & ~this.mask) && (word1 & STATE_MASK) === TAKEN
      && this.ring.repairIfOwnerDead(r, word1)) return;
    if (this.isReady()) return;
    const { live, dead } = this.ring.peers(layout.KIND_RECEIVER);
    if (live === 0 && dead !== 0 && !this.isReady()) throw peerDead(this.name, 'receiver', dead);
  }

  /** An uncommitted claim is abandoned (receivers skip it) rather than left to block them. */
  protected override releaseRing(): void {
    if (this.claimedHeader >= 0) {
      const index = (this.claimedHeader >> 2) + 1;
      Atomics.compareExchange(this.i32, index, this.claimedWord1,
        (this.claimedWord1 & ~STATE_MASK) | ABANDONED);
      this.claimedHeader = -1;
      this.wakePeer();
    }
    Atomics.store(this.i32, this.ring.intentWord, 0);
  }
}

/** The receiving end of an MPMC channel. */
export class MpmcReceiver extends Receiver {
  protected readonly pidOffset: number;
  private readonly ring: MpmcRing;
  private readonly ownerBits: number;
  private received: number;
  /** What peek() found: the record's position, word1 and size. */
  private peekPosition = 0;
  private peekWord1 = 0;
  private peekSize = 0;
  /** The record acquire() took. */
  private takenPosition = 0;
  private takenWord1 = 0;
  private takenSize = 0;
  private batchWake = false;
  private takes = 0;
  /** A record is taken and not yet released (a poll() handler closed the receiver). */
  private holding = false;

  /** @internal Use openReceiver(). */
  constructor(segment: NativeSegment, strategy: ResolvedEndpoint) {
    super(segment, strategy, {
      ownSignal: layout.OFF_DATA_SIGNAL,
      ownWaiters: layout.OFF_RECEIVER_WAITERS,
      peerSignal: layout.OFF_SPACE_SIGNAL,
      peerWaiters: layout.OFF_SENDER_WAITERS,
      peerRole: -1,
      peerPid: 0,
      ownThread: 0,
      peerName: 'sender',
      epochs: true,
    }, 'receiver');
    this.ring = new MpmcRing(segment, this.i32, this.f64, this.capacity, this.maxMessage,
      this.name, layout.KIND_RECEIVER);
    this.pidOffset = this.ring.slotBase + layout.SLOT_PID;
    this.ownerBits = this.ring.slot << SLOT_SHIFT;
    this.received = this.ring.initialCount();
  }

  /**
   * What is at T: a message (its header offset, with peek state set), or -1 for nothing
   * yet. Takes and releases skip records on the way; helps T past records already taken.
   */
  protected peek(): number {
    const i32 = this.i32;
    const mask = this.mask;
    for (;;) {
      const t = Atomics.load(i32, TAKE_WORD);
      const offset = t & mask;
      const index = (HEADER_SIZE + offset) >> 2;
      // acquire: pairs with the sender's commit; its payload and length are visible.
      const word1 = Atomics.load(i32, index + 1);
      if ((word1 & ~mask) !== (t & ~mask)) return -1;
      const state = word1 & STATE_MASK;
      if (state === FREE || state === CLAIMED) return -1;
      const word0 = i32[index];
      const size = this.ring.recordSize(word0, offset);
      if (size < 0 || state > ABANDONED || (t & ALIGN_MASK) !== 0) {
        this.ring.recheck(TAKE_WORD, t, `record at take position ${t >>> 0} has an impossible header`);
        continue;
      }
      if (state === TAKEN || state === RELEASED) {
        Atomics.compareExchange(i32, TAKE_WORD, t, (t + size) | 0);
        continue;
      }
      if (state === ABANDONED || word0 < 0) {
        // A skip record, or the claim of a sender that died: take it, deliver nothing.
        if (this.takeAt(t, index << 2, word1, size)) {
          this.holding = false;
          this.ring.release(t, index << 2, size, this.takenWord1);
          this.wakePeer();
        }
        continue;
      }
      this.peekPosition = t;
      this.peekWord1 = word1;
      this.peekSize = size;
      this.recordLength = word0;
      return index << 2;
    }
  }

  private takeAt(position: number, header: number, word1: number, size: number): boolean {
    this.i32[this.ring.intentWord] = position | layout.INTENT_VALID;
    const taken = (word1 & ~OWNER_AND_STATE) | this.ownerBits | TAKEN;
    if (Atomics.compareExchange(this.i32, (header >> 2) + 1, word1, taken) !== word1) return false;
    Atomics.compareExchange(this.i32, TAKE_WORD, position, (position + size) | 0);
    this.takenPosition = position;
    this.takenWord1 = taken;
    this.takenSize = size;
    this.holding = true;
    return true;
  }

  protected acquire(header: number): boolean {
    if (!this.takeAt(this.peekPosition, header, this.peekWord1, this.peekSize)) return false;
    if (STALL_AFTER_TAKE !== 0 && ++this.takes === STALL_AFTER_TAKE) stallForever();
    return true;
  }

  protected release(header: number, _length: number, inBatch = false): void {
    this.holding = false;
    this.ring.count(++this.received);
    this.ring.release(this.takenPosition, header, this.takenSize, this.takenWord1);
    if (inBatch) this.batchWake = true;
    else this.wakePeer();
  }

  protected finishBatch(): void {
    if (this.batchWake) {
      this.batchWake = false;
      this.wakePeer();
    }
  }

  /** 1: a message or something to help along at T; 0: nothing; -1: a claim not yet committed. */
  private stateAtT(): number {
    const t = Atomics.load(this.i32, TAKE_WORD);
    const word1 = Atomics.load(this.i32, this.ring.headerWord(t) + 1);
    if ((word1 & ~this.mask) !== (t & ~this.mask)) return 0;
    const state = word1 & STATE_MASK;
    return state === FREE ? 0 : state === CLAIMED ? -1 : 1;
  }

  protected drainedAndEnded(): boolean {
    return (Atomics.load(this.i32, STATE_WORD) & STATE_ENDED) !== 0 && this.stateAtT() === 0;
  }

  protected isReady(): boolean {
    return this.stateAtT() === 1 || (Atomics.load(this.i32, STATE_WORD) & STATE_ENDED) !== 0;
  }

  /**
   * While waiting: a sender that died between claim and commit blocks the record at T;
   * repair it. With nothing to take, no sender alive and one dead, ERR_RINGWIRE_PEER_DEAD.
   */
  protected override checkLiveness(): void {
    const t = Atomics.load(this.i32, TAKE_WORD);
    const word1 = Atomics.load(this.i32, this.ring.headerWord(t) + 1);
    if ((word1 & ~this.mask) === (t & ~this.mask) && (word1 & STATE_MASK) === CLAIMED) {
      this.ring.repairIfOwnerDead(t, word1);
      return;
    }
    if (this.isReady()) return;
    const { live, dead } = this.ring.peers(layout.KIND_SENDER);
    if (live === 0 && dead !== 0 && !this.isReady()) throw peerDead(this.name, 'sender', dead);
  }

  protected override releaseRing(): void {
    if (this.holding) {
      // Closed from inside a poll() handler: the handler had the message; free its space.
      this.holding = false;
      this.ring.count(++this.received);
      this.ring.release(this.takenPosition, HEADER_SIZE + (this.takenPosition & this.mask),
        this.takenSize, this.takenWord1);
      this.wakePeer();
    }
    Atomics.store(this.i32, this.ring.intentWord, 0);
  }
}
