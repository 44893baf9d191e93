// Creating, opening, inspecting and removing channels by name.
import { invalidArg, RingwireError } from './errors.js';
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { layout, native, type NativeSegment } from './native.js';
import { PARKED_RECEIVERS, PARKED_SENDERS, parkedBit, parkedCount, parkedIndex, validCount } from './ring/layout.js';
import {
  checkChannel, checkName, mechanismName, resolveCreateOptions, resolveEndpointOptions,
  type ChannelName, type CreateChannelOptions, type EndpointOptions, type ResolvedEndpoint,
} from './options.js';
import { Receiver } from './receiver.js';
import { type Message, Sender } from './sender.js';
import { codecName, resolveCodec, type Codec, type CodecOption } from './codec.js';
import type { EndpointHost, ReceiverProtocol, SenderProtocol } from './ring/contract.js';
import { BroadcastReceiverProtocol, BroadcastSenderProtocol } from './ring/broadcast.js';
import { MpmcReceiverProtocol, MpmcSenderProtocol } from './ring/mpmc.js';
import { RingView } from './ring/segment.js';
import { SpscReceiverProtocol, SpscSenderProtocol } from './ring/spsc.js';
import { publishAll, trackEndpoint } from './endpoint.js';
import { debug } from './debug.js';
import { processExists } from './machine.js';

/**
 * Creates a channel exclusively (mode 0600). ERR_RINGWIRE_EXISTS if the name is taken;
 * ERR_RINGWIRE_NO_SPACE if `/dev/shm` cannot hold it (its memory is reserved now, not at the
 * first write). The channel lasts until unlinkChannel() (or gc()) removes its name and its
 * last endpoint closes; creating opens no endpoint.
 *
 * A name with a `/` is the path of a file to create (a file-backed channel, relative to the
 * working directory unless absolute; its directory must exist): the same channel, kept in a
 * regular file mapped shared, so what is sent and not yet received survives every process
 * exiting, and with {@link Sender.sync} a crash of the machine. The file is created 0600 and
 * exclusively, fully allocated, and synced with its directory entry before this returns.
 *
 * @example
 * ```ts
 * import { createChannel } from 'ringwire';
 *
 * createChannel('jobs');                                          // SPSC, 1 MiB of ring
 * createChannel('events', { mode: 'mpmc', capacity: 16 << 20 });  // any number of senders and receivers
 * createChannel('config', { persistent: true });                  // gc() leaves it alone
 * createChannel('./data/jobs.ring');                              // a file-backed channel
 * ```
 */
export function createChannel(name: string, options?: CreateChannelOptions): void {
  checkName(name);
  const o = resolveCreateOptions(options);
  native.createSegment(name, o.capacity, o.mode, o.waitMechanism, o.defaultWait, o.flags, o.maxMessageSize);
}

/**
 * Removes a channel's name; open endpoints keep working, and the memory is freed once the
 * last of them closes. Nothing can open the channel afterwards, and the name is free for a
 * new one. False if absent. A file-backed channel's file is removed only if it is a ringwire
 * channel (ERR_RINGWIRE_INCOMPATIBLE otherwise). A 'named-semaphore' channel's semaphores go
 * with it.
 *
 * @example
 * ```ts
 * import { openReceiver, unlinkChannel } from 'ringwire';
 *
 * const receiver = openReceiver('jobs');
 * for await (const message of receiver) handle(message);  // until the sender ends the stream
 * receiver.close();
 * unlinkChannel('jobs');                                  // false if someone removed it already
 * ```
 */
export function unlinkChannel(name: string): boolean {
  checkName(name);
  return native.unlinkSegment(name);
}

/**
 * Each mode's protocols (ring/), by the mode number in the segment's identity: the one place
 * that knows every mode. `roleLocked`: an endpoint holds its role's lock (one per role);
 * otherwise the protocol takes an endpoint slot.
 */
