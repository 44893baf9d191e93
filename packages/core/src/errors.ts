// Every error ringwire throws has a stable `code`; messages say what to do next.

/**
 * The `code` of a {@link RingwireError}: stable, so match on it rather than on the message.
 * - `ERR_RINGWIRE_EXISTS`: createChannel() with a name that is taken.
 * - `ERR_RINGWIRE_NOT_FOUND`: no channel by that name.
 * - `ERR_RINGWIRE_INVALID_NAME`: a name that is not 1–26 letters, digits, `.`, `_` or `-`,
 *   nor a file's path (a string with a `/`, not ending in one, at most 4095 bytes, no NUL).
 * - `ERR_RINGWIRE_INVALID_ARG`: a bad argument or option, or a call out of order (a send
 *   between tryClaim() and commit(), a value a codec cannot encode).
 * - `ERR_RINGWIRE_INCOMPATIBLE`: not a ringwire channel (or not a regular file; or, for
 *   `{ fd }`, not a sealed anonymous channel), another layout version, or options that do not
 *   match the channel (`wait: 'futex'` on a semaphore channel).
 * - `ERR_RINGWIRE_CORRUPT`: the segment or a peer broke the protocol.
 * - `ERR_RINGWIRE_TOO_LARGE`: a message larger than the channel can ever carry (or than
 *   tryRecvInto()'s target has room for).
 * - `ERR_RINGWIRE_TIMEOUT`: a `timeout` passed.
 * - `ERR_RINGWIRE_CLOSED`: the endpoint was closed, or the stream has ended.
 * - `ERR_RINGWIRE_BUSY`: SPSC: the role is taken; MPMC: all 48 endpoint slots are; pool: a
 *   second TaskClient.
 * - `ERR_RINGWIRE_PERMISSION`: the segment (or file, or named semaphore) belongs to another
 *   user or is open to others (its mode is not 0600), or the system refused access.
 * - `ERR_RINGWIRE_PEER_DEAD`: the peer died without closing, and no other is there to take
 *   its place (ringwire/pool: the pool process that took the task died).
 * - `ERR_RINGWIRE_CUT_OFF`: broadcast: this receiver held a 'block' sender back longer than
 *   the sender's `lagLimit` and was cut off; it receives nothing more (close it; a new receiver
 *   may join).
 * - `ERR_RINGWIRE_SYSTEM`: a system call failed (`errno` and `syscall` say which).
 * - `ERR_RINGWIRE_NO_SPACE`: `/dev/shm` (for a file-backed channel, its file system) cannot
 *   hold the channel.
 * - `ERR_RINGWIRE_TASK_FAILED`: ringwire/pool: the task's handler threw, its payload could not
 *   be decoded, or its result did not fit the result channel.
 * - `ERR_RINGWIRE_WORKER_DIED`: ringwire/pool: the worker thread running the task died.
 * - `ERR_RINGWIRE_DECODE`: a codec could not decode a received message (it was taken).
 * - `ERR_RINGWIRE_NATIVE_UNAVAILABLE`: the addon is missing or does not load; the message
 *   says what to install or run.
 * - `ERR_RINGWIRE_MISSING_DEPENDENCY`: an optional peer dependency a part of ringwire needs
 *   is not installed (ringwire/nats: the NATS client); the message says what to install.
 */
export type RingwireErrorCode =
  | 'ERR_RINGWIRE_EXISTS'
  | 'ERR_RINGWIRE_NOT_FOUND'
  | 'ERR_RINGWIRE_INVALID_NAME'
  | 'ERR_RINGWIRE_INVALID_ARG'
  | 'ERR_RINGWIRE_INCOMPATIBLE'
  | 'ERR_RINGWIRE_CORRUPT'
  | 'ERR_RINGWIRE_TOO_LARGE'
  | 'ERR_RINGWIRE_TIMEOUT'
  | 'ERR_RINGWIRE_CLOSED'
  | 'ERR_RINGWIRE_BUSY'
  | 'ERR_RINGWIRE_PERMISSION'
  | 'ERR_RINGWIRE_PEER_DEAD'
  | 'ERR_RINGWIRE_CUT_OFF'
  | 'ERR_RINGWIRE_SYSTEM'
  | 'ERR_RINGWIRE_NO_SPACE'
  | 'ERR_RINGWIRE_TASK_FAILED'
  | 'ERR_RINGWIRE_WORKER_DIED'
  | 'ERR_RINGWIRE_DECODE'
  | 'ERR_RINGWIRE_NATIVE_UNAVAILABLE'
  | 'ERR_RINGWIRE_MISSING_DEPENDENCY';

