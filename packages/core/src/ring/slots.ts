// The endpoint slot table (include/ringwire/slots.h; layout.h, "MPMC protocol" and "Broadcast
// protocol"): modes with many endpoints give each one a slot of the header, locked by the
// kernel on the slot's lock byte while its holder lives. Taking a slot, counting the peers in
// the others, and clearing what endpoints that died parked left in the parked masks.
import { threadId } from 'node:worker_threads';
import { RingwireError } from '../errors.js';
import { layout } from '../native.js';
import { type ParkedMask, parkedBit, parkedIndex, validCount } from './layout.js';
import type { RingView } from './segment.js';

/** Byte offset of slot `slot`'s field at `field`. */
export const slotField = (slot: number, field: number) => layout.OFF_SLOTS + slot * layout.SLOT_SIZE + field;

export interface PeerCount {
  live: number;
  dead: number;
}

/** How often an endpoint looks for parked bits left by dead endpoints (see reconcileParked). */
const RECONCILE_EVERY_MS = 1000;

export interface SlotPolicy {
  /** The mode's name, for ERR_RINGWIRE_BUSY. */
  mode: string;
  /** Called with the slot's lock held when its last holder died without closing. */
  takeOver?(slot: number): void;
  /** Counts of a reused slot go to the channel's retired totals always, not only on a change of kind. */
  retireEveryReuse?: boolean;
  /**
   * The mode's parked masks (a bit per slot), whose bit for the slot is cleared when it is
   * taken. Only masks: broadcast's sender waiter word is a count, not a mask.
   */
  parked: readonly ParkedMask[];
  /** Called with the slot's lock held, just before its pid is stored (the slot counts from then). */
  beforeJoin?(slot: number): void;
}

/**
 * Takes a free slot for an endpoint of `kind`, preferring one never used or closed cleanly:
 * a slot whose holder died keeps that record (stats, ERR_RINGWIRE_PEER_DEAD) until no other
 * is free. ERR_RINGWIRE_BUSY if every slot is held. Returns the slot, its lock held.
 */
export function openSlot(view: RingView, kind: number, policy: SlotPolicy): number {
  const i32 = view.i32;
  // Pass 0: clean slots last used by this kind (or never); 1: any clean slot; 2: any.
  for (let pass = 0; pass < 3; pass++) {
    for (let slot = 0; slot < layout.MAX_SLOTS; slot++) {
      const pid = Atomics.load(i32, slotField(slot, layout.SLOT_PID) >> 2);
      const was = Atomics.load(i32, slotField(slot, layout.SLOT_KIND) >> 2);
      if (pass < 2 && pid !== 0) continue;
      if (pass === 0 && was !== kind && was !== 0) continue;
      if (takeSlot(view, slot, kind, policy)) return slot;
    }
  }
  throw new RingwireError('ERR_RINGWIRE_BUSY',
    `channel '${view.name}' already has ${layout.MAX_SLOTS} open endpoints, the most a ${policy.mode} channel can have`);
}

function takeSlot(view: RingView, slot: number, kind: number, policy: SlotPolicy): boolean {
  const { i32, f64, segment } = view;
  if (!segment.lock(layout.SLOT_LOCK_BASE + slot)) return false;
  const word = (field: number) => slotField(slot, field) >> 2;
  // A holder that died parked left its bit in a parked mask: clear it (we hold the lock),
  // before any repair wakes sleepers.
  for (const mask of policy.parked) Atomics.and(i32, parkedIndex(mask, slot), ~parkedBit(slot));
  // A pid left behind: its holder died without closing. We own its leftovers now.
  if (Atomics.load(i32, word(layout.SLOT_PID)) !== 0) policy.takeOver?.(slot);
  const was = Atomics.load(i32, word(layout.SLOT_KIND));
  if (was !== 0 && (was !== kind || policy.retireEveryReuse === true)) {
    // The slot's count moves to the channel's retired total for its kind (kept on the SPSC
    // counter words, unused by these modes) and the slot starts from zero.
    const count = slotField(slot, layout.SLOT_MESSAGES) >> 3;
    const retired = (was === layout.KIND_SENDER ? layout.OFF_MESSAGES_SENT : layout.OFF_MESSAGES_RECEIVED) >> 3;
    addCount(view, retired, validCount(f64[count]));
    f64[count] = 0;
  }
  Atomics.store(i32, word(layout.SLOT_KIND), kind);
  Atomics.store(i32, word(layout.SLOT_THREAD), threadId);
  Atomics.store(i32, word(layout.SLOT_INTENT), 0);
  Atomics.store(i32, word(layout.SLOT_ENDED), 0);
  policy.beforeJoin?.(slot);
  Atomics.store(i32, word(layout.SLOT_PID), process.pid);
  return true;
}

