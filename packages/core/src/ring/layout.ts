// The layout words (include/ringwire/layout.h): indices and constants of the shared header
// as the ring protocols use them, derived once from the layout the addon exports (the
// TypeScript hard-codes no offset).
import { layout } from '../native.js';

export { layout };

/**
 * Records an endpoint may take or send before it publishes its position (layout.h,
 * PUBLISH_EVERY): a store per record makes both cores fight over the position's cache line.
 */
export const PUBLISH_EVERY = layout.PUBLISH_EVERY;
/** How long one park lasts before the endpoint re-checks (and checks its peer): layout.h. */
export const PARK_SLICE_MS = layout.PARK_SLICE_MS;
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
 */
export function adoptWritten(i32: Int32Array, capacity: number, maxMessage: number,
  beforePublish?: (written: number, sent: number) => void): boolean {
  const producer = Atomics.load(i32, PRODUCER_WORD);
  const written = Atomics.load(i32, WRITTEN_WORD);
  const consumer = Atomics.load(i32, CONSUMER_WORD);
  const ahead = (written - producer) >>> 0;
  if (ahead === 0 || ahead > capacity || ((written | producer) & ALIGN_MASK) !== 0
    || ((producer - consumer) >>> 0) > capacity || ((written - consumer) >>> 0) > capacity) return false;
  const mask = capacity - 1;
  let messages = 0;
  for (let position = producer; position !== written;) {
    const offset = position & mask;
    const word = i32[(HEADER_SIZE + offset) >> 2];
    let size: number;
    if (word === PADDING) {
      size = capacity - offset;
    } else {
      const length = word >>> 0;
      if (length > maxMessage || RECORD_HEADER_SIZE + length > capacity - offset) return false;
      size = (RECORD_HEADER_SIZE + length + ALIGN_MASK) & ~ALIGN_MASK;
      messages++;
    }
    if (size > ((written - position) >>> 0)) return false;
    position = (position + size) | 0;
  }
  // The sender's counter is ours to update while we hold its lock (plain: published below).
  const f64 = new Float64Array(i32.buffer, 0, HEADER_SIZE >> 3);
  f64[MESSAGES_SENT_SLOT] = validCount(f64[MESSAGES_SENT_SLOT]) + messages;
  beforePublish?.(written, f64[MESSAGES_SENT_SLOT]);
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
