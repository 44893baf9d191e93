// The layout words (include/ringwire/layout.h): indices and constants of the shared header
// as the ring protocols use them, derived once from the layout the addon exports (the
// TypeScript hard-codes no offset).
import { Buffer } from 'node:buffer';
import { layout } from '../native.js';
import type { Message } from './contract.js';

export { layout };

/**
 * Records an endpoint may take or send before it publishes its position (layout.h,
 * PUBLISH_EVERY): a store per record makes both cores fight over the position's cache line.
 */
export const PUBLISH_EVERY = layout.PUBLISH_EVERY;
/**
 * How long one park lasts before the endpoint re-checks (and checks its peer): layout.h.
 * Tests lengthen it (RINGWIRE_TEST_PARK_SLICE_MS) to show that a wake came, not a slice's end.
 */
const testParkSlice = Number(process.env.RINGWIRE_TEST_PARK_SLICE_MS);
export const PARK_SLICE_MS = Number.isFinite(testParkSlice) && testParkSlice > 0 ? testParkSlice : layout.PARK_SLICE_MS;
/** At most this often (ms) an endpoint about to park looks for a dead peer: layout.h. */
export const PEER_CHECK_MS = layout.PEER_CHECK_MS;

/** Int32Array indices of the mutable header words. */
export const PRODUCER_WORD = layout.OFF_PRODUCER_POSITION >> 2;
export const CONSUMER_WORD = layout.OFF_CONSUMER_POSITION >> 2;
export const STATE_WORD = layout.OFF_STATE >> 2;
export const STATE_ENDED = layout.STATE_ENDED;

/** Byte offset of the ring in the mapping. */
export const HEADER_SIZE = layout.HEADER_SIZE;
export const RECORD_HEADER_SIZE = layout.RECORD_HEADER_SIZE;
export const ALIGN_MASK = layout.RECORD_ALIGNMENT - 1;
/** The length word of a padding record, as Int32Array reads it. */
export const PADDING = layout.PADDING_LENGTH | 0;

/** Float64Array indices of the message counters (see layout.h). */
export const MESSAGES_SENT_SLOT = layout.OFF_MESSAGES_SENT >> 3;
export const MESSAGES_RECEIVED_SLOT = layout.OFF_MESSAGES_RECEIVED >> 3;
/** SPSC: what the receiver has handed out (layout.h, "delivered"). */
export const DELIVERED_WORD = layout.OFF_DELIVERED_POSITION >> 2;
/** SPSC: the producer position including what the sender wrote and has not published ("written"). */
export const WRITTEN_WORD = layout.OFF_WRITTEN_POSITION >> 2;

/**
 * layout.h, "written": called with the sender's role lock held and its last holder gone.
 * Publishes the records that sender wrote after its last position store, if the walk from
 * the producer position lands exactly on the written one, within a ring of the consumer.
 * Returns true if the producer position moved.
 *
 * The sent count: the dead sender's publish stored it (counting the records it published)
 * before it stored the producer position, so it may already count what the walk finds (a
 * sender dead between the two stores). `sequenced` (broadcast: a record's second word is its
 * message's sequence number, the count of messages sent before it, mod 2^32): the count is
 * taken from the last message walked, its number + 1, so nothing is counted twice (checked:
 * between the count as it is and that plus the messages walked; otherwise, and when no
 * message was walked, the count stays as it is). SPSC records carry no number, and nothing
 * in the segment says which position the count was stored for: the messages walked are
 * added (at worst, a sender dead between those two stores leaves the stats counter the
 * messages of that publish too high; no sequence number depends on it).
 */
