// Validation of everything a caller passes in, so bad input fails early with a clear code.
import { invalidArg, RingwireError } from './errors.js';
import { layout, native } from './native.js';
import type { CodecOption } from './codec.js';

/**
 * How endpoints wait for room or messages once their spin is over. `'futex'` (Linux),
 * `'semaphore'` (unnamed process-shared POSIX semaphores inside the segment, for systems
 * without a futex) or `'named-semaphore'` (two named POSIX semaphores, for systems without
 * process-shared unnamed ones, such as macOS; selectable on Linux): park until woken.
 * `'spin'`: never park (async waits poll with setImmediate: CPU for latency).
 * `'auto'`: on createChannel, the futex where there is one; on openSender/openReceiver, as
 * the channel was created. The channel's choice is its endpoints' default; an endpoint may
 * choose `'spin'` for itself, and `'futex'`, `'semaphore'` or `'named-semaphore'` only if the
 * channel uses it (ERR_RINGWIRE_INCOMPATIBLE otherwise).
 */
export type WaitOption = 'auto' | 'futex' | 'semaphore' | 'named-semaphore' | 'spin';

/**
 * Which channel: its name (1–26 letters, digits, `.`, `_`, `-`: a POSIX shared-memory
 * object), the path of its file (any string with a `/`: a file-backed channel, e.g.
 * `'./data/jobs.ring'`), or `{ fd }`, the descriptor of an anonymous channel this process
 * holds (see {@link createAnonymousChannel}).
 */
export type ChannelName = string | {
  /** The anonymous channel's descriptor in this process (in a child: its index in `spawn`'s `stdio`). */
  fd: number;
};
/**
 * `'spsc'`: one sender and one receiver at a time. `'mpmc'`: any number of each (up to 48
 * endpoints in all); receivers compete, and each message goes to exactly one of them.
 * `'broadcast'`: one sender and up to 48 receivers; every receiver gets every message sent
 * while it is joined.
 */
export type ModeOption = 'spsc' | 'mpmc' | 'broadcast';

/** Options of {@link createChannel}; fixed for the channel's life. */
export interface CreateChannelOptions {
  /** Bytes of ring, a power of two from 1 KiB to 1 GiB; default 1 MiB. */
  capacity?: number;
  /** 'spsc' (default): one sender and one receiver at a time; see ModeOption. */
  mode?: ModeOption;
  /**
   * Broadcast: what the sender does when the slowest receiver is a whole ring behind.
   * 'block' (default): it waits for that receiver (backpressure, as a socket would; a
   * receiver that stops reading holds the sender until it reads, closes, dies, or the sender's
   * `lagLimit` cuts it off). 'drop': it never waits; a receiver that falls a ring behind skips
   * to the oldest message still in the ring and counts what it missed in `receiver.lost`.
   */
  overflow?: 'block' | 'drop';
  /**
   * How endpoints wait: 'auto' (default; the futex on Linux), 'futex', 'semaphore' (POSIX
   * semaphores inside the segment, the fallback where there is no futex), 'named-semaphore'
   * (named POSIX semaphores, `/dev/shm/sem.rws.<key>.d` and `.s`, removed with the channel;
   * for systems without unnamed ones), or 'spin' (never park).
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
  /**
   * The largest message the channel carries, in bytes. SPSC and broadcast: default 1 GiB, at
   * most 4 GiB − 8 (the format holds a message's length in 32 bits, and a Node 20 Buffer holds
   * at most 4 GiB); a message longer than the ring's record limit (capacity − 8) goes in
   * fragments that the receiver puts back together, so messages may be far larger than the
   * ring (send() and sendSync() write them as the receiver makes room; see the README's
   * "Messages larger than the ring"). MPMC: at most, and by default, the record limit —
   * MPMC carries no fragments (each record is claimed and taken on its own, and a receiver
   * holding the start of a message would hold every other receiver up until the rest came).
   */
  maxMessageSize?: number;
}

