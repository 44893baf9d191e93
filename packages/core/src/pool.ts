// Task pools over ringwire (`ringwire/pool`): a producer process sends tasks into an MPMC
// channel; worker threads elsewhere — a piscina pool in another process, typically — take
// them, run a handler and send each result back on a second MPMC channel, where run()
// resolves it by id. Backpressure runs end to end: a slow pool fills the task channel and
// run() waits for room; a producer that stops reading results fills the result channel and
// the workers stop taking tasks. Nothing is buffered without bound except the promises of
// the tasks a producer has in flight.
//
// Failures are reported, never silent: a handler that throws rejects its run() with
// ERR_RINGWIRE_TASK_FAILED (carrying the error's name and message); a worker thread that
// dies while holding a task rejects that task's run() with ERR_RINGWIRE_WORKER_DIED
// (servePool() sees the death and reports the task it was running, then starts a new
// loop). Neither is retried: a task is run at most once, and the caller decides.
import { deserialize, serialize } from 'node:v8';
import { createChannel, openReceiver, openSender, unlinkChannel } from './channel.js';
import { invalidArg, RingwireError } from './errors.js';
import { layout } from './native.js';
import type { Receiver } from './receiver.js';
import type { Sender } from './sender.js';
import type { WaitOption } from './options.js';

/**
 * How payloads travel: JSON text (the default: fastest for small plain values), V8
 * structured-clone serialization (Maps, Dates, typed arrays, BigInts...), or bytes as they
 * are (Uint8Arrays only).
 */
export type TaskCodec = 'json' | 'v8' | 'raw';

const STATUS_OK = 0;
const STATUS_FAILED = 1;
const STATUS_DIED = 2;
/**
 * Task and result messages. Binary ('raw', 'v8'): uint8 tag, 3 bytes zero, uint32 status,
 * float64 id, then the payload. JSON: the text "J<status> <id> <json>", written into the
 * ring as UTF-8 with no intermediate buffer.
 */
const HEAD = 16;
const TAG_RAW = 1;
const TAG_V8 = 2;
const TAG_JSON = 0x4a; // 'J'
const CODECS: readonly TaskCodec[] = ['json', 'v8', 'raw'];
const utf8 = new TextDecoder();
/** A worker loop takes at most this many queued tasks at once... */
const BATCH = 64;
/** ...and takes more than one only while tasks take less than this each (ms). */
const QUICK_MS = 0.05;

/** The two channels behind a task channel named `name`. */
export function taskChannelNames(name: string): { tasks: string; results: string } {
  if (typeof name !== 'string' || name.length === 0 || name.length > 24) {
    throw invalidArg('a task channel name must be a string of 1 to 24 characters (two channels are made from it)');
  }
  return { tasks: `${name}.t`, results: `${name}.r` };
}

export interface CreateTaskChannelsOptions {
  /** Bytes of each ring (default 1 MiB). */
  capacity?: number;
  wait?: WaitOption;
}

/** Creates the task and result channels (MPMC) for `name`. */
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

function encode(id: number, status: number, codec: TaskCodec, value: unknown): Uint8Array | string {
  if (codec === 'json') {
    const json = JSON.stringify(value);
    return `J${status} ${id} ${json === undefined ? 'null' : json}`;
  }
  let body: Uint8Array;
  if (codec === 'raw') {
    if (!(value instanceof Uint8Array)) throw invalidArg("with codec 'raw', payloads and results must be Uint8Arrays");
    body = value;
  } else {
    body = serialize(value);
  }
  const message = new Uint8Array(HEAD + body.length);
  const view = new DataView(message.buffer);
  message[0] = codec === 'raw' ? TAG_RAW : TAG_V8;
  view.setUint32(4, status, true);
  view.setFloat64(8, id, true);
  message.set(body, HEAD);
  return message;
}

interface Decoded {
  id: number;
  status: number;
  value: unknown;
}

class MalformedTaskMessage extends RingwireError {
  constructor() {
    super('ERR_RINGWIRE_CORRUPT', 'a task message that no ringwire/pool endpoint wrote');
  }
}