export function adoptWritten(i32: Int32Array, capacity: number, maxMessage: number, maxMessageSize: number,
  sequenced = false, beforePublish?: (written: number, sent: number) => void): boolean {
  const producer = Atomics.load(i32, PRODUCER_WORD);
  const written = Atomics.load(i32, WRITTEN_WORD);
  const consumer = Atomics.load(i32, CONSUMER_WORD);
  const ahead = (written - producer) >>> 0;
  if (ahead === 0 || ahead > capacity || ((written | producer) & ALIGN_MASK) !== 0
    || ((producer - consumer) >>> 0) > capacity || ((written - consumer) >>> 0) > capacity) return false;
  const mask = capacity - 1;
  let messages = 0;
  let lastSequence = 0;
  for (let position = producer; position !== written;) {
    const offset = position & mask;
    const index = (HEADER_SIZE + offset) >> 2;
    const word = i32[index];
    let size: number;
    if (word === PADDING) {
      size = capacity - offset;
    } else {
      const length = payloadLength(word, maxMessageSize);
      if (length < 0 || length > maxMessage || RECORD_HEADER_SIZE + length > capacity - offset) return false;
      size = (RECORD_HEADER_SIZE + length + ALIGN_MASK) & ~ALIGN_MASK;
      if (endsMessage(word)) {
        messages++;
        lastSequence = i32[index + 1];
      }
    }
    if (size > ((written - position) >>> 0)) return false;
    position = (position + size) | 0;
  }
  // The sender's counter is ours to update while we hold its lock (plain: published below).
  const f64 = new Float64Array(i32.buffer, 0, HEADER_SIZE >> 3);
  const counted = validCount(f64[MESSAGES_SENT_SLOT]);
  let sent = counted + messages;
  if (sequenced) {
    // The messages past what the count covers: the last one's number + 1, less the count (mod 2^32).
    const more = messages === 0 ? 0 : ((lastSequence + 1) - (counted % 0x100000000)) >>> 0;
    sent = more <= messages ? counted + more : counted;
  }
  f64[MESSAGES_SENT_SLOT] = sent;
  beforePublish?.(written, sent);
  // seq_cst: publishes those records, as the sender's own store would have.
  Atomics.store(i32, PRODUCER_WORD, written);
  return true;
}

/**
 * MPMC parked masks (layout.h, "Waking with several sleepers"): per kind, the byte offsets of
 * the words holding the bits of slots 0..31 and 32..47.
 */
export type ParkedMask = readonly [number, number];
export const PARKED_RECEIVERS: ParkedMask = [layout.OFF_RECEIVER_WAITERS, layout.OFF_RECEIVER_WAITERS_HIGH];
export const PARKED_SENDERS: ParkedMask = [layout.OFF_SENDER_WAITERS, layout.OFF_SENDER_WAITERS_HIGH];
/** The Int32Array index of the word of `mask` holding `slot`'s bit, and that bit. */
export const parkedIndex = (mask: ParkedMask, slot: number) => mask[slot < 32 ? 0 : 1] >> 2;
export const parkedBit = (slot: number) => 1 << (slot & 31);

