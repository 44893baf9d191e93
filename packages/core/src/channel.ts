// Creating, opening, inspecting and removing channels by name.
import { invalidArg, RingwireError } from './errors.js';
import { readdirSync, statSync } from 'node:fs';
import { layout, native, type NativeSegment } from './native.js';
import { validCount } from './words.js';
import {
  checkName, resolveCreateOptions, resolveEndpointOptions, type CreateChannelOptions,
  type EndpointOptions, type ResolvedEndpoint,
} from './options.js';
import { Receiver, SpscReceiver } from './receiver.js';
import { Sender, SpscSender } from './sender.js';

/** Creates a channel exclusively (mode 0600). ERR_RINGWIRE_EXISTS if the name is taken. */
export function createChannel(name: string, options?: CreateChannelOptions): void {
  checkName(name);
  const o = resolveCreateOptions(options);
  native.createSegment(name, o.capacity, o.mode, o.waitMechanism, o.defaultWait, o.flags);
}

/** Removes a channel's name (and semaphores); open endpoints keep working. False if absent. */
export function unlinkChannel(name: string): boolean {
  checkName(name);
  return native.unlinkSegment(name);
}

function openSegment(name: string): NativeSegment {
  checkName(name);
  const segment = new native.Segment(name);
  if (segment.info.mode !== layout.MODE_SPSC) {
    segment.close();
    throw new RingwireError('ERR_RINGWIRE_INCOMPATIBLE',
      `channel '${name}' is an mpmc channel, which this version of ringwire cannot open`);
  }
  return segment;
}

function openEndpoint<E>(name: string, options: EndpointOptions | undefined, role: number,
  roleName: string, make: (segment: NativeSegment, strategy: ResolvedEndpoint) => E): E {
  const segment = openSegment(name);
  try {
    const info = segment.info;
    const strategy = resolveEndpointOptions(options, name, info.waitMechanism, info.defaultWait);
    if (!segment.lock(role)) {
      throw new RingwireError('ERR_RINGWIRE_BUSY',
        `channel '${name}' already has a ${roleName} (spsc allows one at a time); close it first`);
    }
    return make(segment, strategy);
  } catch (error) {
    segment.close();
    throw error;
  }
}

/** Opens the sending end. ERR_RINGWIRE_BUSY while another sender is open. */
export function openSender(name: string, options?: EndpointOptions): Sender {
  return openEndpoint(name, options, layout.ROLE_SENDER, 'sender', (segment, strategy) => {
    const i32 = new Int32Array(segment.buffer);
    if ((Atomics.load(i32, layout.OFF_STATE >> 2) & layout.STATE_ENDED) !== 0) {
      throw new RingwireError('ERR_RINGWIRE_CLOSED',
        `channel '${name}' was ended by its sender; unlink it and create it again to send more`);
    }
    return new SpscSender(segment, strategy);
  });
}

/** Opens the receiving end. ERR_RINGWIRE_BUSY while another receiver is open. */
export function openReceiver(name: string, options?: EndpointOptions): Receiver {
  return openEndpoint(name, options, layout.ROLE_RECEIVER, 'receiver', (segment, strategy) =>
    new SpscReceiver(segment, strategy));
}

export interface EndpointStats {
  /** Whether an endpoint holds this role now (its lock is held; the kernel drops it on death). */
  open: boolean;
  /** The pid that last opened the role and has not closed it (0 if none). */
  pid: number;
  /** Its thread: a worker's threadId (0: the main thread), or a native peer's thread id. */
  thread: number;
  /** True when `pid` is recorded but its lock is free: the endpoint died without closing. */
  dead: boolean;
  /** Endpoints of this role parked now. */
  waiters: number;
}

export interface ChannelStats {
  name: string;
  mode: 'spsc' | 'mpmc';
  wait: 'futex' | 'semaphore' | 'spin';
  capacity: number;
  maxMessage: number;
  /** Bytes of ring holding records the receiver has not yet released. */
  bytesUsed: number;
  ended: boolean;
  /** Messages the sender(s) wrote, and the receiver(s) took, over the channel's life. */
  messagesSent: number;
  messagesReceived: number;
  persistent: boolean;
  createdAt: Date;
  creatorPid: number;
  sender: EndpointStats;
  receiver: EndpointStats;
}

