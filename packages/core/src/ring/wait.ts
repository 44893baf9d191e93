// Doorbells and waits (include/ringwire/wait.h): how an endpoint announces that it is about to
// sleep on a signal word, how a peer that made progress rings it, and the native waits the
// sleep itself uses. layout.h ("Parking and waking", "Waking with several sleepers") states
// the protocol; the orderings it needs come from Atomics, which are sequentially consistent.
import { threadId } from 'node:worker_threads';
import { native, type NativeSegment } from '../native.js';
import { type ParkedMask, parkedBit, parkedIndex, popcount } from './layout.js';

/** What a protocol's endpoint sleeps on, and how it wakes the endpoints waiting on it. */
export interface Doorbell {
  /** Byte offset of the signal word this endpoint sleeps on. */
  readonly signal: number;
  /** The value the sleep waits against, set by arm(). */
  readonly armed: number;
  /**
   * Counts this endpoint as parked and arms its signal (a seq_cst store, the Dekker partner
   * of a waker's load of the count). False if it could not arm (signalled meanwhile): the
   * caller re-checks instead of sleeping. Undone by disarm() either way.
   */
  arm(): boolean;
  disarm(): void;
  /** Wakes the peer side if it is parked. Call after publishing a position or a state change. */
  wakePeers(): void;
  /** Wakes the endpoints of this one's own kind (a state change all of them must see). */
  wakeOwnKind(): void;
}

/**
 * SPSC: one sleeper per side. The side's waiter count says someone may sleep; the signal word
 * is a flag the waker sets from 0 to 1 before waking, and the sleeper clears before sleeping.
 */
export class FlagDoorbell implements Doorbell {
  readonly armed = 0;
  private readonly ownWaiters: number;
  private readonly peerWaiters: number;
  private readonly peerSignal: number;

  /**
   * Offsets of this side's signal, waiter count and thread word, and of the peer's signal
   * and waiter count. The caller holds its role's lock.
   */
  constructor(protected readonly i32: Int32Array, protected readonly segment: NativeSegment,
    readonly signal: number, ownWaiters: number, ownThread: number, peerSignal: number, peerWaiters: number) {
    this.ownWaiters = ownWaiters >> 2;
    this.peerWaiters = peerWaiters;
    this.peerSignal = peerSignal;
    // We hold the role's lock, so no other endpoint of this role can be parked: a count
    // left by one that died parked (or a worker terminated mid-wait) is stale. Clear it.
    Atomics.store(i32, this.ownWaiters, 0);
    Atomics.store(i32, ownThread >> 2, threadId);
  }

  arm(): boolean {
    Atomics.add(this.i32, this.ownWaiters, 1);
    Atomics.store(this.i32, this.signal >> 2, 0);
    return true;
  }

  disarm(): void {
    Atomics.sub(this.i32, this.ownWaiters, 1);
  }

  wakePeers(): void {
    wakeFlag(this.i32, this.segment, this.peerSignal, this.peerWaiters);
  }

  wakeOwnKind(): void {
    // One endpoint per side: nobody of its own kind to wake.
  }
}

/**
 * Wakes the one endpoint that may sleep on the flag at `signal` (its waiter count at
 * `waiters`). Any number of wakers may ring it.
 */
export function wakeFlag(i32: Int32Array, segment: NativeSegment, signal: number, waiters: number): void {
  // seq_cst load after the caller's seq_cst store of its position: pairs with the sleeper's
  // increment of its waiter count before its re-check (Dekker), so no wake is lost.
  const count = Atomics.load(i32, waiters >> 2);
  if (count !== 0 && Atomics.compareExchange(i32, signal >> 2, 0, 1) === 0) segment.wake(signal, count);
}

/** Broadcast's sender: it sleeps on a flag (it is alone) and wakes receivers by epoch. */
export class FlagToEpochDoorbell extends FlagDoorbell {
  constructor(i32: Int32Array, segment: NativeSegment, signal: number, ownWaiters: number, ownThread: number,
    private readonly receiversSignal: number, private readonly receiversParked: ParkedMask) {
    super(i32, segment, signal, ownWaiters, ownThread, receiversSignal, receiversParked[0]);
  }

  override wakePeers(): void {
    wakeEpoch(this.i32, this.segment, this.receiversSignal, this.receiversParked);
  }
}

/**
 * Wakes everyone parked in `parked` on the epoch word at `signal`: an even epoch is armed,
 * so it is made odd and every sleeper woken; odd means already signalled, and every sleeper
 * on the armed value is being woken.
 */
