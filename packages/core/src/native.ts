// The addon's surface, declared once (the C++ lives in packages/native). Everything else in
// core sees these typed functions; nothing else touches the addon.
import { RingwireError, type RingwireErrorCode } from './errors.js';
import { loadAddon } from './load-addon.cjs';

/** Offsets (bytes) and constants of the segment layout, from ringwire/layout.h. */
export interface Layout {
  readonly MAGIC: number;
  readonly VERSION: number;
  readonly HEADER_SIZE: number;
  readonly LINE_SIZE: number;
  readonly IDENTITY_SALT: number;
  readonly IDENTITY_WORDS: number;
  readonly OFF_MAGIC: number;
  readonly OFF_VERSION: number;
  readonly OFF_HEADER_SIZE: number;
  readonly OFF_CAPACITY: number;
  readonly OFF_MODE: number;
  readonly OFF_WAIT_MECHANISM: number;
  readonly OFF_DEFAULT_WAIT: number;
  readonly OFF_MAX_MESSAGE: number;
  readonly OFF_CREATOR_UID: number;
  readonly OFF_CREATOR_PID: number;
  readonly OFF_CREATED_AT_LOW: number;
  readonly OFF_CREATED_AT_HIGH: number;
  readonly OFF_RECORD_ALIGNMENT: number;
  readonly OFF_RECORD_HEADER_SIZE: number;
  readonly OFF_FLAGS: number;
  readonly OFF_IDENTITY_CHECK: number;
  readonly OFF_MAX_MESSAGE_SIZE: number;
  readonly FRAGMENT: number;
  readonly FRAGMENT_FIRST: number;
  readonly FRAGMENT_LAST: number;
  readonly FRAGMENT_LENGTH_BITS: number;
  readonly FRAGMENT_LENGTH_MASK: number;
  readonly FRAGMENT_START_BYTES: number;
  readonly MAX_MESSAGE_SIZE_LIMIT: number;
  readonly DEFAULT_MAX_MESSAGE_SIZE: number;
  readonly OFF_PRODUCER_POSITION: number;
  readonly OFF_CONSUMER_POSITION: number;
  readonly OFF_DATA_SIGNAL: number;
  readonly OFF_RECEIVER_WAITERS: number;
  readonly OFF_SPACE_SIGNAL: number;
  readonly OFF_SENDER_WAITERS: number;
  readonly OFF_STATE: number;
  readonly OFF_SENDER_PID: number;
  readonly OFF_RECEIVER_PID: number;
  readonly OFF_SENDER_THREAD: number;
  readonly OFF_RECEIVER_THREAD: number;
  readonly OFF_MESSAGES_SENT: number;
  readonly OFF_MESSAGES_RECEIVED: number;
  readonly OFF_DELIVERED_POSITION: number;
  readonly OFF_WRITTEN_POSITION: number;
  readonly OFF_DATA_SEMAPHORE: number;
  readonly OFF_SPACE_SEMAPHORE: number;
  readonly SEMAPHORE_BYTES: number;
  readonly OFF_SEMAPHORE_KEY: number;
  readonly OFF_RECEIVER_WAITERS_HIGH: number;
  readonly OFF_SENDER_WAITERS_HIGH: number;
  readonly STATE_ENDED: number;
  readonly STATE_SENDER_ENDED: number;
  readonly FLAG_END_WITH_LAST_SENDER: number;
  readonly SLOT_ENDED: number;
  readonly FLAG_PERSISTENT: number;
  readonly MODE_SPSC: number;
  readonly MODE_MPMC: number;
  readonly MODE_BROADCAST: number;
  readonly WAIT_FUTEX: number;
  readonly WAIT_SEMAPHORE: number;
  readonly WAIT_NAMED_SEMAPHORE: number;
  readonly DEFAULT_WAIT_PARK: number;
  readonly DEFAULT_WAIT_SPIN: number;
  readonly RECORD_ALIGNMENT: number;
  readonly RECORD_HEADER_SIZE: number;
  readonly PADDING_LENGTH: number;
  readonly MIN_CAPACITY: number;
  readonly MAX_CAPACITY: number;
  readonly DEFAULT_CAPACITY: number;
  readonly MAX_NAME_LENGTH: number;
  readonly ROLE_SENDER: number;
  readonly ROLE_RECEIVER: number;
  readonly PARK_SLICE_MS: number;
  readonly PEER_CHECK_MS: number;
  readonly PUBLISH_EVERY: number;
  readonly SEMAPHORE_POST_CAP: number;
  readonly OFF_CLAIM_POSITION: number;
  readonly OFF_TAKE_POSITION: number;
  readonly OFF_RELEASE_POSITION: number;
  readonly OFF_SLOTS: number;
  readonly SLOT_SIZE: number;
  readonly MAX_SLOTS: number;
  readonly SLOT_PID: number;
  readonly SLOT_THREAD: number;
  readonly SLOT_KIND: number;
  readonly SLOT_INTENT: number;
  readonly SLOT_MESSAGES: number;
  readonly SLOT_SIZE_OR_END: number;
  readonly SLOT_LOCK_BASE: number;
  readonly KIND_SENDER: number;
  readonly KIND_RECEIVER: number;
  readonly SLOT_CURSOR: number;
  readonly SLOT_LOST: number;
  readonly SLOT_CUT: number;
  readonly OFF_OLDEST_POSITION: number;
  readonly OFF_INTENT_POSITION: number;
  readonly FLAG_OVERFLOW_DROP: number;
  readonly INTENT_VALID: number;
  readonly STATE_MASK: number;
  readonly SLOT_SHIFT: number;
  readonly SLOT_FIELD_MASK: number;
  readonly REC_FREE: number;
  readonly REC_CLAIMED: number;
  readonly REC_COMMITTED: number;
  readonly REC_RELEASED: number;
  readonly REC_ABANDONED: number;
  readonly SKIP: number;
  readonly WAIT_SIGNALLED: number;
  readonly WAIT_TIMED_OUT: number;
}