function malformed(): RingwireError {
  return new MalformedTaskMessage();
}

function decode(message: Uint8Array): Decoded {
  return decodeAt(new DataView(message.buffer, message.byteOffset, message.byteLength), message, 0, message.length);
}

/**
 * Decodes the message at bytes[offset, offset + length), `view` being a DataView that starts
 * where `bytes` does: in place, as poll() hands messages out; the value it returns owns its
 * bytes.
 */
function decodeAt(view: DataView, bytes: Uint8Array, offset: number, length: number): Decoded {
  if (length === 0) throw malformed();
  const tag = bytes[offset];
  if (tag === TAG_JSON) {
    const text = utf8.decode(bytes.subarray(offset, offset + length));
    const space1 = text.indexOf(' ');
    const space2 = text.indexOf(' ', space1 + 1);
    if (space1 < 0 || space2 < 0) throw malformed();
    return {
      status: Number(text.slice(1, space1)),
      id: Number(text.slice(space1 + 1, space2)),
      value: JSON.parse(text.slice(space2 + 1)),
    };
  }
  if (length < HEAD || (tag !== TAG_RAW && tag !== TAG_V8)) throw malformed();
  const body = bytes.slice(offset + HEAD, offset + length);
  return {
    status: view.getUint32(offset + 4, true),
    id: view.getFloat64(offset + 8, true),
    value: tag === TAG_RAW ? body : deserialize(body),
  };
}

/** A task's failure as it crosses the channel. */
interface FailureReport {
  name: string;
  message: string;
  stack?: string;
}

function report(error: unknown): FailureReport {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: 'Error', message: String(error) };
}

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
}

/**
 * The producing side: run(payload) sends a task and resolves with its result. One client
 * per task channel (results come back to whoever opened the result channel's receiver).
 */
export class TaskClient {
  readonly name: string;
  private readonly sender: Sender;
  private readonly receiver: Receiver;
  private readonly codec: TaskCodec;
  private readonly timeout: number;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;
  /** Why results can no longer arrive (submit() then rejects with it). */
  private broken: unknown = undefined;
  private readonly loop: Promise<void>;
  private drainWaiters: Array<() => void> = [];

  constructor(name: string, options: TaskClientOptions = {}) {
    const { tasks, results } = taskChannelNames(name);
    this.name = name;
    this.codec = options.codec ?? 'json';
    if (!CODECS.includes(this.codec)) throw invalidArg("codec must be 'json', 'v8' or 'raw'");
    this.timeout = options.timeout ?? Infinity;
    if (!(this.timeout > 0)) throw invalidArg('timeout must be a positive number of milliseconds');
    this.receiver = openReceiver(results);
    try {
      this.sender = openSender(tasks);
    } catch (error) {
      this.receiver.close();
      throw error;
    }
    this.loop = this.collect();
  }

  /** Tasks sent whose results have not come back. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Sends a task and resolves with what the handler returned; waits for room in the task
   * channel first (backpressure). Rejects with ERR_RINGWIRE_TASK_FAILED if the handler
   * threw, ERR_RINGWIRE_WORKER_DIED if its worker died, ERR_RINGWIRE_PEER_DEAD if every
   * pool serving the channel died, ERR_RINGWIRE_TIMEOUT when no result came `timeout` ms
   * after the task went into the channel (a result arriving later is dropped), or an
   * AbortError when `signal` aborts the wait for room (a task already sent runs anyway).
   */
  async run(payload: unknown, options: { timeout?: number; signal?: AbortSignal } = {}): Promise<unknown> {
    return (await this.submit(payload, options)).result;
  }

  /**
   * Sends a task and resolves once it is in the task channel — the backpressure point: a
   * producer that awaits submit() runs no further ahead of the pool than the channel holds —
   * with `result`, the promise run() would return.
   */
  async submit(payload: unknown, options: { timeout?: number; signal?: AbortSignal } = {}): Promise<{ result: Promise<unknown> }> {
    this.ensureUsable();
    const id = ++this.nextId;
    const message = encode(id, 0, this.codec, payload);
    const result = this.expect(id);
    try {
      if (!this.sender.trySend(message)) await this.sender.send(message, { signal: options.signal });
    } catch (error) {
      this.settle(id);
      throw error;
    }
    this.arm(id, options.timeout ?? this.timeout);
    return { result };
  }