interface ModeProtocols {
  readonly name: string;
  /** Whether the sender, and the receiver, hold their role's lock (one at a time). */
  readonly senderRole: boolean;
  readonly receiverRole: boolean;
  /** The mode-specific endpoint options it takes (others given are ERR_RINGWIRE_INVALID_ARG). */
  readonly senderOptions: readonly string[];
  readonly receiverOptions: readonly string[];
  sender(view: RingView, host: EndpointHost, strategy: ResolvedEndpoint): SenderProtocol;
  receiver(view: RingView, host: EndpointHost, strategy: ResolvedEndpoint): ReceiverProtocol;
}
const MODES = new Map<number, ModeProtocols>([
  [layout.MODE_SPSC, {
    name: 'spsc',
    senderRole: true,
    receiverRole: true,
    senderOptions: [],
    receiverOptions: [],
    sender: (view, host) => new SpscSenderProtocol(view, host),
    receiver: (view, host) => new SpscReceiverProtocol(view, host),
  }],
  [layout.MODE_MPMC, {
    name: 'mpmc',
    senderRole: false,
    receiverRole: false,
    senderOptions: [],
    receiverOptions: [],
    sender: (view, host) => new MpmcSenderProtocol(view, host),
    receiver: (view, host) => new MpmcReceiverProtocol(view, host),
  }],
  [layout.MODE_BROADCAST, {
    name: 'broadcast',
    senderRole: true,
    receiverRole: false,
    senderOptions: ['lagLimit'],
    receiverOptions: ['from'],
    sender: (view, host, strategy) => new BroadcastSenderProtocol(view, host, strategy.lagLimit),
    receiver: (view, host, strategy) => new BroadcastReceiverProtocol(view, host, strategy.fromOldest),
  }],
]);

function openEndpoint<E extends object>(channel: ChannelName, options: EndpointOptions | undefined, role: number,
  roleName: string, make: (view: RingView, strategy: ResolvedEndpoint, mode: ModeProtocols) => E): E {
  const segment = new native.Segment(checkChannel(channel));
  const name = segment.info.name;
  try {
    const info = segment.info;
    // The addon validated the mode; a mode it knows and this file does not is a build mismatch.
    const mode = MODES.get(info.mode);
    if (mode === undefined) {
      throw new RingwireError('ERR_RINGWIRE_INCOMPATIBLE', `channel '${name}' has mode ${info.mode}, which this version of ringwire cannot open`);
    }
    const strategy = resolveEndpointOptions(options, name, info.waitMechanism, info.defaultWait);
    const isSender = role === layout.ROLE_SENDER;
    const accepted = isSender ? mode.senderOptions : mode.receiverOptions;
    const misplaced = strategy.given.find((key) => !accepted.includes(key));
    if (misplaced !== undefined) {
      throw invalidArg(`option '${misplaced}' is not for a ${roleName} of a ${mode.name} channel like '${name}'`);
    }
    if ((isSender ? mode.senderRole : mode.receiverRole) && !segment.lock(role)) {
      throw new RingwireError('ERR_RINGWIRE_BUSY',
        `channel '${name}' already has a ${roleName} (${mode.name} allows one at a time); close it first`);
    }
    const endpoint = make(new RingView(segment), strategy, mode);
    trackEndpoint(endpoint, segment, `a ${roleName} of channel '${name}'`);
    debug('%s of %s opened (%s, pid %d)', roleName, name, mode.name, process.pid);
    return endpoint;
  } catch (error) {
    segment.close();
    throw error;
  }
}

/** Sets the codec an endpoint was opened with (checked before the segment is opened). */
function withCodec<E extends { codec: Codec | undefined; codecName: string }>(endpoint: E, option: unknown): E {
  endpoint.codec = resolveCodec(option);
  endpoint.codecName = codecName(option);
  return endpoint;
}

/**
 * Opens a sending end. SPSC: ERR_RINGWIRE_BUSY while another sender is open. MPMC: any number
 * (up to 48 endpoints in all). With a `codec`, it sends values of type T. A channel whose
 * stream has ended cannot be opened for sending (ERR_RINGWIRE_CLOSED).
 *
 * @example
 * ```ts
 * import { openSender } from 'ringwire';
 *
 * const sender = openSender('jobs');           // Sender<Uint8Array | string>
 * await sender.send('job 1');                  // a string goes as UTF-8
 * await sender.send(new Uint8Array([1, 2, 3]));
 * await sender.end();                          // the receiver gets both, then the end
 * sender.close();
 *
 * interface Job { id: number; url: string }
 * const jobs = openSender<Job>('jobs.json', { codec: 'json' });  // Sender<Job>
 * await jobs.send({ id: 1, url: 'https://example.com/a' });
 * ```
 */
