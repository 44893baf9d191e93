// The serving side of ringwire/pool: serveTasks() makes the long-lived loop a pool worker
// runs; servePool() runs those loops on a piscina pool and supervises them.
import { openReceiver, openSender } from '../channel.js';
import { invalidArg, RingwireError, type RingwireErrorCode } from '../errors.js';
import { layout } from '../native.js';
import type { Sender } from '../sender.js';
import { MpmcSenderProtocol } from '../ring/mpmc.js';
import {
  checkTaskCodec, CODEC_NAMES, compactReport, decodeAt, encode, type FailureReport, peekId, report, STATUS_DIED, STATUS_FAILED, STATUS_OK,
  STATUS_TAKEN, type TaskCodec,
} from './codec.js';
import { taskChannelNames } from './client.js';

/** A loop takes at most this many queued tasks at once... */
const BATCH = 64;
/** ...and takes more than one only while tasks take less than this each (ms). */
const QUICK_MS = 0.05;

/**
 * What a loop shares with servePool through `ServeSpec.slot` (float64s, plain stores:
 * servePool reads them once the loop's thread is gone): whether the loop started, whether it
 * holds tasks and how many, how many it finished, and the ids of those it holds.
 */
const STARTED = 0;
const HOLDING = 1;
const HELD = 2;
const DONE = 3;
const IDS = 4;
const SLOT_FLOATS = IDS + BATCH;

/** What a worker's long-lived loop is given (by servePool through the pool). */
export interface ServeSpec {
  /** The task channel's name (as passed to createTaskChannels). */
  channel: string;
  /**
   * How payloads and results are encoded (default 'json'); it must be the client's. A codec
   * given to serveTasks() wins over this one.
   */
  codec?: TaskCodec;
  /** What the loop does when its client dies (see ServePoolOptions.whenClientDies). */
  whenClientDies?: 'wait' | 'end';
  /** Shared with servePool (see the layout above), so a loop whose thread dies can be accounted for. */
  slot?: SharedArrayBuffer;
}

/**
 * What a loop resolves with. Its own failure travels as data: piscina's worker boundary
 * keeps an error's message but not its class or `code`.
 */
export interface LoopOutcome {
  /** Tasks the loop ran, failed ones included. */
  tasks: number;
  /**
   * Set when the loop itself failed (a channel it could not open, a peer breaking the
   * protocol), not a task. servePool rejects with it as a RingwireError, keeping its `code`
   * if it is one of ringwire's (ERR_RINGWIRE_SYSTEM otherwise).
   */
  error?: FailureReport;
}

/**
 * What serveTasks() runs for each task: given the decoded payload and the task's id (by
 * which the client matches the result), it returns the result, or a promise of it, which
 * goes back encoded with the codec. A throw (or a rejection) rejects the task's run() with
 * ERR_RINGWIRE_TASK_FAILED, carrying the error's name and message; the loop goes on with the
 * next task.
 */
export type TaskHandler = (payload: any, task: { id: number }) => unknown;

const isPeerDead = (error: unknown) => (error as RingwireError | undefined)?.code === 'ERR_RINGWIRE_PEER_DEAD';

/**
 * Makes the function a pool worker exports: a loop that takes tasks from the channel, runs
 * `handler` on each (one at a time; async handlers are awaited) and sends back its result,
 * until the task stream ends. servePool() starts the loops; each resolves with a
 * {@link LoopOutcome}. A codec with functions (your own `{ encode, decode }`) cannot travel
 * to worker threads: give it here, in the worker file; it wins over servePool's.
 *
 * @example
 * ```ts
 * // worker.ts: the pool's worker file
 * import { serveTasks } from 'ringwire/pool';
 *
 * export default serveTasks(({ a, b }: { a: number; b: number }) => a + b);
 *
 * // Another export, served with servePool(pool, 'fetch', { exportName: 'fetchText' }).
 * export const fetchText = serveTasks(async (url: string) => (await fetch(url)).text());
 * ```
 */