/**
 * Marks ringwire's errors, so `instanceof RingwireError` holds across copies of this module
 * (the ESM and CommonJS builds loaded in one process, or two installed versions).
 */
const BRAND = Symbol.for('ringwire.RingwireError');

/**
 * Every error ringwire throws (except aborts: {@link AbortError}). Its `code` says what
 * happened; its message says what to do next. `instanceof RingwireError` holds across the
 * ESM and CommonJS builds loaded in one process.
 *
 * @example
 * ```ts
 * import { createChannel, RingwireError } from 'ringwire';
 *
 * try {
 *   createChannel('jobs', { capacity: 1 << 20 });
 * } catch (error) {
 *   // Another process created it first: use theirs.
 *   if (!(error instanceof RingwireError && error.code === 'ERR_RINGWIRE_EXISTS')) throw error;
 * }
 * ```
 */
export class RingwireError extends Error {
  /**
   * True for any RingwireError, including one made by another copy of this module (the ESM
   * and CommonJS builds, or two installed versions), which a plain prototype check misses.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as { [BRAND]?: boolean })[BRAND] === true
      && (this === RingwireError || Function.prototype[Symbol.hasInstance].call(this, value));
  }

  /** What happened; see {@link RingwireErrorCode}. */
  readonly code: RingwireErrorCode;
  // `declare`: set only when known, so errors without them do not show `errno: undefined`.
  /** For errors caused by a failed system call (ERR_RINGWIRE_SYSTEM and others): its errno. */
  declare readonly errno?: number;
  /** ...and which call failed ('shm_open', 'posix_fallocate', ...). */
  declare readonly syscall?: string;
  constructor(code: RingwireErrorCode, message: string, options?: { errno?: number; syscall?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RingwireError';
    Object.defineProperty(this, BRAND, { value: true });
    this.code = code;
    if (options?.errno !== undefined) (this as { errno?: number }).errno = options.errno;
    if (options?.syscall !== undefined) (this as { syscall?: string }).syscall = options.syscall;
  }
}

/** What an aborted send/recv rejects with, shaped like Node's own AbortError. */
export class AbortError extends Error {
  /** Always `'ABORT_ERR'`, as Node's AbortError has; the signal's reason is the `cause`. */
  readonly code = 'ABORT_ERR';
  constructor(reason?: unknown) {
    super('The operation was aborted', reason === undefined ? undefined : { cause: reason });
    this.name = 'AbortError';
  }
}

export function invalidArg(message: string): RingwireError {
  return new RingwireError('ERR_RINGWIRE_INVALID_ARG', message);
}

export function corrupt(channel: string, what: string): RingwireError {
  return new RingwireError('ERR_RINGWIRE_CORRUPT',
    `channel '${channel}' is corrupt: ${what}; a peer wrote bytes that break the protocol`);
}

export function closed(channel: string, what: string): RingwireError {
  return new RingwireError('ERR_RINGWIRE_CLOSED', `${what} of channel '${channel}' is closed`);
}

export function timedOut(channel: string, operation: string, ms: number): RingwireError {
  return new RingwireError('ERR_RINGWIRE_TIMEOUT',
    `${operation} on channel '${channel}' timed out after ${ms} ms`);
}

/** A send into a stream that has ended (this sender's end(), or another's on MPMC). */
export function streamEnded(channel: string): RingwireError {
  return new RingwireError('ERR_RINGWIRE_CLOSED', `channel '${channel}' has ended; no more messages can be sent`);
}