export function openSender(name: ChannelName, options?: EndpointOptions & { codec?: undefined }): Sender<Message>;
export function openSender<T = unknown>(name: ChannelName, options: EndpointOptions<T> & { codec: CodecOption<T> }): Sender<T>;
export function openSender<T = unknown>(name: ChannelName, options?: EndpointOptions<T>): Sender<T> | Sender<Message>;
export function openSender(name: ChannelName, options?: EndpointOptions): Sender<unknown> {
  const codecOption = options?.codec;
  resolveCodec(codecOption); // a bad codec fails before anything is opened
  const sender = openEndpoint(name, options, layout.ROLE_SENDER, 'sender', (view, strategy, mode) => {
    if ((Atomics.load(view.i32, layout.OFF_STATE >> 2) & layout.STATE_ENDED) !== 0) {
      throw new RingwireError('ERR_RINGWIRE_CLOSED',
        `channel '${view.name}' was ended by its sender; unlink it and create it again to send more`);
    }
    return new Sender(view, strategy, (host) => mode.sender(view, host, strategy));
  });
  return withCodec(sender as Sender<unknown>, codecOption);
}

/**
 * Opens a receiving end. SPSC: ERR_RINGWIRE_BUSY while another receiver is open. MPMC:
 * receivers compete, and each message goes to exactly one of them. With a `codec`, it
 * receives values of type T. A receiver opening after another closed carries on where it
 * stopped.
 *
 * @example
 * ```ts
 * import { openReceiver } from 'ringwire';
 *
 * const receiver = openReceiver('jobs');       // Receiver<Uint8Array>
 * const text = new TextDecoder();
 * for await (const message of receiver) console.log(text.decode(message));
 * receiver.close();                            // the loop ended: the sender ended the stream
 *
 * interface Job { id: number; url: string }
 * const jobs = openReceiver<Job>('jobs.json', { codec: 'json' });  // Receiver<Job>
 * const job = await jobs.recv({ timeout: 5000 });  // Job, or null once ended and drained
 * ```
 */
export function openReceiver(name: ChannelName, options?: EndpointOptions & { codec?: undefined }): Receiver<Uint8Array>;
export function openReceiver<T = unknown>(name: ChannelName, options: EndpointOptions<T> & { codec: CodecOption<T> }): Receiver<T>;
export function openReceiver<T = unknown>(name: ChannelName, options?: EndpointOptions<T>): Receiver<T> | Receiver<Uint8Array>;
export function openReceiver(name: ChannelName, options?: EndpointOptions): Receiver<unknown> {
  const codecOption = options?.codec;
  resolveCodec(codecOption);
  publishAll(); // what this thread's senders hold back is there for the new receiver
  const receiver = openEndpoint(name, options, layout.ROLE_RECEIVER, 'receiver', (view, strategy, mode) =>
    new Receiver(view, strategy, (host) => mode.receiver(view, host, strategy)));
  return withCodec(receiver as Receiver<unknown>, codecOption);
}

/**
 * One endpoint of a channel as {@link stats} sees it: an SPSC role (sender or receiver), or
 * an MPMC endpoint slot.
 */
export interface EndpointStats {
  /** Whether an endpoint holds this role now (its lock is held; the kernel drops it on death). */
  open: boolean;
  /** The pid that last opened the role and has not closed it (0 if none). */
  pid: number;
  /** Its thread: a worker's threadId (0: the main thread), or a native peer's thread id. */
  thread: number;
  /** True when `pid` is recorded but its lock is free: the endpoint died without closing. */
  dead: boolean;
  /** Whether this endpoint is parked now: 1 or 0 (SPSC: the role's count of parked endpoints). */
  waiters: number;
  /** Broadcast receivers: where it reads next (a ring position, as last published). */
  position?: number;
  /** Broadcast receivers: bytes of records sent that it has not read yet. */
  lag?: number;
  /** Broadcast receivers: messages it has received since it joined. */
  messages?: number;
  /** Broadcast receivers: messages it missed ('drop' overflow; see Receiver.lost). */
  lost?: number;
  /** Broadcast receivers: the sender cut it off (its lagLimit; or it died holding the sender back). */
  cutOff?: boolean;
}

