// Validation of everything a caller passes in, so bad input fails early with a clear code.
import { invalidArg, RingwireError } from './errors.js';
import { layout, native } from './native.js';
import type { CodecOption } from './codec.js';

/**
 * How endpoints wait for room or messages once their spin is over. `'futex'` (Linux) or
 * `'semaphore'` (POSIX semaphores inside the segment, for systems without a futex): park
 * until woken. `'spin'`: never park (async waits poll with setImmediate: CPU for latency).
 * `'auto'`: on createChannel, the futex where there is one; on openSender/openReceiver, as
 * the channel was created. The channel's choice is its endpoints' default; an endpoint may
 * choose `'spin'` for itself, and `'futex'` or `'semaphore'` only if the channel uses it
 * (ERR_RINGWIRE_INCOMPATIBLE otherwise).
 */
export type WaitOption = 'auto' | 'futex' | 'semaphore' | 'spin';
/**
 * `'spsc'`: one sender and one receiver at a time. `'mpmc'`: any number of each (up to 48
 * endpoints in all); receivers compete, and each message goes to exactly one of them.
 */
export type ModeOption = 'spsc' | 'mpmc';

/** Options of {@link createChannel}; fixed for the channel's life. */
export interface CreateChannelOptions {
  /** Bytes of ring, a power of two from 1 KiB to 1 GiB; default 1 MiB. */
  capacity?: number;
  /** 'spsc' (default): one sender and one receiver at a time. */
  mode?: ModeOption;
  /**
   * How endpoints wait: 'auto' (default; the futex on Linux), 'futex', 'semaphore' (POSIX
   * semaphores inside the segment, the fallback where there is no futex), or 'spin' (never park).
   */
  wait?: WaitOption;
  /** gc() never removes a persistent channel; default false. */
  persistent?: boolean;
  /**
   * MPMC: when the stream ends. 'any-sender' (default): the first sender's end() ends it for
   * all, as closing a Go channel does. 'last-sender': each sender's end() ends its own part,
   * and the channel ends once a sender has ended or died and no open sender that has not
   * ended remains (fan-in: N producers, each ends when done). Its senders should open
   * before any of them ends: one opening after the end gets ERR_RINGWIRE_CLOSED.
   */
  endWhen?: 'any-sender' | 'last-sender';
}

/** Options of {@link openSender} and {@link openReceiver}, for this endpoint only. */
export interface EndpointOptions<T = unknown> {
  /**
   * Send and receive values instead of bytes: 'json', 'v8', 'msgpack' or your own
   * { encode, decode } (see CodecOption). Both ends must use the same one.
   */
  codec?: CodecOption<T>;
  /** 'auto' (default) follows the channel; 'spin' never parks; 'futex'/'semaphore' must match the channel. */
  wait?: WaitOption;
  /**
   * Microseconds to spin re-checking before parking; default 50. Not at all while this
   * thread and its peer can run only on one and the same CPU; halved after each park of 1 ms or more (down to 1 µs),
   * back to this once a spin pays or a park ends sooner.
   */
  spinMicros?: number;
}

/**
 * How long an async operation (send(), recv()) may wait. Without either it waits for as long
 * as it takes; a timeout above 2^31 − 1 ms (about 24.8 days) counts as none.
 */
export interface WaitOptions {
  /** Reject with AbortError when this signal aborts. */
  signal?: AbortSignal;
  /** Milliseconds; reject with ERR_RINGWIRE_TIMEOUT after it. */
  timeout?: number;
}

const NAME_PATTERN = /^[A-Za-z0-9._-]+$/;
const MAX_TIMER_MS = 2 ** 31 - 1;

export function checkName(name: unknown): string {
  if (typeof name !== 'string') {
    throw new RingwireError('ERR_RINGWIRE_INVALID_NAME', 'channel name must be a string');
  }
  if (name.length === 0 || name.length > layout.MAX_NAME_LENGTH || !NAME_PATTERN.test(name)) {
    throw new RingwireError('ERR_RINGWIRE_INVALID_NAME',
      `invalid channel name ${JSON.stringify(name)}: use 1 to ${layout.MAX_NAME_LENGTH} letters, digits, '.', '_' or '-'`);
  }
  return name;
}

function checkObject(value: unknown, what: string, allowed: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object') throw invalidArg(`${what} must be an object`);
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw invalidArg(`unknown ${what} '${key}' (expected ${allowed.join(', ')})`);
    }
  }
  return value as Record<string, unknown>;
}

export interface ResolvedCreate {
  flags: number;
  capacity: number;
  mode: number;
  waitMechanism: number;
  defaultWait: number;
}