/** Options of {@link openSender} and {@link openReceiver}, for this endpoint only. */
export interface EndpointOptions<T = unknown> {
  /**
   * Send and receive values instead of bytes: 'json', 'v8', 'msgpack' or your own
   * { encode, decode } (see CodecOption). Both ends must use the same one.
   */
  codec?: CodecOption<T>;
  /** 'auto' (default) follows the channel; 'spin' never parks; 'futex', 'semaphore' or 'named-semaphore' must match the channel. */
  wait?: WaitOption;
  /**
   * Broadcast receivers: where to start. 'next' (default): the tail as its slot is taken, so
   * it gets every message published once it shows in stats() (with 'drop', unless the sender
   * laps it: counted lost; if the sender had already gone a ring past that tail, it starts at
   * the oldest message still in the ring). 'oldest': the oldest message still in the ring.
   */
  from?: 'next' | 'oldest';
  /**
   * Broadcast senders on a 'block' channel: milliseconds the sender waits for one receiver
   * that holds it back before it cuts that receiver off (its receives then fail with
   * ERR_RINGWIRE_CUT_OFF) and goes on without it. Default Infinity: wait as long as it takes.
   */
  lagLimit?: number;
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

/** The longest path of a file-backed channel, in bytes (PATH_MAX less its NUL). */
const MAX_PATH_BYTES = 4095;

/**
 * A channel's name or file path, checked; ERR_RINGWIRE_INVALID_NAME otherwise. A string with
 * a '/' is a file's path (not ending in '/', at most 4095 bytes, no NUL).
 */
export function checkName(name: unknown): string {
  if (typeof name !== 'string') {
    throw new RingwireError('ERR_RINGWIRE_INVALID_NAME', 'channel name must be a string');
  }
  if (name.includes('/')) {
    if (name.endsWith('/') || name.includes('\0') || Buffer.byteLength(name) > MAX_PATH_BYTES) {
      throw new RingwireError('ERR_RINGWIRE_INVALID_NAME',
        `invalid channel path ${JSON.stringify(name)}: give a file's path (not a directory), at most ${MAX_PATH_BYTES} bytes, without NUL`);
    }
    return name;
  }
  if (name.length === 0 || name.length > layout.MAX_NAME_LENGTH || !NAME_PATTERN.test(name)) {
    throw new RingwireError('ERR_RINGWIRE_INVALID_NAME',
      `invalid channel name ${JSON.stringify(name)}: use 1 to ${layout.MAX_NAME_LENGTH} letters, digits, '.', '_' or '-'`);
  }
  return name;
}

/**
 * What the addon opens for a {@link ChannelName}: the checked name or path, or the descriptor
 * of `{ fd }`.
 */
export function checkChannel(channel: unknown): string | number {
  if (typeof channel === 'object' && channel !== null && !Array.isArray(channel)) {
    const keys = Object.keys(channel);
    const fd = (channel as { fd?: unknown }).fd;
    if (keys.length !== 1 || keys[0] !== 'fd' || typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) {
      throw invalidArg(`a channel is a name, a file's path or { fd } with a descriptor number, got ${inspectValue(channel)}`);
    }
    return fd;
  }
  return checkName(channel);
}

function inspectValue(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
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
  maxMessageSize: number;
}

export function resolveCreateOptions(options: unknown): ResolvedCreate {
  const o = checkObject(options, 'createChannel option', ['capacity', 'mode', 'wait', 'persistent', 'endWhen', 'overflow', 'maxMessageSize']);
  const persistent = o.persistent ?? false;
  if (typeof persistent !== 'boolean') throw invalidArg(`persistent must be a boolean, got ${String(persistent)}`);
  const capacity = o.capacity ?? layout.DEFAULT_CAPACITY;
  if (typeof capacity !== 'number' || !Number.isInteger(capacity) || capacity < layout.MIN_CAPACITY
    || capacity > layout.MAX_CAPACITY || (capacity & (capacity - 1)) !== 0) {
    throw invalidArg(`capacity must be a power of two from ${layout.MIN_CAPACITY} to ${layout.MAX_CAPACITY} bytes, got ${String(capacity)}`);
  }
  const mode = o.mode ?? 'spsc';
  const modes: Record<string, number> = { spsc: layout.MODE_SPSC, mpmc: layout.MODE_MPMC, broadcast: layout.MODE_BROADCAST };
  if (typeof mode !== 'string' || !Object.hasOwn(modes, mode)) {
    throw invalidArg(`mode must be 'spsc', 'mpmc' or 'broadcast', got ${String(mode)}`);
  }
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
  } else if (wait === 'named-semaphore') {
    waitMechanism = layout.WAIT_NAMED_SEMAPHORE;
  } else {
    throw invalidArg(`wait must be 'auto', 'futex', 'semaphore', 'named-semaphore' or 'spin', got ${String(wait)}`);
  }
  const endWhen = o.endWhen ?? 'any-sender';
  if (endWhen !== 'any-sender' && endWhen !== 'last-sender') {
    throw invalidArg(`endWhen must be 'any-sender' or 'last-sender', got ${String(endWhen)}`);
  }
  if (endWhen === 'last-sender' && mode !== 'mpmc') {
    throw invalidArg("endWhen 'last-sender' is for mpmc channels (an spsc channel has one sender)");
  }
  const overflow = o.overflow ?? 'block';
  if (overflow !== 'block' && overflow !== 'drop') throw invalidArg(`overflow must be 'block' or 'drop', got ${String(overflow)}`);
  if (o.overflow !== undefined && mode !== 'broadcast') {
    throw invalidArg('overflow is for broadcast channels (the others always wait for their receivers)');
  }
  const flags = (persistent ? layout.FLAG_PERSISTENT : 0) | (endWhen === 'last-sender' ? layout.FLAG_END_WITH_LAST_SENDER : 0)
    | (overflow === 'drop' ? layout.FLAG_OVERFLOW_DROP : 0);
  const recordLimit = capacity - layout.RECORD_HEADER_SIZE;
  const maxMessageSize = o.maxMessageSize ?? (mode === 'mpmc' ? recordLimit : layout.DEFAULT_MAX_MESSAGE_SIZE);
  if (typeof maxMessageSize !== 'number' || !Number.isInteger(maxMessageSize) || maxMessageSize < 1
    || maxMessageSize > layout.MAX_MESSAGE_SIZE_LIMIT) {
    throw invalidArg(`maxMessageSize must be an integer from 1 to ${layout.MAX_MESSAGE_SIZE_LIMIT} bytes, got ${String(maxMessageSize)}`);
  }
  if (mode === 'mpmc' && maxMessageSize > recordLimit) {
    throw invalidArg(`maxMessageSize of an mpmc channel is at most its ring's record limit (${recordLimit} bytes with capacity ${capacity}): `
      + 'MPMC carries no fragments, since a receiver taking the start of a message would hold every other one up until the rest came; '
      + 'use a larger capacity, or an spsc or broadcast channel');
  }
  return { capacity, mode: modes[mode], waitMechanism, defaultWait, flags, maxMessageSize };
}