/**
 * What {@link stats} returns: a channel's settings, as createChannel() fixed them, and its
 * state at the moment it was read. The fields are read one at a time while the endpoints
 * run, not as one atomic snapshot.
 */
export interface ChannelStats {
  /** The channel's name or file path, as given to stats() (`fd:N` for `{ fd: N }`). */
  name: string;
  /**
   * Where its bytes are: 'shm' (a POSIX shared-memory object), 'file' (a file-backed
   * channel) or 'anonymous' (an anonymous channel, opened by descriptor).
   */
  backing: 'shm' | 'file' | 'anonymous';
  /** 'spsc', 'mpmc' or 'broadcast', as created. */
  mode: 'spsc' | 'mpmc' | 'broadcast';
  /** Broadcast: what the sender does when a receiver is a ring behind ('block' or 'drop'). */
  overflow?: 'block' | 'drop';
  /**
   * How its endpoints wait by default: 'spin' if it was created with `wait: 'spin'`,
   * otherwise how they park ('futex', 'semaphore' or 'named-semaphore'; `wait: 'auto'` is the
   * futex on Linux).
   */
  wait: 'futex' | 'semaphore' | 'named-semaphore' | 'spin';
  /** Bytes of ring (a power of two). */
  capacity: number;
  /**
   * The largest message it can carry, in bytes: createChannel's `maxMessageSize` (SPSC and
   * broadcast: 1 GiB by default; MPMC: `maxRecord`).
   */
  maxMessage: number;
  /**
   * The most one record carries: capacity − 8 (broadcast with 'drop': capacity − 16). A longer
   * message goes in fragments (SPSC and broadcast); trySend(), trySendMany() and tryClaim()
   * take at most this.
   */
  maxRecord: number;
  /**
   * Bytes of ring holding records the receiver has not yet released (with record headers and
   * padding; MPMC: also claims not yet committed, whose space is taken from the claim on;
   * broadcast: what the slowest receiver has not read); -1 when the positions read do not
   * agree (they moved between the two reads, or the header is corrupt).
   */
  bytesUsed: number;
  /**
   * Whether the stream has ended: no sender can open or send any more. Messages sent before
   * the end may still be waiting to be received. With `endWhen: 'last-sender'`, set once no
   * sender that has not ended remains.
   */
  ended: boolean;
  /**
   * Messages the sender(s) wrote over the channel's life. An SPSC sender stores its count
   * each time it publishes (the first message of a task at once, then every 32 messages and
   * at the end of the task), so while it sends, the count may trail by what it holds back.
   */
  messagesSent: number;
  /**
   * Messages the receiver(s) took over the channel's life (broadcast: every receiver's
   * count, added up). An SPSC receiver stores its count each time it publishes its position
   * (every few messages, and at the end of each task).
   */
  messagesReceived: number;
  /** Whether gc() leaves it alone (createChannel's `persistent`). */
  persistent: boolean;
  /** MPMC: whether the first sender's end() ends the channel, or the last sender's (createChannel). */
  endWhen: 'any-sender' | 'last-sender';
  /** When createChannel() made it (the creator's clock, to the millisecond). */
  createdAt: Date;
  /** The pid of the process that created it. */
  creatorPid: number;
  /** Senders parked now, waiting for room. */
  sendersWaiting: number;
  /** Receivers parked now, waiting for messages. */
  receiversWaiting: number;
  /**
   * Every sender that is open or died without closing (MPMC: one per sender slot in use;
   * SPSC: the sender role when open or dead, else empty).
   */
  senders: EndpointStats[];
  /** Every receiver that is open or died without closing (as `senders`). */
  receivers: EndpointStats[];
  /** SPSC only: the sender role, open or not. */
  sender?: EndpointStats;
  /** SPSC only: the receiver role, open or not. */
  receiver?: EndpointStats;
}

