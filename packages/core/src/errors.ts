// Every error ringwire throws has a stable `code`; messages say what to do next.

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
  | 'ERR_RINGWIRE_SYSTEM'
  | 'ERR_RINGWIRE_NO_SPACE'
  | 'ERR_RINGWIRE_TASK_FAILED'
  | 'ERR_RINGWIRE_WORKER_DIED'
  | 'ERR_RINGWIRE_DECODE'
  | 'ERR_RINGWIRE_NATIVE_UNAVAILABLE';

/**
 * Marks ringwire's errors, so `instanceof RingwireError` holds across copies of this module
 * (the ESM and CommonJS builds loaded in one process, or two installed versions).
 */
const BRAND = Symbol.for('ringwire.RingwireError');

export class RingwireError extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as { [BRAND]?: boolean })[BRAND] === true
      && (this === RingwireError || Function.prototype[Symbol.hasInstance].call(this, value));
  }

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