export function serveTasks(handler: TaskHandler, options: { codec?: TaskCodec } = {}): (spec: ServeSpec) => Promise<LoopOutcome> {
  if (typeof handler !== 'function') throw invalidArg('handler must be a function');
  // A codec given here (in the worker file: the only way for one with functions, which
  // cannot travel to worker threads) wins over servePool's.
  const own = options.codec === undefined ? undefined : checkTaskCodec(options.codec);
  return async (given: ServeSpec) => {
    const spec = own === undefined ? given : { ...given, codec: own };
    const flags = spec.slot instanceof SharedArrayBuffer ? new Float64Array(spec.slot) : undefined;
    if (flags !== undefined) flags[STARTED] = 1;
    let count = 0;
    try {
      count = await serve(handler, spec, flags, (n) => { count = n; });
      return { tasks: count };
    } catch (error) {
      return { tasks: count, error: report(error) };
    }
  };
}

async function serve(handler: TaskHandler, spec: ServeSpec, flags: Float64Array | undefined,
  progress: (count: number) => void): Promise<number> {
  const { tasks, results } = taskChannelNames(spec.channel);
  const codec = checkTaskCodec(spec.codec ?? 'json');
  const waitForClient = (spec.whenClientDies ?? 'wait') === 'wait';
  const most = flags === undefined ? BATCH : Math.min(BATCH, flags.length - IDS);
  // Tasks taken at once: one while tasks are slow (so that the other loops share them out),
  // growing to `most` while they are quick (one claim and one wake per batch).
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
  /** The tasks taken: an id each, and the payload, or why it could not be decoded. */
  const batch: Array<{ id: number; value?: unknown; unreadable?: unknown; failure?: unknown }> = [];
  let view: DataView | undefined;
  const takeTask = (bytes: Uint8Array, offset: number, length: number, own?: DataView) => {
    // poll() hands out views of the mapping (one DataView for all); recv() a copy.
    if (own === undefined && view === undefined) view = new DataView(bytes.buffer);
    const at = own ?? view!;
    const id = peekId(at, bytes, offset, length);
    if (Number.isNaN(id)) return; // not a task: dropped
    // Recorded as held (shared with servePool) before its payload is decoded: a thread that
    // dies from here on has the task reported.
    batch.push({ id });
    if (flags !== undefined) {
      flags[IDS + batch.length - 1] = id;
      flags[HELD] = batch.length;
      flags[HOLDING] = 1;
    }
    try {
      const decoded = decodeAt(at, bytes, offset, length, codec);
      if (decoded.error !== undefined) batch[batch.length - 1].unreadable = decoded.error;
      else batch[batch.length - 1].value = decoded.value;
    } catch (error) {
      batch[batch.length - 1].unreadable = error;
    }
  };
  // Our result sender's slot: the client checks it to tell whether we are alive.
  const slot = (sender.protocol as MpmcSenderProtocol).slotIndex;
  const replies: Array<Uint8Array | string> = [];
  /** Sends, waiting for room; false if the client is gone (nobody will read it). */
  const deliver = async (message: Uint8Array | string): Promise<boolean> => {
    try {
      if (!sender.trySend(message)) await sender.send(message);
      return true;
    } catch (error) {
      if (isPeerDead(error)) return false;
      throw error;
    }
  };
  try {
    for (;;) {
      // Whatever is queued, up to a batch, without a promise's detour; else wait for one.
      batch.length = 0;
      receiver.poll(takeTask, take);
      if (batch.length === 0) {
        let message: Uint8Array | null;
        try {
          message = await receiver.recv();
        } catch (error) {
          // Every client sending tasks died, and the channel is drained. Wait for the next
          // one (recv() parks; it re-checks once a park slice) or end, as asked.
          if (!isPeerDead(error)) throw error;
          if (waitForClient) continue;
          break;
        }
        if (message === null) break;
        takeTask(message, 0, message.length, new DataView(message.buffer, message.byteOffset, message.byteLength));
        if (batch.length === 0) continue;
      }
      // Tell the client which tasks this loop holds before running them: if it dies running
      // them, the client rejects exactly these (ERR_RINGWIRE_PEER_DEAD).
      await deliver(encode(slot, STATUS_TAKEN, 'json', { pid: process.pid, ids: batch.map((task) => task.id) }));
      const started = performance.now();
      replies.length = 0;
      for (const task of batch) {
        if (task.unreadable !== undefined) {
          replies.push(encode(task.id, STATUS_FAILED, 'json', compactReport(task.unreadable)));
          continue;
        }
        try {
          let result = handler(task.value, { id: task.id });
          if (result !== null && typeof (result as PromiseLike<unknown>)?.then === 'function') result = await result;
          replies.push(encode(task.id, STATUS_OK, codec, result));
        } catch (error) {
          task.failure = error;
          replies.push(encode(task.id, STATUS_FAILED, 'json', report(error)));
        }
      }
      let sent = 0;
      let compacted = -1;
      while (sent < replies.length) {
        try {
          const n = sender.trySendMany(replies, sent);
          if (n !== 0) sent += n;
          else if (await deliver(replies[sent])) sent++;
          else break; // the client that sent these died: nobody is left to read them
        } catch (error) {
          if (isPeerDead(error)) break;
          if ((error as RingwireError).code !== 'ERR_RINGWIRE_TOO_LARGE') throw error;
          // A reply too big for the result channel: the task ran (or failed with a long
          // report); send a short failure report instead, and if even that cannot fit (a
          // tiny ring), nothing: never the same attempt twice.
          if (compacted === sent) {
            sent++;
            continue;
          }
          compacted = sent;
          const { id, unreadable, failure } = batch[sent];
          replies[sent] = encode(id, STATUS_FAILED, 'json', compactReport(unreadable ?? failure ?? error));
        }
      }
      count += batch.length;
      progress(count);
      if (flags !== undefined) {
        flags[DONE] = count; // done so far, for servePool's count if this thread dies later
        flags[HOLDING] = 0;
      }
      take = performance.now() - started > QUICK_MS * batch.length ? 1 : Math.min(most, take * 2);
    }
  } finally {
    receiver.close();
    sender.close();
  }
  return count;
}