/**
 * A snapshot of a channel's state, read without opening an endpoint. What this thread's
 * endpoints hold back (a sender publishes every few messages) is published first.
 * ERR_RINGWIRE_NOT_FOUND if there is no such channel.
 *
 * @example
 * ```ts
 * import { stats } from 'ringwire';
 *
 * const s = stats('jobs');
 * console.log(`${s.mode}: ${s.bytesUsed} of ${s.capacity} bytes in use, `
 *   + `${s.messagesSent - s.messagesReceived} messages waiting, ${s.receiversWaiting} receivers parked`);
 * for (const receiver of s.receivers) {
 *   if (receiver.dead) console.log(`receiver pid ${receiver.pid} died without closing`);
 * }
 * ```
 */
export function stats(channel: ChannelName): ChannelStats {
  publishAll();
  const segment = new native.Segment(checkChannel(channel));
  const name = segment.info.name;
  try {
    const i32 = new Int32Array(segment.buffer);
    const info = segment.info;
    const word = (offset: number) => Atomics.load(i32, offset >> 2);
    const mpmc = info.mode === layout.MODE_MPMC;
    const broadcast = info.mode === layout.MODE_BROADCAST;
    const tail = word(layout.OFF_PRODUCER_POSITION);
    const slotWord = (slot: number, field: number) => word(layout.OFF_SLOTS + slot * layout.SLOT_SIZE + field);
    // Broadcast: the slowest joined receiver's cursor bounds what is in use (none: nothing).
    let slowest = tail;
    if (broadcast) {
      for (let slot = 0; slot < layout.MAX_SLOTS; slot++) {
        if (slotWord(slot, layout.SLOT_PID) === 0 || slotWord(slot, layout.SLOT_KIND) !== layout.KIND_RECEIVER
          || slotWord(slot, layout.SLOT_CUT) !== 0) continue;
        const cursor = slotWord(slot, layout.SLOT_CURSOR);
        if (((tail - cursor) >>> 0) > ((tail - slowest) >>> 0)) slowest = cursor;
      }
    }
    const used = (tail - (broadcast ? slowest
      : word(mpmc ? layout.OFF_RELEASE_POSITION : layout.OFF_CONSUMER_POSITION))) | 0;
    const f64 = new Float64Array(segment.buffer, 0, layout.HEADER_SIZE >> 3);
    // `waiters`: SPSC, the role's count word; MPMC, () => whether the slot's parked bit is set.
    const endpoint = (role: number, pid: number, thread: number, waiters: number | (() => number)): EndpointStats => {
      // The pid, then the lock, then the pid again: an opener locks before writing its pid,
      // and a clean close clears the pid before dropping the lock.
      const before = word(pid);
      const open = segment.isLockedByOther(role);
      const after = word(pid);
      return {
        open, pid: after, thread: word(thread), dead: !open && before !== 0 && before === after,
        waiters: typeof waiters === 'number' ? word(waiters) : waiters(),
      };
    };
    const common = {
      name,
      backing: info.backing,
      mode: broadcast ? 'broadcast' as const : mpmc ? 'mpmc' as const : 'spsc' as const,
      ...(broadcast ? { overflow: (info.flags & layout.FLAG_OVERFLOW_DROP) !== 0 ? 'drop' as const : 'block' as const } : {}),
      wait: info.defaultWait === layout.DEFAULT_WAIT_SPIN ? 'spin' as const
        : mechanismName(info.waitMechanism),
      capacity: info.capacity,
      // Broadcast 'drop': a record and the header after it must fit (layout.h).
      maxMessage: info.maxMessageSize,
      maxRecord: Math.min(info.maxMessageSize,
        broadcast && (info.flags & layout.FLAG_OVERFLOW_DROP) !== 0 ? info.maxMessage - layout.RECORD_HEADER_SIZE : info.maxMessage),
      bytesUsed: used >= 0 && used <= info.capacity ? used : -1,
      ended: (word(layout.OFF_STATE) & layout.STATE_ENDED) !== 0,
      persistent: (info.flags & layout.FLAG_PERSISTENT) !== 0,
      endWhen: (info.flags & layout.FLAG_END_WITH_LAST_SENDER) !== 0 ? 'last-sender' as const : 'any-sender' as const,
      createdAt: new Date(info.createdAt),
      creatorPid: info.creatorPid,
      // MPMC: masks of parked slots (layout.h); SPSC: counts.
      sendersWaiting: mpmc ? parkedCount(i32, PARKED_SENDERS) : word(layout.OFF_SENDER_WAITERS),
      receiversWaiting: mpmc || broadcast ? parkedCount(i32, PARKED_RECEIVERS) : word(layout.OFF_RECEIVER_WAITERS),
    };
    if (broadcast) {
      const sender = endpoint(layout.ROLE_SENDER, layout.OFF_SENDER_PID, layout.OFF_SENDER_THREAD, layout.OFF_SENDER_WAITERS);
      const receivers: EndpointStats[] = [];
      let messagesReceived = validCount(f64[layout.OFF_MESSAGES_RECEIVED >> 3]);
      for (let slot = 0; slot < layout.MAX_SLOTS; slot++) {
        const base = layout.OFF_SLOTS + slot * layout.SLOT_SIZE;
        if (slotWord(slot, layout.SLOT_KIND) !== layout.KIND_RECEIVER) continue;
        const messages = validCount(f64[(base + layout.SLOT_MESSAGES) >> 3]);
        messagesReceived += messages;
        const e = endpoint(layout.SLOT_LOCK_BASE + slot, base + layout.SLOT_PID, base + layout.SLOT_THREAD,
          () => ((Atomics.load(i32, parkedIndex(PARKED_RECEIVERS, slot)) & parkedBit(slot)) !== 0 ? 1 : 0));
        if (!e.open && !e.dead) continue;
        const position = slotWord(slot, layout.SLOT_CURSOR) >>> 0;
        const lag = (tail - position) >>> 0;
        receivers.push({
          ...e, position, lag: lag <= info.capacity ? lag : -1, messages,
          lost: validCount(f64[(base + layout.SLOT_LOST) >> 3]), cutOff: slotWord(slot, layout.SLOT_CUT) !== 0,
        });
      }
      return {
        ...common, messagesSent: validCount(f64[layout.OFF_MESSAGES_SENT >> 3]), messagesReceived,
        senders: sender.open || sender.dead ? [sender] : [], receivers,
      };
    }
    if (mpmc) {
      const senders: EndpointStats[] = [];
      const receivers: EndpointStats[] = [];
      // Counts of slots that changed kind were retired to the SPSC counter words.
      let messagesSent = validCount(f64[layout.OFF_MESSAGES_SENT >> 3]);
      let messagesReceived = validCount(f64[layout.OFF_MESSAGES_RECEIVED >> 3]);
      for (let slot = 0; slot < layout.MAX_SLOTS; slot++) {
        const base = layout.OFF_SLOTS + slot * layout.SLOT_SIZE;
        const kind = word(base + layout.SLOT_KIND);
        const count = validCount(f64[(base + layout.SLOT_MESSAGES) >> 3]);
        if (kind === layout.KIND_SENDER) messagesSent += count;
        else if (kind === layout.KIND_RECEIVER) messagesReceived += count;
        else continue;
        const parked = kind === layout.KIND_SENDER ? PARKED_SENDERS : PARKED_RECEIVERS;
        const e = endpoint(layout.SLOT_LOCK_BASE + slot, base + layout.SLOT_PID, base + layout.SLOT_THREAD,
          () => ((Atomics.load(i32, parkedIndex(parked, slot)) & parkedBit(slot)) !== 0 ? 1 : 0));
        if (e.open || e.dead) (kind === layout.KIND_SENDER ? senders : receivers).push(e);
      }
      return { ...common, messagesSent, messagesReceived, senders, receivers };
    }
    const sender = endpoint(layout.ROLE_SENDER, layout.OFF_SENDER_PID, layout.OFF_SENDER_THREAD, layout.OFF_SENDER_WAITERS);
    const receiver = endpoint(layout.ROLE_RECEIVER, layout.OFF_RECEIVER_PID, layout.OFF_RECEIVER_THREAD, layout.OFF_RECEIVER_WAITERS);
    return {
      ...common,
      messagesSent: validCount(f64[layout.OFF_MESSAGES_SENT >> 3]),
      messagesReceived: validCount(f64[layout.OFF_MESSAGES_RECEIVED >> 3]),
      senders: sender.open || sender.dead ? [sender] : [],
      receivers: receiver.open || receiver.dead ? [receiver] : [],
      sender,
      receiver,
    };
  } finally {
    segment.close();
  }
}