export function resolveCreateOptions(options: unknown): ResolvedCreate {
  const o = checkObject(options, 'createChannel option', ['capacity', 'mode', 'wait', 'persistent', 'endWhen']);
  const persistent = o.persistent ?? false;
  if (typeof persistent !== 'boolean') throw invalidArg(`persistent must be a boolean, got ${String(persistent)}`);
  const capacity = o.capacity ?? layout.DEFAULT_CAPACITY;
  if (typeof capacity !== 'number' || !Number.isInteger(capacity) || capacity < layout.MIN_CAPACITY
    || capacity > layout.MAX_CAPACITY || (capacity & (capacity - 1)) !== 0) {
    throw invalidArg(`capacity must be a power of two from ${layout.MIN_CAPACITY} to ${layout.MAX_CAPACITY} bytes, got ${String(capacity)}`);
  }
  const mode = o.mode ?? 'spsc';
  if (mode !== 'spsc' && mode !== 'mpmc') throw invalidArg(`mode must be 'spsc' or 'mpmc', got ${String(mode)}`);
  const wait = o.wait ?? 'auto';
  const defaultWait = wait === 'spin' ? layout.DEFAULT_WAIT_SPIN : layout.DEFAULT_WAIT_PARK;
  let waitMechanism: number;
  if (wait === 'auto' || wait === 'spin') {
    waitMechanism = native.platformHasFutex ? layout.WAIT_FUTEX : layout.WAIT_SEMAPHORE;
  } else if (wait === 'futex') {
    if (!native.platformHasFutex) throw invalidArg("wait 'futex' needs Linux; use 'auto' or 'semaphore'");
    waitMechanism = layout.WAIT_FUTEX;
  } else if (wait === 'semaphore') {
    waitMechanism = layout.WAIT_SEMAPHORE;
  } else {
    throw invalidArg(`wait must be 'auto', 'futex', 'semaphore' or 'spin', got ${String(wait)}`);
  }
  const endWhen = o.endWhen ?? 'any-sender';
  if (endWhen !== 'any-sender' && endWhen !== 'last-sender') {
    throw invalidArg(`endWhen must be 'any-sender' or 'last-sender', got ${String(endWhen)}`);
  }
  if (endWhen === 'last-sender' && mode !== 'mpmc') {
    throw invalidArg("endWhen 'last-sender' is for mpmc channels (an spsc channel has one sender)");
  }
  const flags = (persistent ? layout.FLAG_PERSISTENT : 0) | (endWhen === 'last-sender' ? layout.FLAG_END_WITH_LAST_SENDER : 0);
  return {
    capacity, mode: mode === 'mpmc' ? layout.MODE_MPMC : layout.MODE_SPSC, waitMechanism, defaultWait, flags,
  };
}

export interface ResolvedEndpoint {
  /** Never park: poll instead. */
  spinOnly: boolean;
  spinMicros: number;
}

export function resolveEndpointOptions(options: unknown, channel: string, waitMechanism: number,
  defaultWait: number): ResolvedEndpoint {
  const o = checkObject(options, 'endpoint option', ['wait', 'spinMicros', 'codec']);
  const spinMicros = o.spinMicros ?? 50;
  if (typeof spinMicros !== 'number' || !(spinMicros >= 0) || spinMicros > 1e6) {
    throw invalidArg(`spinMicros must be a number from 0 to 1000000, got ${String(spinMicros)}`);
  }
  const wait = o.wait ?? 'auto';
  if (wait === 'auto') return { spinOnly: defaultWait === layout.DEFAULT_WAIT_SPIN, spinMicros };
  if (wait === 'spin') return { spinOnly: true, spinMicros };
  if (wait === 'futex' || wait === 'semaphore') {
    const wanted = wait === 'futex' ? layout.WAIT_FUTEX : layout.WAIT_SEMAPHORE;
    if (wanted !== waitMechanism) {
      const has = waitMechanism === layout.WAIT_FUTEX ? 'futex' : 'semaphore';
      throw new RingwireError('ERR_RINGWIRE_INCOMPATIBLE',
        `channel '${channel}' was created with wait '${has}'; open it with wait 'auto' or '${has}'`);
    }
    return { spinOnly: false, spinMicros };
  }
  throw invalidArg(`wait must be 'auto', 'futex', 'semaphore' or 'spin', got ${String(wait)}`);
}

export interface ResolvedWait {
  signal: AbortSignal | undefined;
  /** Milliseconds, or Infinity. */
  timeout: number;
}

export function resolveWaitOptions(options: unknown, allowSignal: boolean): ResolvedWait {
  const o = checkObject(options, 'option', allowSignal ? ['signal', 'timeout'] : ['timeout']);
  const given = o.timeout ?? Infinity;
  if (typeof given !== 'number' || !(given >= 0)) {
    throw invalidArg(`timeout must be a non-negative number of milliseconds, got ${String(given)}`);
  }
  // Timers cannot count past 2^31 - 1 ms (about 24.8 days); longer is as good as no timeout.
  const timeout = given > MAX_TIMER_MS ? Infinity : given;
  const signal = o.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw invalidArg('signal must be an AbortSignal');
  }
  return { signal, timeout };
}