const scratch = new Float64Array(1);
const scratchBits = new BigInt64Array(scratch.buffer);

/**
 * Adds `value` to the float64 counter at Float64Array index `index`: a CAS on its bits, since
 * endpoints opening at once retire into the same total.
 */
function addCount(view: RingView, index: number, value: number): void {
  const big64 = new BigInt64Array(view.segment.buffer, 0, layout.HEADER_SIZE >> 3);
  for (;;) {
    const bits = Atomics.load(big64, index);
    scratchBits[0] = bits;
    scratch[0] = validCount(scratch[0]) + value;
    if (Atomics.compareExchange(big64, index, bits, scratchBits[0]) === bits) return;
  }
}

/**
 * Endpoints of `kind` in slots other than `own` with a pid recorded: live (lock held) or dead.
 * The pid is read again after the lock: an endpoint closing cleanly clears its pid before the
 * kernel drops its lock, so a slot whose pid changed meanwhile is not counted dead.
 */
export function peers(view: RingView, kind: number, own: number): PeerCount {
  const { i32, segment } = view;
  const count = { live: 0, dead: 0 };
  for (let slot = 0; slot < layout.MAX_SLOTS; slot++) {
    const pid = Atomics.load(i32, slotField(slot, layout.SLOT_PID) >> 2);
    if (slot === own || Atomics.load(i32, slotField(slot, layout.SLOT_KIND) >> 2) !== kind || pid === 0) continue;
    if (segment.isLockedByOther(layout.SLOT_LOCK_BASE + slot)) count.live++;
    else if (Atomics.load(i32, slotField(slot, layout.SLOT_PID) >> 2) === pid) count.dead++;
  }
  return count;
}

/**
 * Clears the parked bits of endpoints that died parked (layout.h, "Waking with several
 * sleepers"): a bit whose slot's lock we can take belongs to nobody alive. Otherwise every
 * wake would go on counting them (a semaphore token each). A lock attempt (a system call) per
 * parked endpoint: at most once per RECONCILE_EVERY_MS per caller.
 */
export class ParkedReconciler {
  private last = -Infinity;

  /** `masks`: the mode's parked masks (never a waiter count); `own`: this endpoint's slot, or -1. */
  constructor(private readonly view: RingView, private readonly own: number, private readonly masks: readonly ParkedMask[]) {}

  reconcile(): void {
    const now = performance.now();
    if (now - this.last < RECONCILE_EVERY_MS) return;
    this.last = now;
    const { i32, segment } = this.view;
    for (const mask of this.masks) {
      for (let half = 0; half < 2; half++) {
        const index = mask[half] >> 2;
        let bits = Atomics.load(i32, index);
        while (bits !== 0) {
          const bit = bits & -bits;
          bits ^= bit;
          const slot = half * 32 + (31 - Math.clz32(bit));
          if (slot === this.own || slot >= layout.MAX_SLOTS) {
            if (slot >= layout.MAX_SLOTS) Atomics.and(i32, index, ~bit); // no such slot: a peer's scribble
            continue;
          }
          if (!segment.lock(layout.SLOT_LOCK_BASE + slot)) continue; // alive
          try {
            Atomics.and(i32, index, ~bit);
          } finally {
            segment.unlock(layout.SLOT_LOCK_BASE + slot);
          }
        }
      }
    }
  }
}