/** The identity line of a segment as its opener validated it (never re-read). */
export interface SegmentInfo {
  readonly name: string;
  readonly capacity: number;
  readonly mode: number;
  readonly waitMechanism: number;
  readonly defaultWait: number;
  /** The most one record carries. */
  readonly maxMessage: number;
  /** The largest message (layout.h, "Fragments"). */
  readonly maxMessageSize: number;
  readonly creatorUid: number;
  readonly creatorPid: number;
  readonly createdAt: number;
  readonly flags: number;
  /** Where its bytes are: a shared-memory object, a file, or an anonymous memfd. */
  readonly backing: 'shm' | 'file' | 'anonymous';
}

/** An open, validated mapping of a channel's shared-memory object. */
export interface NativeSegment {
  /** The whole mapping (header + ring); detached by close(). */
  readonly buffer: ArrayBuffer;
  readonly info: SegmentInfo;
  /** Takes this endpoint's role lock; false when another endpoint holds it. */
  lock(role: number): boolean;
  /** Gives back a lock taken with lock() (MPMC: a repaired slot). */
  unlock(role: number): void;
  /** Whether an endpoint other than this one holds the role lock. */
  isLockedByOther(role: number): boolean;
  /** The object's inode (to tell whether its name still leads to it). */
  inode(): number;
  /** Wakes those parked on a signal word; `waiters` sizes a semaphore post. */
  wake(signalOffset: number, waiters: number): number;
  /**
   * Blocks this thread while the signal word equals `expected` (default 0); returns
   * WAIT_SIGNALLED or WAIT_TIMED_OUT.
   */
  waitSync(signalOffset: number, timeoutMs: number, expected?: number): number;
  /**
   * Parks on a native waiter thread; the dispatcher gets (id, status). Returns the id. An
   * unref'd wait (`ref` false) does not keep the event loop alive.
   */
  waitAsync(signalOffset: number, timeoutMs: number, expected?: number, ref?: boolean): number;
  /** Whether a pending wait keeps the event loop alive; false if it is not pending. */
  refWait(id: number, ref: boolean): boolean;
  /** True when the wait was pending; its result will never be dispatched. */
  cancelWait(id: number): boolean;
  /** Tokens waiting on a semaphore channel's signal (-1 on a futex channel). */
  semaphoreValue(signalOffset: number): number;
  /**
   * Resolves once the channel's file holds everything written to the mapping (msync on the
   * thread pool); at once for shared memory and anonymous channels.
   */
  sync(): Promise<void>;
  /** Detaches `buffer`, drops role locks, unmaps once no wait needs the memory. */
  close(): void;
}

export interface NativeAddon {
  readonly layout: Layout;
  readonly platformHasFutex: boolean;
  createSegment(name: string, capacity: number, mode: number, waitMechanism: number,
    defaultWait: number, flags: number, maxMessageSize?: number): void;
  unlinkSegment(name: string): boolean;
  /** A sealed anonymous (memfd) channel; returns its descriptor (close-on-exec). */
  createAnonymous(capacity: number, mode: number, waitMechanism: number, defaultWait: number, flags: number,
    maxMessageSize?: number): number;
  setWaitDispatcher(dispatch: (id: number, status: number) => void): void;
  /** How the addon makes the errors it throws. */
  setErrorFactory(make: (code: string, message: string, errno?: number, syscall?: string) => Error): void;
  /** Opens a channel by name or path, or an anonymous one by descriptor. */
  Segment: new (name: string | number) => NativeSegment;
}

/**
 * @ringwire/native's addon, or ERR_RINGWIRE_NATIVE_UNAVAILABLE saying why it is not there
 * and what to install or run (with the loader's error as `cause`).
 */
function load(): NativeAddon {
  try {
    return loadAddon() as NativeAddon;
  } catch (error) {
    throw new RingwireError('ERR_RINGWIRE_NATIVE_UNAVAILABLE', unavailable(error), { cause: error });
  }
}

function unavailable(error: unknown): string {
  const text = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  const here = `${process.platform}-${process.arch}, Node ${process.version} (ABI ${process.versions.modules}, `
    + `N-API ${process.versions.napi ?? 'none'})`;
  const build = 'building it from source needs python3, make and a C++17 compiler (g++ or clang): install '
    + 'them, then run `npm rebuild @ringwire/native` (npm skips its install script under '
    + '--ignore-scripts and when your package.json\'s allowScripts denies it: drop the flag, or run '
    + '`npm install-scripts approve @ringwire/native` first)';
  if ((error as { code?: unknown } | null)?.code === 'MODULE_NOT_FOUND' && text.includes("'@ringwire/native'")) {
    return 'the package @ringwire/native (ringwire\'s native addon, a dependency of ringwire) is not '
      + 'installed: reinstall ringwire (`npm install ringwire`)';
  }
  if (text.startsWith('No native build was found')) {
    return `ringwire's native addon has no binary for ${here}: @ringwire/native ships a prebuilt one `
      + `only for linux-x64 with glibc, and it was not built from source here; ${build}`;
  }
  return `ringwire's native addon failed to load on ${here}: ${text}; ${build}`;
}

export const native: NativeAddon = load();
export const layout: Layout = native.layout;
// Every error the addon throws is a RingwireError with its stable code.
native.setErrorFactory((code, message, errno, syscall) =>
  new RingwireError(code as RingwireErrorCode, message, { errno, syscall }));
