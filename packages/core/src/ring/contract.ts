// The contract between the API (Sender, Receiver: queueing, waiting, ending, closing) and a
// ring protocol (one per mode: spsc.ts, mpmc.ts, broadcast.ts), as include/ringwire/contract.h states it for
// the C++ endpoints. An endpoint holds one protocol object and calls only what is here; a
// protocol calls back into its endpoint only through EndpointHost.
import { Buffer } from 'node:buffer';
import { invalidArg, RingwireError } from '../errors.js';
import type { Doorbell } from './wait.js';

/**
 * What a sender without a codec sends: bytes, or a string (sent as its UTF-8 bytes). A
 * receiver without a codec gets every message as a Uint8Array.
 */
export type Message = Uint8Array | string;

/** The payload length of `data`; ERR_RINGWIRE_TOO_LARGE above `max`. */
export function measure(data: Message, max: number, channel: string): number {
  let length: number;
  if (typeof data === 'string') length = Buffer.byteLength(data, 'utf8');
  // .length, not .byteLength: equal for a Uint8Array, and V8 inlines .length (~1 ns
  // against ~8 ns a message on Node 20).
  else if (data instanceof Uint8Array) length = data.length;
  else throw invalidArg('a message must be a Uint8Array or a string');
  if (length > max) throw tooLarge(channel, length, max);
  return length;
}

export function tooLarge(channel: string, length: number, max: number): RingwireError {
  return new RingwireError('ERR_RINGWIRE_TOO_LARGE',
    `a ${length}-byte message can never fit channel '${channel}' (at most ${max} bytes; create it with a larger `
    + 'capacity, or, for spsc and broadcast channels, a larger maxMessageSize)');
}

/**
 * ERR_RINGWIRE_TOO_LARGE for an operation that writes one record (trySend, trySendMany,
 * tryClaim) given a message longer than a record carries: such a message goes in fragments,
 * written as the receiver makes room, which only send() and sendSync() do.
 */
export function tooLargeForOneRecord(channel: string, length: number, maxRecord: number, operation: string): RingwireError {
  return new RingwireError('ERR_RINGWIRE_TOO_LARGE',
    `${operation} writes a message into the ring at once or not at all, and channel '${channel}' holds at most ${maxRecord} bytes `
    + `in one record; a ${length}-byte message is sent with send() or sendSync(), which write it in fragments as the receiver makes room`);
}

/**
 * A batch written one record at a time (the protocols whose records are written in place
 * with one publish for all: SPSC, broadcast): `write(…, true)` for messages[start..end) until
 * one does not fit; returns how many went. A message that cannot be sent stops the batch
 * there, and is thrown only when it is the first. The caller publishes what went.
 */
export function writeEach(protocol: { write(data: Message, length: number, deferPublish: boolean): boolean },
  messages: readonly Message[], start: number, end: number, max: number, maxRecord: number, channel: string): number {
  let sent = 0;
  try {
    for (let i = start; i < end; i++) {
      const length = measure(messages[i], max, channel);
      if (length > maxRecord) throw tooLargeForOneRecord(channel, length, maxRecord, 'trySendMany()');
      if (!protocol.write(messages[i], length, true)) break;
      sent++;
    }
  } catch (error) {
    if (sent === 0) throw error;
  }
  return sent;
}

/** What a protocol may ask of the endpoint holding it. */
export interface EndpointHost {
  /** Whether a microtask is queued that publishes what is deferred at the end of this task. */
  readonly flushQueued: boolean;
  /** The endpoint waits with wait: 'spin' (it never parks; every message is published at once). */
  readonly spinOnly: boolean;
  /**
   * Leaves what was done to publishNow(): at the end of the current task, or before this
   * thread blocks or finds a channel empty or full, whichever comes first.
   */
  publishLater(): void;
  /** Makes sure the end-of-task flush runs (marks where this task's batch ends). */
  endOfTask(): void;
  /** To be called by publishNow(): nothing is deferred any more. */
  published(): void;
  /** Whether this endpoint and its peer can only take turns on one CPU. */
  sharesOnlyCpuWithPeer(): boolean;
  /** ERR_RINGWIRE_CLOSED if the endpoint is closed. */
  ensureOpen(): void;
}