/** Set bits in a 32-bit word. */
export function popcount(bits: number): number {
  bits -= (bits >>> 1) & 0x55555555;
  bits = (bits & 0x33333333) + ((bits >>> 2) & 0x33333333);
  return (Math.imul((bits + (bits >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** Endpoints parked in `mask` now. */
export function parkedCount(i32: Int32Array, mask: ParkedMask): number {
  return popcount(Atomics.load(i32, mask[0] >> 2)) + popcount(Atomics.load(i32, mask[1] >> 2));
}

/** A counter read back from shared memory, or 0 if a peer left nonsense there. */
export function validCount(value: number): number {
  return Number.isSafeInteger(value) && value >= 0 ? value : 0;
}

/*
 * Fragments (layout.h, "Fragments"): a message longer than one record carries goes as a start
 * record (its total length), data records and a last record. The SPSC and broadcast
 * protocols share what follows: the record walk's view of a length word, a message being
 * written, and one being put together.
 */
export const FRAGMENT_FIRST = layout.FRAGMENT_FIRST;
export const FRAGMENT_LAST = layout.FRAGMENT_LAST;
export const FRAGMENT_LENGTH_MASK = layout.FRAGMENT_LENGTH_MASK;
export const START_WORD = (layout.FRAGMENT | layout.FRAGMENT_FIRST | layout.FRAGMENT_START_BYTES) | 0;
const DATA_WORD = layout.FRAGMENT | 0;

/**
 * The payload length a record's length word names (a whole record's length, or a fragment's
 * bytes), and whether it is a start record of the right length: -1 if it can be neither (a
 * whole record longer than `maxWhole`, the channel's maxMessageSize, is not one a sender
 * writes). For walks that only need sizes (padding is the caller's, checked first).
 */
export function payloadLength(word: number, maxWhole: number): number {
  if (word >= 0) return word <= maxWhole ? word : -1;
  if ((word & FRAGMENT_FIRST) !== 0) return word === START_WORD ? layout.FRAGMENT_START_BYTES : -1;
  return word & FRAGMENT_LENGTH_MASK;
}

/** Whether a record with this length word ends a message (a whole record or a last one). */
export const endsMessage = (word: number) => word >= 0 || (word & FRAGMENT_LAST) !== 0;

/** A message a sender is writing in fragments, and how far it got. */
export class Outgoing {
  /** The bytes (a string's as UTF-8). */
  readonly bytes: Uint8Array;
  /** Bytes written so far; -1 before the start record. */
  done = -1;
  /** The next record's length word and payload bytes (set by next()). */
  word = 0;
  chunk = 0;

  constructor(readonly source: Message, readonly length: number, private readonly fragmentBytes: number) {
    this.bytes = typeof source === 'string' ? Buffer.from(source, 'utf8') : source;
  }

  /**
   * Sets word and chunk for the next record, `tail` bytes before the ring's end: a data record
   * carries at most fragmentBytes and ends at the ring's end rather than padding to it.
   */
  next(tail: number): void {
    if (this.done < 0) {
      this.word = START_WORD;
      this.chunk = layout.FRAGMENT_START_BYTES;
      return;
    }
    let chunk = Math.min(this.length - this.done, this.fragmentBytes);
    if (tail - RECORD_HEADER_SIZE < chunk && tail >= 2 * RECORD_HEADER_SIZE) chunk = tail - RECORD_HEADER_SIZE;
    this.chunk = chunk;
    this.word = (DATA_WORD | (this.done + chunk === this.length ? FRAGMENT_LAST : 0) | chunk) | 0;
  }

  /** Writes the payload of the record next() described at `payload` in the mapping; true when that was the last. */
  fill(u8: Uint8Array, i32: Int32Array, payload: number): boolean {
    if (this.done < 0) {
      i32[payload >> 2] = this.length | 0;
      i32[(payload >> 2) + 1] = 0;
      this.done = 0;
      return false;
    }
    u8.set(this.bytes.subarray(this.done, this.done + this.chunk), payload);
    this.done += this.chunk;
    return this.done === this.length;
  }
}

/**
 * A message a receiver is putting together from fragments. Its copy has RECORD_HEADER_SIZE
 * bytes before the message, so the message sits where a record's payload would (offset 0 is
 * its "header"): the API reads both alike.
 */
export class Assembly {
  /** The copy being filled; undefined when no message is begun. */
  buffer: Uint8Array | undefined = undefined;
  /**
   * A copy handed over earlier and given back (its message was only copied out): filled again
   * by a message that fits it, so a stream of large messages received into the caller's own
   * buffer allocates (and faults in) no new memory per message.
   */
  private spare: Uint8Array | undefined = undefined;
  total = 0;
  filled = 0;

  constructor(private readonly maxMessageSize: number) {}

  /** Whether `total` may begin a message (1..maxMessageSize). */
  canStart(total: number): boolean {
    return total >= 1 && total <= this.maxMessageSize;
  }

  /** Begins a message of `total` bytes (checked with canStart), dropping one begun. */
  start(total: number): void {
    const bytes = RECORD_HEADER_SIZE + total;
    const spare = this.spare;
    // A spare at most twice the size, so one huge message does not pin its memory for good.
    // A new copy is zero-filled, so nothing of the heap shows through (for large sizes the
    // allocator maps fresh pages, which cost nothing until written); a spare held only this
    // receiver's messages, and every byte handed out is written first.
    this.buffer = spare !== undefined && spare.length >= bytes && spare.length <= 2 * bytes
      ? spare.subarray(0, bytes) : new Uint8Array(bytes);
    this.spare = undefined;
    this.total = total;
    this.filled = 0;
  }

  /** Whether a data (or, `last`, a last) record of `n` bytes may follow what is filled. */
  fits(n: number, last: boolean): boolean {
    const left = this.total - this.filled;
    return n <= left && (n === left) === last;
  }

  /** Appends u8[at, at + n) (checked with fits). */
  append(u8: Uint8Array, at: number, n: number): void {
    this.buffer!.set(u8.subarray(at, at + n), RECORD_HEADER_SIZE + this.filled);
    this.filled += n;
  }

  /** Hands the whole message over (its copy: see the class) and forgets it. */
  finish(): Uint8Array {
    const whole = this.buffer!;
    this.buffer = undefined;
    return whole;
  }

  drop(): void {
    this.buffer = undefined;
  }

  /** A copy from finish() whose message was only copied out: it may serve a later message. */
  giveBack(copy: Uint8Array): void {
    this.spare = new Uint8Array(copy.buffer, copy.byteOffset, copy.buffer.byteLength - copy.byteOffset);
  }
}
