// The producing side of ringwire/pool: TaskClient sends tasks into the task channel and
// resolves each from the result channel by its id.
import { randomInt } from 'node:crypto';
import { createChannel, openReceiver, openSender, unlinkChannel } from '../channel.js';
import { invalidArg, RingwireError } from '../errors.js';
import { layout } from '../native.js';
import { MpmcReceiverProtocol, MpmcSenderProtocol } from '../ring/mpmc.js';
import type { Receiver } from '../receiver.js';
import type { Sender } from '../sender.js';
import type { WaitOption } from '../options.js';
import type { Message } from '../sender.js';
import {
  checkTaskCodec, decode, decodeAt, type Decoded, encode, type FailureReport, MalformedTaskMessage, STATUS_DIED, STATUS_OK,
  STATUS_TAKEN, type TaskCodec,
} from './codec.js';

/** The longest task channel name: a channel name with room for the `.t` / `.r` suffix. */
const TASK_NAME_MAX = layout.MAX_NAME_LENGTH - 2;
/** The longest task channel path (file-backed): a channel path with room for the suffix. */
const TASK_PATH_MAX = 4095 - 2;

/**
 * The two channels behind a task channel named `name` (1 to MAX_NAME_LENGTH − 2 = 24
 * characters, so that both names are valid channel names; or a path with a `/`, for two
 * file-backed channels beside each other, `<path>.t` and `<path>.r`).
 */
export function taskChannelNames(name: string): {
  /** The channel tasks go through, client to pools: `<name>.t`. */
  tasks: string;
  /** The channel results come back through, pools to client: `<name>.r`. */
  results: string
} {
  const path = typeof name === 'string' && name.includes('/');
  if (typeof name !== 'string' || name.length === 0 || (path ? Buffer.byteLength(name) > TASK_PATH_MAX : name.length > TASK_NAME_MAX)) {
    throw invalidArg(`a task channel name must be a string of 1 to ${TASK_NAME_MAX} characters, or a path of at most ${TASK_PATH_MAX} bytes (two channels are made from it)`);
  }
  return { tasks: `${name}.t`, results: `${name}.r` };
}

/** Options of {@link createTaskChannels}; both channels get the same. */
export interface CreateTaskChannelsOptions {
  /** Bytes of each ring (default 1 MiB). */
  capacity?: number;
  /** How the endpoints of both channels wait (see CreateChannelOptions.wait; default 'auto'). */
  wait?: WaitOption;
}

/**
 * Creates the task and result channels (MPMC) for `name`, both or neither:
 * ERR_RINGWIRE_EXISTS if either name is taken. Remove them with
 * {@link unlinkTaskChannels}.
 *
 * @example
 * ```ts
 * import { createTaskChannels, unlinkTaskChannels } from 'ringwire/pool';
 *
 * createTaskChannels('resize', { capacity: 4 << 20 });  // 'resize.t' (tasks), 'resize.r' (results)
 * // ... a TaskClient sends tasks; servePool() in another process runs them ...
 * unlinkTaskChannels('resize');
 * ```
 */
export function createTaskChannels(name: string, options: CreateTaskChannelsOptions = {}): void {
  const { tasks, results } = taskChannelNames(name);
  createChannel(tasks, { mode: 'mpmc', capacity: options.capacity, wait: options.wait });
  try {
    createChannel(results, { mode: 'mpmc', capacity: options.capacity, wait: options.wait });
  } catch (error) {
    unlinkChannel(tasks);
    throw error;
  }
}

/** Removes both channels' names. */
export function unlinkTaskChannels(name: string): void {
  const { tasks, results } = taskChannelNames(name);
  unlinkChannel(tasks);
  unlinkChannel(results);
}

/** Options of {@link TaskClient}. */
export interface TaskClientOptions {
  /** How payloads and results are encoded (default 'json'; see TaskCodec). */
  codec?: TaskCodec;
  /** Default per-task timeout in ms for run() (default: none). */
  timeout?: number;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  timer: NodeJS.Timeout | undefined;
  /** Where its record ends in the task channel, once written (see MpmcSenderProtocol.written). */
  end: number | undefined;
}

/**
 * Ids are session × 2^24 + a counter, the session a random 29-bit number per client: results
 * meant for an earlier client are not taken for ours (a chance of one in 500 million that two
 * clients draw the same session). Exact in a float64: below 2^53.
 */