export function wakeEpoch(i32: Int32Array, segment: NativeSegment, signal: number, parked: ParkedMask): void {
  // seq_cst loads after the caller's seq_cst store: pair with a sleeper's OR of its bit.
  const waiters = Atomics.load(i32, parked[0] >> 2);
  const high = Atomics.load(i32, parked[1] >> 2);
  if ((waiters | high) === 0) return;
  const epoch = Atomics.load(i32, signal >> 2);
  if ((epoch & 1) === 0 && Atomics.compareExchange(i32, signal >> 2, epoch, (epoch + 1) | 0) === epoch) {
    segment.wake(signal, popcount(waiters) + popcount(high));
  }
}

/**
 * Several sleepers per side (MPMC, broadcast): each has a bit in its kind's parked mask, and
 * the signal word is an epoch, armed when even (layout.h, "Waking with several sleepers").
 */
export class EpochDoorbell implements Doorbell {
  armed = 0;
  private readonly parkWord: number;
  private readonly parkBit: number;
  /** Parks in progress (an async park and a sync wait may overlap): the bit is set while > 0. */
  private depth = 0;

  constructor(protected readonly i32: Int32Array, protected readonly segment: NativeSegment,
    readonly signal: number, readonly ownParked: ParkedMask, private readonly peerSignal: number,
    private readonly peerParked: ParkedMask, slot: number) {
    this.parkWord = parkedIndex(ownParked, slot);
    this.parkBit = parkedBit(slot);
  }

  arm(): boolean {
    // seq_cst OR: the Dekker partner of the waker's load of the mask.
    if (this.depth++ === 0) Atomics.or(this.i32, this.parkWord, this.parkBit);
    let epoch = Atomics.load(this.i32, this.signal >> 2);
    if ((epoch & 1) !== 0) {
      Atomics.compareExchange(this.i32, this.signal >> 2, epoch, (epoch + 1) | 0);
      epoch = Atomics.load(this.i32, this.signal >> 2);
      if ((epoch & 1) !== 0) return false; // signalled again meanwhile: re-check instead
    }
    this.armed = epoch;
    return true;
  }

  disarm(): void {
    if (--this.depth === 0) Atomics.and(this.i32, this.parkWord, ~this.parkBit);
  }

  wakePeers(): void {
    wakeEpoch(this.i32, this.segment, this.peerSignal, this.peerParked);
  }

  wakeOwnKind(): void {
    wakeEpoch(this.i32, this.segment, this.signal, this.ownParked);
  }
}

/** Broadcast's receivers: each sleeps by epoch (there are many) and wakes the one sender's flag. */
export class EpochToFlagDoorbell extends EpochDoorbell {
  constructor(i32: Int32Array, segment: NativeSegment, signal: number, ownParked: ParkedMask,
    private readonly senderSignal: number, private readonly senderWaiters: number, slot: number) {
    super(i32, segment, signal, ownParked, senderSignal, ownParked, slot);
  }

  override wakePeers(): void {
    wakeFlag(this.i32, this.segment, this.senderSignal, this.senderWaiters);
  }
}

// Native async waits report through one dispatcher per environment and addon; each id maps
// to its endpoint's handler. The map lives on the addon's exports so that two copies of this
// module loaded in one environment (two install paths, a cache-busted import, the ESM and
// CommonJS builds) share it instead of the last one to load stealing every wake.
const HANDLERS = Symbol.for('ringwire.waitHandlers');
type WakeHandlers = Map<number, (status: number) => void>;
const addon = native as unknown as { [HANDLERS]?: WakeHandlers };
const wakeHandlers: WakeHandlers = addon[HANDLERS] ?? new Map();
if (addon[HANDLERS] === undefined) {
  addon[HANDLERS] = wakeHandlers;
  native.setWaitDispatcher((id, status) => {
    const handler = wakeHandlers.get(id);
    if (handler === undefined) return;
    wakeHandlers.delete(id);
    handler(status);
  });
}

/**
 * Sleeps on a native waiter thread until `bell`'s signal is rung or `sliceMs` passes, then
 * calls `done` with WAIT_SIGNALLED or WAIT_TIMED_OUT on this thread. Returns the wait's id
 * (for cancelWait). An unref'd wait does not keep the event loop alive.
 */
export function waitAsync(segment: NativeSegment, bell: Doorbell, sliceMs: number, ref: boolean,
  done: (status: number) => void): number {
  const id = segment.waitAsync(bell.signal, sliceMs, bell.armed, ref);
  wakeHandlers.set(id, done);
  return id;
}

/** Cancels a wait from waitAsync; true if it was still pending (`done` will never run). */
export function cancelWait(segment: NativeSegment, id: number): boolean {
  wakeHandlers.delete(id);
  return segment.cancelWait(id);
}

/** Blocks this thread on `bell`'s signal for up to `ms`; WAIT_SIGNALLED or WAIT_TIMED_OUT. */
export function waitSync(segment: NativeSegment, bell: Doorbell, ms: number): number {
  return segment.waitSync(bell.signal, ms, bell.armed);
}