/** What servePool needs of a pool: piscina's `run(task, { name })` and its thread count. */
export interface PoolLike {
  /**
   * Runs `task` on a worker thread with the worker file's export `options.name`, resolving
   * with what it returns; rejects if the thread dies or the pool cannot run it.
   */
  run(task: any, options?: { name?: string }): Promise<unknown>;
  /** The pool's settings; without them servePool runs one loop unless told `loops`. */
  readonly options?: {
    /** Worker threads the pool may run; servePool counts 1 when absent. */
    maxThreads?: number;
    /** Tasks each thread runs at once; servePool counts 1 when absent. */
    concurrentTasksPerWorker?: number
  };
}

/** Options of {@link servePool}. */
export interface ServePoolOptions {
  /** Long-lived loops to run (default: the pool's maxThreads × concurrentTasksPerWorker). */
  loops?: number;
  /** The worker file's export that serveTasks() made (default 'default'). */
  exportName?: string;
  /** A codec by name (see TaskCodec); your own goes to serveTasks(handler, { codec }) in the worker file. */
  codec?: (typeof CODEC_NAMES)[number];
  /**
   * When the client (the process sending tasks) dies without ending the stream: 'wait'
   * (default) keeps the loops parked until a new TaskClient opens the channel; 'end' lets
   * them finish what is in the channel, and servePool resolves.
   */
  whenClientDies?: 'wait' | 'end';
}

/** What {@link servePool} resolves with. */
export interface ServePoolResult {
  /** Tasks the loops ran (results sent, failures included). */
  tasks: number;
  /** Loops whose thread died; each task they held was reported as ERR_RINGWIRE_WORKER_DIED. */
  deaths: number;
}

/** A loop that died without finishing a task since it last started waits this long (doubling) before the next. */
const RESTART_DELAY_MS = 10;
const RESTART_DELAY_MAX_MS = 2000;

function loopError(failure: FailureReport): RingwireError {
  const code = (failure.code?.startsWith('ERR_RINGWIRE_') ? failure.code : 'ERR_RINGWIRE_SYSTEM') as RingwireErrorCode;
  return new RingwireError(code, failure.message, { cause: failure });
}

