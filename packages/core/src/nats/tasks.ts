// ringwire/pool across machines: the task channel of one machine's TaskClient and those of
// pools on other machines meet through NATS, bridged both ways, so TaskClient and servePool
// run unchanged on each side.
//
//   client machine                               pool machine(s)
//   TaskClient → <name>.t ─ out ─→ <subject>.tasks ─ in (queue group / shared durable) ─→ <name>.t → servePool
//   TaskClient ← <name>.r ←─ in ─ <subject>.results ←──────────────────────── out ─ <name>.r ← servePool
//
// The pool side forwards results and failure reports (TASK_FAILED, WORKER_DIED) but not the
// "taken" notices pools send so that a client on their machine can tell which tasks a dead
// pool process held: a client on another machine cannot see those processes, so a task held
// by a pool process that died rejects with the client's timeout instead of PEER_DEAD.
import { invalidArg } from '../errors.js';
import { isTakenNotice } from '../pool/codec.js';
import { taskChannelNames } from '../pool/client.js';
import { startBridge, type Bridge, type BridgeResult, type BridgeStats } from './bridge.js';

/** Options of {@link bridgeTasks}. */
export interface TaskBridgeOptions {
  /** The task channel on this machine, as createTaskChannels(), TaskClient and servePool name it. */
  name: string;
  /** Where the machines meet: tasks travel on `<subject>.tasks`, results on `<subject>.results`. */
  subject: string;
  /** 'client': this machine's TaskClient sends the tasks; 'pool': this machine's pools run them. */
  side: 'client' | 'pool';
  /** The NATS server(s). */
  servers: string | readonly string[];
  /**
   * Tasks through JetStream (results stay on core NATS): the stream, created holding
   * `<subject>.tasks` if missing. Each task is acked into the stream, and a pool machine's
   * bridge acks it once it is in that machine's task channel: at least once as far as the
   * pool machine's channel (a pool machine's bridges share one durable consumer,
   * `ringwire-pools`). Without it, tasks go over core NATS: at most once.
   */
  jetstream?: { stream: string };
}

/** The two bridges of a task channel (see {@link bridgeTasks}). */
export interface TaskBridge {
  /** Each direction's counters. */
  stats(): { tasks: BridgeStats; results: BridgeStats };
  /** Settles when both bridges stop. */
  readonly done: Promise<{ tasks: BridgeResult; results: BridgeResult }>;
  /** Stops both bridges. */
  close(): Promise<{ tasks: BridgeResult; results: BridgeResult }>;
}

/** The queue group (core NATS) and durable consumer (JetStream) the pool machines share. */
const POOLS = 'ringwire-pools';

/**
 * Bridges this machine's task channel `name` (made with createTaskChannels) to the other
 * machines meeting on `subject`: on the client's machine with side 'client', on each pool's
 * machine with side 'pool'. TaskClient and servePool are used as on one machine: the same
 * tasks, results, TASK_FAILED and WORKER_DIED, timeouts; a task runs at most once (over core
 * NATS it may be lost on the way, and time out). Give remote tasks a timeout: a pool process
 * on another machine that dies holding a task is not seen from the client's machine.
 *
 * @example
 * ```ts
 * // The client's machine:
 * createTaskChannels('resize');
 * await bridgeTasks({ name: 'resize', subject: 'images.resize', side: 'client', servers: 'nats://hub:4222' });
 * const client = new TaskClient('resize', { timeout: 30_000 });
 * const thumbnail = await client.run({ url });
 *
 * // Each pool's machine:
 * createTaskChannels('resize');
 * await bridgeTasks({ name: 'resize', subject: 'images.resize', side: 'pool', servers: 'nats://hub:4222' });
 * await servePool(new Piscina({ filename: './resize-worker.js' }), 'resize');
 * ```
 */
export async function bridgeTasks(options: TaskBridgeOptions): Promise<TaskBridge> {
  if (options === null || typeof options !== 'object') throw invalidArg('bridgeTasks options must be an object');
  const { name, subject, side, servers, jetstream } = options;
  if (side !== 'client' && side !== 'pool') throw invalidArg(`side must be 'client' or 'pool', got ${String(side)}`);
  const channels = taskChannelNames(name);
  const tasksSubject = `${subject}.tasks`;
  const resultsSubject = `${subject}.results`;
  const stream = jetstream === undefined ? undefined : jetstream.stream;
  if (jetstream !== undefined && (jetstream === null || typeof stream !== 'string' || stream.length === 0)) {
    throw invalidArg('jetstream must be { stream }');
  }
  // The channels live as long as the bridges: no end of stream crosses machines.
  // Tasks and results go at most once (a bridge killed mid-stream loses what it had taken, never repeats it).
  const extras = { forwardEnd: false, copyOut: true };
  let tasks: Bridge;
  let results: Bridge;
  if (side === 'client') {
    tasks = await startBridge({
      channel: channels.tasks, subject: tasksSubject, direction: 'out', servers,
      ...(stream === undefined ? {} : { jetstream: { stream } }),
    }, extras);
    try {
      results = await startBridge({ channel: channels.results, subject: resultsSubject, direction: 'in', servers }, extras);
    } catch (error) {
      await tasks.close();
      throw error;
    }
  } else {
    tasks = await startBridge({
      channel: channels.tasks, subject: tasksSubject, direction: 'in', servers,
      ...(stream === undefined ? { queue: POOLS } : { jetstream: { stream, durable: POOLS } }),
    }, extras);
    try {
      results = await startBridge({ channel: channels.results, subject: resultsSubject, direction: 'out', servers },
        { ...extras, skip: isTakenNotice });
    } catch (error) {
      await tasks.close();
      throw error;
    }
  }
  const both = async (stop: boolean) => {
    const [t, r] = await Promise.all(stop ? [tasks.close(), results.close()] : [tasks.done, results.done]);
    return { tasks: t, results: r };
  };
  const done = both(false);
  done.catch(() => undefined); // observed through done or close()
  return {
    stats: () => ({ tasks: tasks.stats(), results: results.stats() }),
    done,
    close: () => both(true),
  };
}