const SESSION_SPAN = 2 ** 24;
const SESSIONS = 2 ** 29;
/** How often the client looks at the pool workers holding its tasks, while any do. */
const HOLDER_CHECK_MS = 1000;

/** A pool worker's loop holding some of our tasks: its result sender's slot and process. */
interface Holder {
  slot: number;
  pid: number;
  ids: Set<number>;
  /** Found dead at the last check: rejected at the next, if its tasks are still unanswered. */
  suspect: boolean;
}

/**
 * The producing side: run(payload) sends a task and resolves with its result. One client per
 * task channel at a time (ERR_RINGWIRE_BUSY for a second): results come back to whoever
 * holds the result channel's receiver. The channels must exist ({@link createTaskChannels});
 * the pools serving them ({@link servePool}) may start before or after the client.
 *
 * @example
 * ```ts
 * import { createTaskChannels, TaskClient } from 'ringwire/pool';
 *
 * createTaskChannels('resize');
 * const client = new TaskClient('resize', { timeout: 30_000 });
 * const thumbnail = await client.run({ path: 'a.jpg', width: 200 });  // computed in the pool's process
 *
 * // Many at once: submit() waits only for room in the task channel, not for results.
 * const results: Array<Promise<unknown>> = [];
 * for (const path of paths) results.push((await client.submit({ path, width: 200 })).result);
 * for (const outcome of await Promise.allSettled(results)) console.log(outcome.status);
 *
 * await client.drain();  // ends the task stream; waits for every task in flight
 * client.close();
 * ```
 */
export class TaskClient {
  /** The task channel's name, as given (its channels: see {@link taskChannelNames}). */
  readonly name: string;
  private readonly sender: Sender<Message>;
  private readonly receiver: Receiver<Uint8Array>;
  /** The two channels' MPMC protocols, for what only they can tell (positions, slots). */
  private readonly tasks: MpmcSenderProtocol;
  private readonly results: MpmcReceiverProtocol;
  private readonly codec: TaskCodec;
  private readonly timeout: number;
  private readonly pending = new Map<number, Pending>();
  /** Messages handed to the sender and not yet written, and their task ids. */
  private readonly unwritten = new Map<Message, number>();
  private readonly session = randomInt(1, SESSIONS);
  /** Loops that said they took our tasks (STATUS_TAKEN notices), by "slot:pid". */
  private readonly holders = new Map<string, Holder>();
  private readonly holderOf = new Map<number, Holder>();
  private holderTimer: NodeJS.Timeout | undefined;
  private nextId = 0;
  private closed = false;
  /** Why results can no longer arrive (submit() then rejects with it). */
  private broken: unknown = undefined;
  private readonly loop: Promise<void>;
  private drainWaiters: Array<() => void> = [];

  constructor(name: string, options: TaskClientOptions = {}) {
    const { tasks, results } = taskChannelNames(name);
    this.name = name;
    this.codec = checkTaskCodec(options.codec ?? 'json');
    this.timeout = options.timeout ?? Infinity;
    if (!(this.timeout > 0)) throw invalidArg('timeout must be a positive number of milliseconds');
    const receiver = openReceiver(results);
    try {
      if (!(receiver.protocol instanceof MpmcReceiverProtocol)) {
        throw new RingwireError('ERR_RINGWIRE_INCOMPATIBLE', `'${results}' is not an mpmc channel; create it with createTaskChannels('${name}')`);
      }
      this.results = receiver.protocol;
      if (!this.results.lockExclusive()) {
        throw new RingwireError('ERR_RINGWIRE_BUSY',
          `task channel '${name}' already has a TaskClient (one at a time: results go to whoever holds the result channel); close it first`);
      }
      this.sender = openSender(tasks);
      if (!(this.sender.protocol instanceof MpmcSenderProtocol)) {
        this.sender.close();
        throw new RingwireError('ERR_RINGWIRE_INCOMPATIBLE', `'${tasks}' is not an mpmc channel; create it with createTaskChannels('${name}')`);
      }
      this.tasks = this.sender.protocol;
    } catch (error) {
      receiver.close();
      throw error;
    }
    this.receiver = receiver;
    this.tasks.written = (message, end) => {
      const id = this.unwritten.get(message);
      if (id === undefined) return;
      this.unwritten.delete(message);
      const entry = this.pending.get(id);
      if (entry !== undefined) entry.end = end;
    };
    // collect() handles its own errors; anything escaping it breaks the client rather than
    // becoming an unhandled rejection.
    this.loop = this.collect().catch((error) => {
      if (this.closed) return;
      this.broken = error;
      this.failAll(error);
    });
  }