/** Where POSIX shared-memory objects appear on Linux: "/rw.<name>" is the file rw.<name>. */
const SHM_DIR = '/dev/shm';

function sameInode(file: string, inode: number): boolean {
  try {
    return statSync(file).ino === inode;
  } catch {
    return false;
  }
}

/** A creator has this long to publish the magic where creation is not atomic (layout.h). */
const HALF_MADE_GRACE_MS = 10_000;

/**
 * Whether /dev/shm/<entry> is what a creator killed before publishing the magic leaves (only
 * where creation cannot be atomic, see layout.h): shorter than a header, or no magic, and
 * untouched for longer than any creation takes.
 */
function halfMade(entry: string): boolean {
  try {
    const path = `${SHM_DIR}/${entry}`;
    const info = statSync(path);
    if (!info.isFile() || Date.now() - info.mtimeMs < HALF_MADE_GRACE_MS) return false;
    if (info.size < layout.HEADER_SIZE) return true;
    const magic = Buffer.alloc(4);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, magic, 0, 4, layout.OFF_MAGIC);
    } finally {
      closeSync(fd);
    }
    return magic.readUInt32LE(0) === 0;
  } catch {
    return false;
  }
}

/**
 * Removes channels left behind by dead processes: not persistent, no
 * endpoint open now, and either an endpoint died without closing (what it sent and nobody
 * took is dropped with the channel) or the channel was never used and its creator has exited.
 * Channels whose endpoints closed cleanly are kept: a receiver may still come for their
 * messages. A channel created and left for endpoints that have not opened yet counts as never
 * used once its creator exits: create such channels `persistent`. Linux only (/dev/shm).
 * Liveness comes from the role locks the kernel releases on death; pids only tell "died"
 * from "closed". Only names starting with `prefix`, if given. Returns the names it removed;
 * with `dryRun`, the names it would remove now, removing nothing.
 *
 * File-backed channels are not in /dev/shm: gc() judges them only when given their `paths`
 * (then it looks at nothing else), by the same rules. A path that does not exist, or is not a
 * channel this process can open, is left alone.
 *
 * @example
 * ```ts
 * import { gc } from 'ringwire';
 *
 * // At startup: remove what earlier runs that crashed left behind.
 * console.log('would remove:', gc({ prefix: 'myapp.', dryRun: true }));
 * const removed = gc({ prefix: 'myapp.' });
 * gc({ paths: ['./data/jobs.ring'] });   // file-backed channels, by the same rules
 * ```
 */