export interface ResolvedEndpoint {
  /** Never park: poll instead. */
  spinOnly: boolean;
  spinMicros: number;
  /** Broadcast receivers: start at the oldest message in the ring rather than the next one. */
  fromOldest: boolean;
  /** Broadcast senders: ms before a receiver holding it back is cut off (Infinity: never). */
  lagLimit: number;
  /** Which of the mode-specific options were given (the mode decides whether they apply). */
  given: readonly string[];
}

export function resolveEndpointOptions(options: unknown, channel: string, waitMechanism: number,
  defaultWait: number): ResolvedEndpoint {
  const o = checkObject(options, 'endpoint option', ['wait', 'spinMicros', 'codec', 'from', 'lagLimit']);
  const spinMicros = o.spinMicros ?? 50;
  if (typeof spinMicros !== 'number' || !(spinMicros >= 0) || spinMicros > 1e6) {
    throw invalidArg(`spinMicros must be a number from 0 to 1000000, got ${String(spinMicros)}`);
  }
  const from = o.from ?? 'next';
  if (from !== 'next' && from !== 'oldest') throw invalidArg(`from must be 'next' or 'oldest', got ${String(from)}`);
  const lagLimit = o.lagLimit ?? Infinity;
  if (typeof lagLimit !== 'number' || !(lagLimit > 0)) {
    throw invalidArg(`lagLimit must be a positive number of milliseconds, got ${String(lagLimit)}`);
  }
  const given = ['from', 'lagLimit'].filter((key) => o[key] !== undefined);
  const common = { spinMicros, fromOldest: from === 'oldest', lagLimit, given };
  const wait = o.wait ?? 'auto';
  if (wait === 'auto') return { spinOnly: defaultWait === layout.DEFAULT_WAIT_SPIN, ...common };
  if (wait === 'spin') return { spinOnly: true, ...common };
  if (wait === 'futex' || wait === 'semaphore' || wait === 'named-semaphore') {
    if (MECHANISMS[wait] !== waitMechanism) {
      const has = mechanismName(waitMechanism);
      throw new RingwireError('ERR_RINGWIRE_INCOMPATIBLE',
        `channel '${channel}' was created with wait '${has}'; open it with wait 'auto' or '${has}'`);
    }
    return { spinOnly: false, ...common };
  }
  throw invalidArg(`wait must be 'auto', 'futex', 'semaphore', 'named-semaphore' or 'spin', got ${String(wait)}`);
}

const MECHANISMS = {
  futex: layout.WAIT_FUTEX,
  semaphore: layout.WAIT_SEMAPHORE,
  'named-semaphore': layout.WAIT_NAMED_SEMAPHORE,
} as const;

/** The wait option naming a channel's wait mechanism (layout.h's WAIT_*). */
export function mechanismName(waitMechanism: number): 'futex' | 'semaphore' | 'named-semaphore' {
  return waitMechanism === layout.WAIT_FUTEX ? 'futex'
    : waitMechanism === layout.WAIT_NAMED_SEMAPHORE ? 'named-semaphore' : 'semaphore';
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