  private ensureUsable(): void {
    if (this.closed) throw new RingwireError('ERR_RINGWIRE_CLOSED', `task client '${this.name}' is closed`);
    if (this.broken !== undefined) throw this.broken;
  }

  /**
   * submit() for many tasks at once: they go into the task channel in runs (one claim and
   * at most one wake per run rather than per task), waiting for room as needed. Resolves
   * once all are in the channel, with their result promises in order.
   */
  async submitMany(payloads: readonly unknown[], options: { timeout?: number; signal?: AbortSignal } = {}): Promise<Array<Promise<unknown>>> {
    this.ensureUsable();
    if (!Array.isArray(payloads)) throw invalidArg('payloads must be an array');
    // Encode them all before registering any: a payload that cannot be encoded leaves
    // nothing behind.
    const first = this.nextId + 1;
    const messages = payloads.map((payload, k) => encode(first + k, 0, this.codec, payload));
    this.nextId += messages.length;
    const ids = messages.map((_, k) => first + k);
    const results = ids.map((id) => this.expect(id));
    const timeout = options.timeout ?? this.timeout;
    let sent = 0;
    try {
      while (sent < messages.length) {
        const n = this.sender.trySendMany(messages, sent);
        if (n !== 0) {
          for (let k = sent; k < sent + n; k++) this.arm(ids[k], timeout);
          sent += n;
        } else {
          await this.sender.send(messages[sent], { signal: options.signal });
          this.arm(ids[sent++], timeout);
        }
      }
    } catch (error) {
      for (let k = sent; k < ids.length; k++) this.settle(ids[k]);
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
      this.pending.set(id, { resolve, reject, timer: undefined });
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
        `task ${id} on '${this.name}' got no result within ${timeout} ms`));
    }, timeout);
  }

  private settle(id: number): Pending | undefined {
    const entry = this.pending.get(id);
    if (entry === undefined) return undefined;
    this.pending.delete(id);
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    if (this.pending.size === 0) for (const wake of this.drainWaiters.splice(0)) wake();
    return entry;
  }

  private deliver({ id, status, value }: Decoded): void {
    const entry = this.settle(id);
    if (entry === undefined) return; // timed out meanwhile
    if (status === STATUS_OK) {
      entry.resolve(value);
      return;
    }
    const failure = value as FailureReport;
    const error = new RingwireError(status === STATUS_DIED ? 'ERR_RINGWIRE_WORKER_DIED' : 'ERR_RINGWIRE_TASK_FAILED',
      status === STATUS_DIED ? `task ${id} on '${this.name}' was lost: ${failure.message}`
        : `task ${id} on '${this.name}' failed: ${failure.name}: ${failure.message}`);
    entry.reject(Object.assign(error, { cause: failure }));
  }

  private async collect(): Promise<void> {
    const receiver = this.receiver;
    let view: DataView | undefined;
    const onResult = (bytes: Uint8Array, offset: number, length: number) => {
      if (view === undefined) view = new DataView(bytes.buffer);
      this.deliver(decodeAt(view, bytes, offset, length));
    };
    while (!this.closed) {
      try {
        // Results decoded in place, a batch at a time; waiting only when there are none.
        if (receiver.poll(onResult, 256) !== 0) continue;
        const message = await receiver.recv();
        if (message === null) break;
        this.deliver(decode(message));
      } catch (error) {
        if (this.closed) return;
        const code = (error as RingwireError).code;
        if (code === 'ERR_RINGWIRE_PEER_DEAD') {
          // Every pool serving the channel died: what is in flight is lost. A new pool may
          // come; keep listening (checking again every few tenths of a second).
          this.failAll(error);
          await new Promise((resolve) => setTimeout(resolve, 200));
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
    this.sender.close();
    this.receiver.close();
    void this.loop;
  }
}

/** What a worker's long-lived loop is given (by servePool through the pool). */
export interface ServeSpec {
  /** The task channel's name (as passed to createTaskChannels). */
  channel: string;
  codec?: TaskCodec;
  /**
   * Shared with servePool, as float64s: [busy, n, tasks done, ids of the n tasks in hand],
   * so a loop whose thread dies can have the tasks it held reported (and its work counted).
   */
  slot?: SharedArrayBuffer;
}

export type TaskHandler = (payload: any, task: { id: number }) => unknown;

/**
 * Makes the function a pool worker exports: a loop that takes tasks from the channel, runs
 * `handler` on each (one at a time; async handlers are awaited) and sends back its result,
 * until the task stream ends. Resolves with the number of tasks it ran.
 *
 *   // worker.mjs (a piscina worker file)
 *   import { serveTasks } from 'ringwire/pool';
 *   export default serveTasks(({ a, b }) => a + b);
 */
export function serveTasks(handler: TaskHandler): (spec: ServeSpec) => Promise<number> {
  if (typeof handler !== 'function') throw invalidArg('handler must be a function');
  return async (spec: ServeSpec) => {
    const { tasks, results } = taskChannelNames(spec.channel);
    const codec = spec.codec ?? 'json';
    // [state, count, ids...] of the batch in hand, shared with servePool (see ServeSpec).
    const flags = spec.slot instanceof SharedArrayBuffer ? new Float64Array(spec.slot) : undefined;
    const most = flags === undefined ? BATCH : Math.min(BATCH, flags.length - 3);
    // Tasks taken at once: one while tasks are slow (so that the other loops share them
    // out), growing to `most` while they are quick (one claim and one wake per batch).
    let take = 1;
    const receiver = openReceiver(tasks);
    let sender: Sender;
    try {
      sender = openSender(results);
    } catch (error) {
      receiver.close();
      throw error;
    }
    let count = 0;
    const batch: Decoded[] = [];
    let view: DataView | undefined;
    // Each task is recorded in the shared slot as it is taken, before anything can fail.
    const hold = (task: Decoded) => {
      batch.push(task);
      if (flags !== undefined) {
        flags[3 + batch.length - 1] = task.id;
        flags[1] = batch.length;
        flags[0] = 1; // (plain float64 stores: servePool reads them after this thread died)
      }
    };
    const takeTask = (bytes: Uint8Array, offset: number, length: number, own?: DataView) => {
      // poll() hands out views of the mapping (one DataView for all); recv() a copy.
      if (own === undefined && view === undefined) view = new DataView(bytes.buffer);
      let task: Decoded;
      try {
        task = decodeAt(own ?? view!, bytes, offset, length);
      } catch (error) {
        if (error instanceof MalformedTaskMessage) return; // not a task: dropped
        throw error;
      }
      hold(task);
    };
    const replies: Array<Uint8Array | string> = [];
    try {
      for (;;) {
        // Whatever is queued, up to a batch, without a promise's detour; else wait for one.
        batch.length = 0;
        receiver.poll(takeTask, take);
        if (batch.length === 0) {
          const message = await receiver.recv();
          if (message === null) break;
          takeTask(message, 0, message.length, new DataView(message.buffer, message.byteOffset, message.byteLength));
          if (batch.length === 0) continue;
        }
        const started = performance.now();
        replies.length = 0;
        for (const { id, value } of batch) {
          try {
            let result = handler(value, { id });
            if (result !== null && typeof (result as PromiseLike<unknown>)?.then === 'function') result = await result;
            replies.push(encode(id, STATUS_OK, codec, result));
          } catch (error) {
            replies.push(encode(id, STATUS_FAILED, 'json', report(error)));
          }
        }
        let sent = 0;
        while (sent < replies.length) {
          try {
            const n = sender.trySendMany(replies, sent);
            if (n !== 0) sent += n;
            else await sender.send(replies[sent++]);
          } catch (error) {
            // A result too big for the result channel: the task ran; report that instead.
            if ((error as RingwireError).code !== 'ERR_RINGWIRE_TOO_LARGE') throw error;
            replies[sent] = encode(batch[sent].id, STATUS_FAILED, 'json', report(error));
          }
        }
        count += batch.length;
        if (flags !== undefined) {
          flags[2] = count; // done so far, for servePool's count if this thread dies later
          flags[0] = 0;
        }
        take = performance.now() - started > QUICK_MS * batch.length ? 1 : Math.min(most, take * 2);
      }
    } finally {
      receiver.close();
      sender.close();
    }
    return count;
  };
}

/** What servePool needs of a pool: piscina's `run(task, { name })` and its thread count. */
export interface PoolLike {
  run(task: any, options?: { name?: string }): Promise<unknown>;
  readonly options?: { maxThreads?: number; concurrentTasksPerWorker?: number };
}

export interface ServePoolOptions {
  /** Long-lived loops to run (default: the pool's maxThreads × concurrentTasksPerWorker). */
  loops?: number;
  /** The worker file's export that serveTasks() made (default 'default'). */
  exportName?: string;
  codec?: TaskCodec;
}

export interface ServePoolResult {
  /** Tasks the loops ran (results sent, failures included). */
  tasks: number;
  /** Loops whose thread died; each task they held was reported as ERR_RINGWIRE_WORKER_DIED. */
  deaths: number;
}

/**
 * Feeds a pool from the task channel `name`: runs `loops` long-lived serveTasks() loops on
 * it, each taking tasks until the stream ends. A loop whose worker thread dies is replaced,
 * and the task it held is reported to the client as lost. Resolves when the task stream
 * has ended and every loop has finished. Several pools (processes) may serve one channel.
 *
 * Why long-lived loops: a piscina task per message would cost a pool round trip each (what
 * ringwire is here to avoid), and with piscina's default `atomics: 'sync'` a worker's event
 * loop is paused between tasks, which would stall a receiver waiting there. Inside one
 * long task the worker's event loop runs normally, whatever `atomics` is set to.
 */
export async function servePool(pool: PoolLike, name: string, options: ServePoolOptions = {}): Promise<ServePoolResult> {
  const { results } = taskChannelNames(name);
  // Each loop holds a slot on both channels, beside this reporter and the client.
  const most = layout.MAX_SLOTS - 2;
  const loops = options.loops ?? Math.min(most, Math.max(1, Math.floor(
    (pool.options?.maxThreads ?? 1) * (pool.options?.concurrentTasksPerWorker ?? 1))));
  if (!Number.isInteger(loops) || loops < 1 || loops > most) {
    throw invalidArg(`loops must be an integer from 1 to ${most}`);
  }
  const spec = { channel: name, codec: options.codec ?? 'json' };
  const runOptions = { name: options.exportName ?? 'default' };
  // Reports for tasks lost with a worker go out on the result channel from here.
  const reporter = openSender(results);
  const outcome: ServePoolResult = { tasks: 0, deaths: 0 };
  const serveOne = async (): Promise<void> => {
    for (;;) {
      const slot = new SharedArrayBuffer(8 * (3 + BATCH));
      try {
        const ran = Number(await pool.run({ ...spec, slot }, runOptions));
        outcome.tasks += ran;
        return;
      } catch (error) {
        const flags = new Float64Array(slot);
        outcome.tasks += flags[2];
        // The loop's own failure (a channel it cannot open, a peer breaking the protocol):
        // surface it; a new loop would fail the same way.
        if (error instanceof RingwireError && flags[0] !== 1) throw error;
        // Its thread died: report every task of the batch it held (those already answered
        // are ignored by the client), then start a new loop on the pool's new thread.
        outcome.deaths++;
        for (let k = 0; flags[0] === 1 && k < flags[1]; k++) {
          const lost = encode(flags[3 + k], STATUS_DIED, 'json', report(error));
          if (!reporter.trySend(lost)) await reporter.send(lost);
        }
      }
    }
  };
  let failure: unknown;
  try {
    // Every loop runs to its end, whatever another one does; the first failure is surfaced
    // after. The result channel is left open: other pools may still be answering on it.
    const settled = await Promise.allSettled(Array.from({ length: loops }, serveOne));
    failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason;
  } finally {
    reporter.close();
  }
  if (failure !== undefined) throw failure;
  return outcome;
}