export function gc(options?: GcOptions): string[] {
  return collectGarbage(options).map(({ name }) => name);
}

/** Options of {@link gc}. */
export interface GcOptions {
  /** Only channels whose names start with this (not with `paths`). */
  prefix?: string;
  /** Decide, and remove nothing: return what would be removed now. */
  dryRun?: boolean;
  /** File-backed channels to judge (instead of /dev/shm's channels). */
  paths?: readonly string[];
}

/** A channel gc() removed (or, in a dry run, would remove), and which of its rules it met. */
export interface GcVerdict {
  name: string;
  reason: string;
}

/** @internal gc() with the reason for each channel (for `ringwire gc --dry-run`). */
export function collectGarbage(options?: GcOptions): GcVerdict[] {
  const prefix = options?.prefix ?? '';
  if (typeof prefix !== 'string') throw invalidArg('prefix must be a string');
  const dryRun = options?.dryRun ?? false;
  if (typeof dryRun !== 'boolean') throw invalidArg('dryRun must be a boolean');
  const paths = options?.paths;
  if (paths !== undefined) {
    if (!Array.isArray(paths)) throw invalidArg('paths must be an array of file-backed channel paths');
    if (options?.prefix !== undefined) throw invalidArg('gc takes a prefix (for /dev/shm) or paths, not both');
    for (const path of paths) {
      if (typeof path !== 'string' || !path.includes('/')) {
        throw invalidArg(`paths holds file-backed channels' paths (with a '/'), got ${JSON.stringify(path)}`);
      }
      checkName(path);
    }
  }
  // A dry run decides the same way (under the same locks) and removes nothing.
  const unlink = (name: string) => dryRun || native.unlinkSegment(name);
  const removed: GcVerdict[] = [];
  // Each candidate: its channel name (or path) and the file that holds it.
  let candidates: { name: string; file: string; entry?: string }[];
  if (paths !== undefined) {
    candidates = paths.map((path) => ({ name: path, file: path }));
  } else {
    let entries: string[];
    try {
      entries = readdirSync(SHM_DIR);
    } catch (error) {
      const { code, errno } = error as NodeJS.ErrnoException;
      if (code === 'ENOENT') return removed; // no /dev/shm: nothing of ours can be there
      throw new RingwireError(code === 'EACCES' ? 'ERR_RINGWIRE_PERMISSION' : 'ERR_RINGWIRE_SYSTEM',
        `cannot list ${SHM_DIR}: ${(error as Error).message}`, { errno: errno === undefined ? undefined : -errno, syscall: 'scandir' });
    }
    candidates = entries.filter((entry) => entry.startsWith(`rw.${prefix}`))
      .map((entry) => ({ name: entry.slice(3), file: `${SHM_DIR}/${entry}`, entry }));
  }
  for (const { name, file, entry } of candidates) {
    let segment: NativeSegment;
    try {
      segment = new native.Segment(checkName(name));
    } catch {
      // Not a channel we can judge (corrupt, foreign, or just removed): leave it, unless it
      // is what a creator killed half-way leaves where creation cannot be atomic (in /dev/shm
      // only: a path given may be any file).
      if (entry !== undefined && halfMade(entry) && unlink(name)) {
        removed.push({ name, reason: 'not a complete channel: left half-made by a creator killed while creating it, and untouched for over 10 s' });
      }
      continue;
    }
    try {
      // Hold every role (MPMC: every slot) while deciding and unlinking: an endpoint opening
      // meanwhile gets a passing ERR_RINGWIRE_BUSY rather than a channel removed under it.
      const slots = segment.info.mode !== layout.MODE_SPSC; // MPMC and broadcast have endpoint slots
      const locks = slots ? layout.SLOT_LOCK_BASE + layout.MAX_SLOTS : 2;
      let all = true;
      for (let byte = 0; byte < locks && all; byte++) all = segment.lock(byte);
      if (!all) continue;
      const i32 = new Int32Array(segment.buffer);
      const word = (offset: number) => Atomics.load(i32, offset >> 2);
      const slotWord = (slot: number, field: number) => word(layout.OFF_SLOTS + slot * layout.SLOT_SIZE + field);
      const slotted = Array.from({ length: layout.MAX_SLOTS }, (_, slot) => ({
        role: slotWord(slot, layout.SLOT_KIND) === layout.KIND_SENDER ? 'sender' : 'receiver',
        pid: slotWord(slot, layout.SLOT_PID),
      }));
      const sender = { role: 'sender', pid: word(layout.OFF_SENDER_PID) };
      const endpoints = segment.info.mode === layout.MODE_MPMC ? slotted
        : segment.info.mode === layout.MODE_BROADCAST ? [sender, ...slotted]
          : [sender, { role: 'receiver', pid: word(layout.OFF_RECEIVER_PID) }];
      // With every lock ours, a recorded pid is an endpoint that died without closing.
      const died = endpoints.filter(({ pid }) => pid !== 0);
      let reason: string | undefined;
      if (died.length !== 0) {
        reason = `${died.map(({ role, pid }) => `${role} ${pid}`).join(', ')} died without closing; no endpoint is open`;
      } else if (word(layout.OFF_PRODUCER_POSITION) === 0 && word(layout.OFF_CONSUMER_POSITION) === 0
        && !processExists(segment.info.creatorPid)) {
        // Never used: no endpoint recorded, nothing ever written, and its creator is gone.
        reason = `never used, and its creator (pid ${segment.info.creatorPid}) has exited`;
      }
      const collectable = (segment.info.flags & layout.FLAG_PERSISTENT) === 0 && reason !== undefined;
      // The name must still lead to the object we judged (not one made since under it).
      if (collectable && sameInode(file, segment.inode()) && unlink(name)) {
        debug('gc: %s %s: %s', dryRun ? 'would remove' : 'removed', name, reason);
        removed.push({ name, reason: reason! });
      }
    } finally {
      segment.close();
    }
  }
  return removed;
}