  /** Tasks sent whose results have not come back. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Sends a task and resolves with what the handler returned; waits for room in the task
   * channel first (backpressure). Rejects with ERR_RINGWIRE_TASK_FAILED if the handler
   * threw, ERR_RINGWIRE_WORKER_DIED if the worker thread running it died,
   * ERR_RINGWIRE_PEER_DEAD if a pool took it and died (every pool serving the channel died),
   * ERR_RINGWIRE_TIMEOUT when no result came `timeout` ms after the task went into the
   * channel (a result arriving later is dropped), or an AbortError when `signal` aborts the
   * wait for room. A task still in the channel when its pools die waits for the next pool.
   */
  async run(payload: unknown, options: { timeout?: number; signal?: AbortSignal } = {}): Promise<unknown> {
    return (await this.submit(payload, options)).result;
  }

  /**
   * Sends a task and resolves once it is in the task channel — the backpressure point: a
   * producer that awaits submit() runs no further ahead of the pool than the channel holds —
   * with `result`, the promise run() would return.
   */
  async submit(payload: unknown, options: { timeout?: number; signal?: AbortSignal } = {}): Promise<{
    /**
     * Settles as run() would: the handler's result, or the task's failure. It is marked
     * handled, so dropping it never raises an unhandled rejection.
     */
    result: Promise<unknown>
  }> {
    this.ensureUsable();
    const id = this.newId();
    const message = encode(id, 0, this.codec, payload);
    const result = this.expect(id);
    this.unwritten.set(message, id);
    try {
      if (!this.sender.trySend(message)) await this.sendWaiting(message, options.signal);
    } catch (error) {
      this.unwritten.delete(message);
      this.settle(id);
      throw error;
    }
    this.arm(id, options.timeout ?? this.timeout);
    return { result };
  }

