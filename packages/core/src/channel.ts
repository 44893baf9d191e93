// Creating, opening, inspecting and removing channels by name.
import { RingwireError } from './errors.js';
import { layout, native, type NativeSegment } from './native.js';
import {
  checkName, resolveCreateOptions, resolveEndpointOptions, type CreateChannelOptions,
  type EndpointOptions, type ResolvedEndpoint,
} from './options.js';
import { Receiver } from './receiver.js';
import { Sender } from './sender.js';

/** Creates a channel exclusively (mode 0600). ERR_RINGWIRE_EXISTS if the name is taken. */
export function createChannel(name: string, options?: CreateChannelOptions): void {
  checkName(name);
  const o = resolveCreateOptions(options);
  native.createSegment(name, o.capacity, o.mode, o.waitMechanism, o.defaultWait, 0);
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
    return new Sender(segment, strategy);
  });
}

/** Opens the receiving end. ERR_RINGWIRE_BUSY while another receiver is open. */
export function openReceiver(name: string, options?: EndpointOptions): Receiver {
  return openEndpoint(name, options, layout.ROLE_RECEIVER, 'receiver', (segment, strategy) =>
    new Receiver(segment, strategy));
}

export interface EndpointStats {
  /** Whether an endpoint holds this role now (its lock is held; the kernel drops it on death). */
  open: boolean;
  /** The pid that last opened the role and has not closed it (0 if none). */
  pid: number;
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
    const endpoint = (role: number, pid: number, waiters: number): EndpointStats => ({
      open: segment.isLockedByOther(role), pid: word(pid), waiters: word(waiters),
    });
    return {
      name,
      mode: info.mode === layout.MODE_MPMC ? 'mpmc' : 'spsc',
      wait: info.defaultWait === layout.DEFAULT_WAIT_SPIN ? 'spin'
        : info.waitMechanism === layout.WAIT_FUTEX ? 'futex' : 'semaphore',
      capacity: info.capacity,
      maxMessage: info.maxMessage,
      bytesUsed: used >= 0 && used <= info.capacity ? used : -1,
      ended: (word(layout.OFF_STATE) & layout.STATE_ENDED) !== 0,
      createdAt: new Date(info.createdAt),
      creatorPid: info.creatorPid,
      sender: endpoint(layout.ROLE_SENDER, layout.OFF_SENDER_PID, layout.OFF_SENDER_WAITERS),
      receiver: endpoint(layout.ROLE_RECEIVER, layout.OFF_RECEIVER_PID, layout.OFF_RECEIVER_WAITERS),
    };
  } finally {
    segment.close();
  }
}