/** A snapshot of a channel's state, read without opening an endpoint. */
export function stats(name: string): ChannelStats {
  const segment = new native.Segment(checkName(name));
  try {
    const i32 = new Int32Array(segment.buffer);
    const info = segment.info;
    const word = (offset: number) => Atomics.load(i32, offset >> 2);
    const used = (word(layout.OFF_PRODUCER_POSITION) - word(layout.OFF_CONSUMER_POSITION)) | 0;
    const f64 = new Float64Array(segment.buffer, 0, layout.HEADER_SIZE >> 3);
    const endpoint = (role: number, pid: number, thread: number, waiters: number): EndpointStats => {
      // The pid, then the lock, then the pid again: an opener locks before writing its pid,
      // and a clean close clears the pid before dropping the lock.
      const before = word(pid);
      const open = segment.isLockedByOther(role);
      const after = word(pid);
      return { open, pid: after, thread: word(thread), dead: !open && before !== 0 && before === after, waiters: word(waiters) };
    };
    return {
      name,
      mode: info.mode === layout.MODE_MPMC ? 'mpmc' : 'spsc',
      wait: info.defaultWait === layout.DEFAULT_WAIT_SPIN ? 'spin'
        : info.waitMechanism === layout.WAIT_FUTEX ? 'futex' : 'semaphore',
      capacity: info.capacity,
      maxMessage: info.maxMessage,
      bytesUsed: used >= 0 && used <= info.capacity ? used : -1,
      ended: (word(layout.OFF_STATE) & layout.STATE_ENDED) !== 0,
      messagesSent: validCount(f64[layout.OFF_MESSAGES_SENT >> 3]),
      messagesReceived: validCount(f64[layout.OFF_MESSAGES_RECEIVED >> 3]),
      persistent: (info.flags & layout.FLAG_PERSISTENT) !== 0,
      createdAt: new Date(info.createdAt),
      creatorPid: info.creatorPid,
      sender: endpoint(layout.ROLE_SENDER, layout.OFF_SENDER_PID, layout.OFF_SENDER_THREAD, layout.OFF_SENDER_WAITERS),
      receiver: endpoint(layout.ROLE_RECEIVER, layout.OFF_RECEIVER_PID, layout.OFF_RECEIVER_THREAD, layout.OFF_RECEIVER_WAITERS),
    };
  } finally {
    segment.close();
  }
}

/** Where POSIX shared-memory objects appear on Linux: "/rw.<name>" is the file rw.<name>. */
const SHM_DIR = '/dev/shm';

function sameInode(entry: string, inode: number): boolean {
  try {
    return statSync(`${SHM_DIR}/${entry}`).ino === inode;
  } catch {
    return false;
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes channels (segment and semaphores) left behind by dead processes: not persistent, no
 * endpoint open now, and either an endpoint died without closing (what it sent and nobody
 * took is dropped with the channel) or the channel was never used and its creator has exited.
 * Channels whose endpoints closed cleanly are kept: a receiver may still come for their
 * messages. A channel created and left for endpoints that have not opened yet counts as never
 * used once its creator exits: create such channels `persistent`. Linux only (/dev/shm). Liveness comes from the role locks the kernel releases on death; pids only tell
 * "died" from "closed". Only names starting with `prefix`, if given. Returns the names it
 * removed.
 */
export function gc(options?: { prefix?: string }): string[] {
  const prefix = options?.prefix ?? '';
  if (typeof prefix !== 'string') throw invalidArg('prefix must be a string');
  const removed: string[] = [];
  for (const entry of readdirSync(SHM_DIR)) {
    if (!entry.startsWith(`rw.${prefix}`)) continue;
    const name = entry.slice(3);
    let segment: NativeSegment;
    try {
      segment = new native.Segment(checkName(name));
    } catch {
      continue; // not a channel we can judge (corrupt, foreign, or just removed): leave it
    }
    try {
      // Hold both roles while deciding and unlinking: an endpoint opening meanwhile gets a
      // passing ERR_RINGWIRE_BUSY rather than a channel removed under it.
      if (!segment.lock(layout.ROLE_SENDER) || !segment.lock(layout.ROLE_RECEIVER)) continue;
      const i32 = new Int32Array(segment.buffer);
      const word = (offset: number) => Atomics.load(i32, offset >> 2);
      const pids = [word(layout.OFF_SENDER_PID), word(layout.OFF_RECEIVER_PID)];
      // With both locks ours, a recorded pid is an endpoint that died without closing.
      const anyDied = pids.some((pid) => pid !== 0);
      // Never used: no endpoint recorded, nothing ever written, and its creator is gone.
      const neverUsed = !anyDied && word(layout.OFF_PRODUCER_POSITION) === 0
        && word(layout.OFF_CONSUMER_POSITION) === 0 && !processExists(segment.info.creatorPid);
      const collectable = (segment.info.flags & layout.FLAG_PERSISTENT) === 0 && (anyDied || neverUsed);
      // The name must still lead to the object we judged (not one made since under it).
      if (collectable && sameInode(entry, segment.inode()) && native.unlinkSegment(name)) removed.push(name);
    } finally {
      segment.close();
    }
  }
  return removed;
}