/**
 * Feeds a pool from the task channel `name`: runs `loops` long-lived serveTasks() loops on
 * it, each taking tasks until the stream ends. A loop whose worker thread dies is replaced
 * (after a pause that grows while deaths come without progress), and the tasks it held are
 * reported to the client as lost. Resolves when the task stream has ended and every loop has
 * finished; rejects with a loop's own failure (a channel it cannot open, a peer breaking the
 * protocol) or piscina's refusal to run it (no such export, a destroyed pool), after the
 * other loops finish. Several pools (processes) may serve one channel.
 *
 * Why long-lived loops: a piscina task per message would cost a pool round trip each (what
 * ringwire is here to avoid), and with piscina's default `atomics: 'sync'` a worker's event
 * loop is paused between tasks, which would stall a receiver waiting there. Inside one
 * long task the worker's event loop runs normally, whatever `atomics` is set to.
 *
 * @example
 * ```ts
 * // pool.ts: the process that runs the pool
 * import { Piscina } from 'piscina';
 * import { servePool } from 'ringwire/pool';
 *
 * const pool = new Piscina({ filename: new URL('./worker.js', import.meta.url).href, maxThreads: 4 });
 * const { tasks, deaths } = await servePool(pool, 'resize');  // until the client's drain() ends the stream
 * console.log(`${tasks} tasks run, ${deaths} worker threads died`);
 * await pool.destroy();
 * ```
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
  const whenClientDies = options.whenClientDies ?? 'wait';
  if (whenClientDies !== 'wait' && whenClientDies !== 'end') throw invalidArg("whenClientDies must be 'wait' or 'end'");
  const codec = checkTaskCodec(options.codec ?? 'json');
  if (typeof codec !== 'string') {
    throw invalidArg("servePool takes a codec by name ('json', 'v8', 'msgpack' or 'raw'): its loops run in worker "
      + 'threads, where functions cannot be sent; give your own codec to serveTasks(handler, { codec }) in the worker file');
  }
  const spec = { channel: name, codec, whenClientDies };
  const runOptions = { name: options.exportName ?? 'default' };
  // Reports for tasks lost with a worker go out on the result channel from here.
  const reporter = openSender(results);
  const outcome: ServePoolResult = { tasks: 0, deaths: 0 };
  /**
   * Reports the tasks a loop held when it ended without answering them (its thread died, or
   * it failed): each rejects with ERR_RINGWIRE_WORKER_DIED at the client (answered ones are
   * ignored there). Stops if the client is gone.
   */
  const reportHeld = async (flags: Float64Array, cause: unknown): Promise<void> => {
    for (let k = 0; flags[HOLDING] === 1 && k < flags[HELD]; k++) {
      const lost = encode(flags[IDS + k], STATUS_DIED, 'json', compactReport(cause));
      try {
        if (!reporter.trySend(lost)) await reporter.send(lost);
      } catch (error) {
        if (isPeerDead(error)) return; // the client is gone too
        throw error;
      }
    }
  };
  const serveOne = async (): Promise<void> => {
    let delay = 0;
    for (;;) {
      const slot = new SharedArrayBuffer(8 * SLOT_FLOATS);
      const flags = new Float64Array(slot);
      let ran: unknown;
      try {
        ran = await pool.run({ ...spec, slot }, runOptions);
      } catch (error) {
        // piscina rejected the task. If the loop never started, the pool refused it (the
        // worker file did not load, no such export, the pool was destroyed): a new one would
        // be refused the same way.
        if (flags[STARTED] !== 1) {
          throw new RingwireError('ERR_RINGWIRE_WORKER_DIED',
            `the pool did not run a task loop for '${name}': ${(error as Error)?.message ?? String(error)}`, { cause: error });
        }
        // Its thread died: report every task it held, then start a new loop on the pool's
        // new thread.
        outcome.tasks += flags[DONE];
        outcome.deaths++;
        const progressed = flags[DONE] > 0 || flags[HOLDING] === 1;
        await reportHeld(flags, error);
        // Deaths that take tasks with them pace themselves; deaths without progress (a
        // worker that dies on starting) must not turn into a restart loop.
        delay = progressed ? 0 : Math.min(RESTART_DELAY_MAX_MS, delay === 0 ? RESTART_DELAY_MS : delay * 2);
        if (delay !== 0) await new Promise((resolve) => setTimeout(resolve, delay));
        continue;
      }
      const result = ran as Partial<LoopOutcome> | null;
      if (result === null || typeof result !== 'object' || typeof result.tasks !== 'number') {
        throw new RingwireError('ERR_RINGWIRE_INVALID_ARG',
          `the pool's '${runOptions.name}' export is not a serveTasks() loop (it returned ${String(ran)})`);
      }
      outcome.tasks += result.tasks;
      if (result.error !== undefined) {
        const failure = loopError(result.error);
        await reportHeld(flags, failure);
        throw failure;
      }
      return;
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