  /**
   * Waits for room. With every pool dead, a full channel has no one to make room: keep
   * waiting for the next pool (the sender re-checks once a park slice), as a task already in
   * the channel does; `signal` bounds the wait.
   */
  private async sendWaiting(message: Message, signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      try {
        await this.sender.send(message, { signal });
        return;
      } catch (error) {
        if ((error as RingwireError).code !== 'ERR_RINGWIRE_PEER_DEAD' || this.closed) throw error;
      }
    }
  }

  private newId(): number {
    this.nextId = (this.nextId + 1) % SESSION_SPAN;
    return this.session * SESSION_SPAN + this.nextId;
  }

  private ensureUsable(): void {
    if (this.closed) throw new RingwireError('ERR_RINGWIRE_CLOSED', `task client '${this.name}' is closed`);
    if (this.broken !== undefined) throw this.broken;
  }

  /**
   * submit() for many tasks at once: they go into the task channel in runs (one claim and
   * at most one wake per run rather than per task), waiting for room as needed. Resolves
   * once all are in the channel, with their result promises in order. If it fails part way
   * (an abort while waiting for room), the error's `submitted` holds the result promises of
   * the tasks that went in — they will run — in order.
   */
  async submitMany(payloads: readonly unknown[], options: { timeout?: number; signal?: AbortSignal } = {}): Promise<Array<Promise<unknown>>> {
    this.ensureUsable();
    if (!Array.isArray(payloads)) throw invalidArg('payloads must be an array');
    // Encode them all before registering any: a payload that cannot be encoded leaves
    // nothing behind.
    const ids: number[] = [];
    const messages = payloads.map((payload) => {
      const id = this.newId();
      ids.push(id);
      return encode(id, 0, this.codec, payload);
    });
    const results = ids.map((id) => this.expect(id));
    for (let k = 0; k < ids.length; k++) this.unwritten.set(messages[k], ids[k]);
    const timeout = options.timeout ?? this.timeout;
    let sent = 0;
    try {
      while (sent < messages.length) {
        const n = this.sender.trySendMany(messages, sent);
        if (n !== 0) {
          for (let k = sent; k < sent + n; k++) this.arm(ids[k], timeout);
          sent += n;
        } else {
          await this.sendWaiting(messages[sent], options.signal);
          this.arm(ids[sent++], timeout);
        }
      }
    } catch (error) {
      for (let k = sent; k < ids.length; k++) {
        this.unwritten.delete(messages[k]);
        this.settle(ids[k]);
      }
      // The tasks already in the channel will run: their results go with the error, so a
      // caller retrying sends only the rest.
      if (error !== null && typeof error === 'object') Object.assign(error, { submitted: results.slice(0, sent) });
      throw error;
    }
    return results;
  }

  /**
   * Registers task `id` and returns the promise of its result. The promise is marked
   * handled: a caller that drops it does not bring the process down when it rejects.
   */
  private expect(id: number): Promise<unknown> {
    const result = new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, timer: undefined, end: undefined });
    });
    result.catch(() => {});
    return result;
  }

  /** Starts task `id`'s timeout, once it is in the channel. */
  private arm(id: number, timeout: number): void {
    const entry = this.pending.get(id);
    if (entry === undefined || timeout === Infinity) return;
    entry.timer = setTimeout(() => {
      this.settle(id)?.reject(new RingwireError('ERR_RINGWIRE_TIMEOUT',
        `task ${this.shortId(id)} on '${this.name}' got no result within ${timeout} ms`));
    }, timeout);
  }

  private shortId(id: number): number {
    return id % SESSION_SPAN;
  }

  private settle(id: number): Pending | undefined {
    const entry = this.pending.get(id);
    if (entry === undefined) return undefined;
    this.pending.delete(id);
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    const holder = this.holderOf.get(id);
    if (holder !== undefined) {
      this.holderOf.delete(id);
      holder.ids.delete(id);
      if (holder.ids.size === 0) this.dropHolder(holder);
    }
    if (this.pending.size === 0) for (const wake of this.drainWaiters.splice(0)) wake();
    return entry;
  }

  private deliver({ id, status, value, error: unreadable }: Decoded): void {
    if (status === STATUS_TAKEN) {
      if (unreadable === undefined) this.noteTaken(id, value);
      return;
    }
    const entry = this.settle(id);
    if (entry === undefined) return; // timed out meanwhile, or another client's
    if (unreadable !== undefined) {
      // A result (or failure report) this client cannot decode: that task fails, with why.
      entry.reject(new RingwireError('ERR_RINGWIRE_DECODE',
        `the result of task ${this.shortId(id)} on '${this.name}' cannot be decoded: ${unreadable.message}`, { cause: unreadable }));
      return;
    }
    if (status === STATUS_OK) {
      entry.resolve(value);
      return;
    }
    const failure = value as FailureReport;
    const error = new RingwireError(status === STATUS_DIED ? 'ERR_RINGWIRE_WORKER_DIED' : 'ERR_RINGWIRE_TASK_FAILED',
      status === STATUS_DIED ? `task ${this.shortId(id)} on '${this.name}' was lost: ${failure.message}`
        : `task ${this.shortId(id)} on '${this.name}' failed: ${failure.name}: ${failure.message}`);
    entry.reject(Object.assign(error, { cause: failure }));
  }

  private async collect(): Promise<void> {
    const receiver = this.receiver;
    let view: DataView | undefined;
    const onResult = (bytes: Uint8Array, offset: number, length: number) => {
      if (view === undefined) view = new DataView(bytes.buffer);
      this.deliver(decodeAt(view, bytes, offset, length, this.codec));
    };
    while (!this.closed) {
      try {
        // Results decoded in place, a batch at a time; waiting only when there are none.
        if (receiver.poll(onResult, 256) !== 0) continue;
        const message = await receiver.recv();
        if (message === null) break;
        this.deliver(decode(message, this.codec));
      } catch (error) {
        if (this.closed) return;
        const code = (error as RingwireError).code;
        if (code === 'ERR_RINGWIRE_PEER_DEAD') {
          // Every pool serving the channel died. The tasks they had taken are lost; those
          // still in the channel wait for the next pool. Keep listening (recv() parks, and
          // re-checks once a park slice).
          this.failTaken(error as RingwireError);
        } else if (error instanceof MalformedTaskMessage) {
          // A message no ringwire/pool endpoint wrote: it was taken; drop it and go on.
          continue;
        } else {
          this.broken = error;
          this.failAll(error);
          return;
        }
      }
    }
    if (this.closed) return;
    // The result channel was ended: nothing more will come.
    this.broken = new RingwireError('ERR_RINGWIRE_CLOSED', `the result channel of '${this.name}' has ended`);
    this.failAll(this.broken);
  }

  /**
   * With no pool alive: rejects the tasks a pool took (their records are behind the take
   * position) and that were never answered; they will never run again. The take position is
   * read before the pools' liveness: a pool opens its result sender before it takes a task,
   * so if none is alive after T was read, nothing took a task since.
   */
  private failTaken(cause: RingwireError): void {
    const t = this.tasks.takePosition();
    if (this.results.liveSenders() !== 0) return; // a pool came meanwhile: it will answer
    const capacity = this.tasks.capacityBytes;
    for (const [id, entry] of [...this.pending]) {
      if (entry.end === undefined) continue; // not in the channel yet
      const ahead = (entry.end - t) | 0;
      if (ahead > 0 && ahead <= capacity) continue; // still in the channel, for the next pool
      this.settle(id)?.reject(new RingwireError('ERR_RINGWIRE_PEER_DEAD',
        `task ${this.shortId(id)} on '${this.name}' was taken by a pool that died before answering; it will not run again`,
        { cause }));
    }
  }

  /** A loop (result sender slot `slot`) took tasks: remember who holds which of ours. */
  private noteTaken(slot: number, value: unknown): void {
    const { pid, ids } = (value ?? {}) as { pid?: unknown; ids?: unknown };
    if (!Number.isInteger(slot) || typeof pid !== 'number' || !Array.isArray(ids)) return; // not ours to judge
    const key = `${slot}:${pid}`;
    let holder = this.holders.get(key);
    for (const id of ids) {
      if (typeof id !== 'number' || !this.pending.has(id) || this.holderOf.has(id)) continue;
      if (holder === undefined) {
        holder = { slot, pid, ids: new Set(), suspect: false };
        this.holders.set(key, holder);
      }
      holder.ids.add(id);
      this.holderOf.set(id, holder);
    }
    if (this.holders.size !== 0 && this.holderTimer === undefined) {
      this.holderTimer = setInterval(() => this.checkHolders(), HOLDER_CHECK_MS);
      this.holderTimer.unref();
    }
  }

  private dropHolder(holder: Holder): void {
    this.holders.delete(`${holder.slot}:${holder.pid}`);
    if (this.holders.size === 0 && this.holderTimer !== undefined) {
      clearInterval(this.holderTimer);
      this.holderTimer = undefined;
    }
  }

  /**
   * Rejects the tasks of loops that died holding them (their pool process died, or a thread
   * whose death servePool could not report): dead at two checks in a row (servePool reports
   * a thread's death at once, as WORKER_DIED), and only once the result channel is empty — a
   * dead loop publishes nothing more, so by then every result it sent has been read.
   */
  private checkHolders(): void {
    if (this.closed) return;
    try {
      const dead = [...this.holders.values()].filter((h) => !this.results.senderAlive(h.slot, h.pid));
      for (const holder of this.holders.values()) if (!dead.includes(holder)) holder.suspect = false;
      if (dead.length === 0 || !this.results.isEmpty()) return;
      for (const holder of dead) {
        if (!holder.suspect) {
          holder.suspect = true;
          continue;
        }
        for (const id of [...holder.ids]) {
          this.settle(id)?.reject(new RingwireError('ERR_RINGWIRE_PEER_DEAD',
            `task ${this.shortId(id)} on '${this.name}' was taken by a pool worker (pid ${holder.pid}) that died before answering; it will not run again`));
        }
        this.dropHolder(holder);
      }
    } catch (error) {
      if (this.closed) return;
      this.broken = error;
      this.failAll(error);
    }
  }

  private failAll(error: unknown): void {
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(error);
  }

  /**
   * Ends the task stream (the workers finish what was sent, then stop) and resolves once
   * every task in flight has settled.
   */
  async drain(): Promise<void> {
    if (!this.closed) this.sender.end();
    if (this.pending.size !== 0) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  /** Closes both endpoints; tasks in flight reject with ERR_RINGWIRE_CLOSED. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new RingwireError('ERR_RINGWIRE_CLOSED', `task client '${this.name}' was closed`));
    if (this.holderTimer !== undefined) clearInterval(this.holderTimer);
    this.holderTimer = undefined;
    this.unwritten.clear();
    this.tasks.written = undefined;
    this.sender.close();
    this.receiver.close();
    void this.loop;
  }
}