/** What every protocol endpoint provides. */
export interface Protocol {
  /** The mode's name, for inspection and debug output. */
  readonly mode: string;
  /** What this endpoint sleeps on and how it wakes its peers. */
  readonly doorbell: Doorbell;
  /** Byte offset of this endpoint's pid word (cleared on close). */
  readonly pidOffset: number;
  /** The pid of the one peer this endpoint has, or 0 when it has several (or none known). */
  peerPid(): number;
  /** True when what this endpoint waits for may have happened (re-checked before parking). */
  isReady(): boolean;
  /**
   * Before parking (rate-limited by the endpoint) and after every park slice: repairs what
   * dead peers left, and throws ERR_RINGWIRE_PEER_DEAD when nothing more can come.
   */
  checkLiveness(): void;
  /** Publishes what this endpoint has done but not yet made known. */
  publishNow(): void;
  /** The longest one park may last (ms) before the endpoint re-checks and calls checkLiveness. */
  parkSliceMs(): number;
}

export interface SenderProtocol extends Protocol {
  /** The largest message it can send, in bytes (with fragments, the channel's maxMessageSize). */
  readonly maxMessage: number;
  /**
   * The most one record carries: a longer message goes in fragments (layout.h, "Fragments"),
   * which only write() does, a fragment at a time as room comes (trySend, sendMany and
   * tryClaim take at most this).
   */
  readonly maxRecord: number;
  /**
   * The send of `data` failed or was given up (timeout, abort, close) after write() wrote part
   * of it in fragments: its next write() starts it afresh (receivers drop the part they have).
   */
  abandon(data: Message): void;
  /** Messages claimed with tryClaim and not committed. */
  readonly pendingClaims: number;
  /**
   * Writes one message of `length` bytes if it fits now, and publishes it (maybe deferred).
   * A message longer than maxRecord is written a fragment at a time: false until its last
   * fragment is written, called again with the same `data` to go on (see abandon()).
   */
  write(data: Message, length: number): boolean;
  /**
   * Writes messages[start..end) in order, as many as fit now, publishing them together.
   * Returns how many. A message that cannot be sent stops the batch there (thrown only when
   * it is the first).
   */
  sendMany(messages: readonly Message[], start: number, end: number): number;
  /**
   * Reserves room for a `length`-byte message; its payload offset in the mapping, or -1
   * when it does not fit now (or `queued`: earlier sends still wait).
   */
  tryClaim(length: number, queued: boolean): number;
  /** Publishes what tryClaim reserved. */
  commit(): void;
  /** The stream was ended by another sender (MPMC). */
  endedElsewhere(): boolean;
  /** Marks the end of this sender's stream (after its last message) and wakes receivers. */
  signalEnd(): void;
  /** Gives back what the protocol holds (an uncommitted claim) before the endpoint closes. */
  releaseRing(endRequested: boolean): void;
}

export interface ReceiverProtocol extends Protocol {
  /** Payload length of the record peek() returned. */
  recordLength: number;
  /**
   * The bytes peek()'s offset refers to: the mapping, or (a message that came in fragments)
   * the protocol's own copy of it, whole, with its payload likewise RECORD_HEADER_SIZE bytes
   * past the offset. Such a copy is the caller's to keep once released.
   */
  source: Uint8Array;
  /**
   * Set by poll(): how many more messages the call may hand out (a protocol may take that
   * many at once); 0 outside it.
   */
  pollLeft: number;
  /**
   * The mapping offset of the next message's header (setting recordLength), or -1 when none
   * is there now. Skips padding. The message is not yet this receiver's: see acquire().
   */
  peek(): number;
  /** Makes the message peek() found this receiver's; false if another receiver took it. */
  acquire(offset: number): boolean;
  /**
   * Done with the acquired message at `offset`: its space goes back to the senders (`copied`:
   * the caller only copied the message out, so a copy the protocol made of it, in `source`,
   * may be filled again with a later message). False if
   * the sender may have written over the record while it was read (broadcast 'drop'): what
   * was read must be discarded, and peek() goes on from where the protocol moved.
   */
  release(offset: number, length: number, inBatch: boolean, copied?: boolean): boolean;
  /**
   * Whether a record stays intact from peek() until release() (poll() may then hand out a view
   * of the ring); false when the sender may overwrite it meanwhile (poll() hands out a copy,
   * checked before the handler sees it).
   */
  readonly stableViews: boolean;
  /** Messages this receiver missed because the sender wrote over them first (broadcast 'drop'). */
  readonly lost: number;
  /** After a poll() batch: publishes what release(…, true) deferred. */
  finishBatch(): void;
  /** True once the stream has ended and nothing is left to take. */
  drainedAndEnded(): boolean;
  /** Gives back what the protocol holds before the endpoint closes. */
  releaseRing(): void;
}
