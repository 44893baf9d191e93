// S6: tiny tasks (add two numbers) through a 2-thread piscina pool; the value is tasks per
// second, from the first task sent to the last result back, over the same number of tasks
// for every row (1,000,000; 100,000 with --quick), after a warm-up.
//
//   ringwire raw / v8: the pool lives in one process (workers/pool-host.mjs, mode 'serve':
//     servePool() runs a long-lived serveTasks() loop on each of its two threads); a second
//     process (workers/pool-producer.mjs) feeds it through a TaskClient, with a bounded
//     number of tasks in flight, and takes the results back on the result channel.
//   piscina pool.run(): the same pool (same worker file, same 2 threads), its own main
//     thread the producer, one pool.run({ a, b }) per task with a bounded number of runs in
//     flight. The window is the one of a short sweep (64 .. 1024 runs in flight, same run)
//     that did best, so that the baseline is measured at its best.
//
// Every result is checked against its sum, and the pool's count of tasks run must be what
// the producer sent, or the run fails. Every row has fresh processes. Each row also carries
// `cpu`: per process, how long its main thread and its other threads ran during the measured
// run and how long they sat runnable waiting for a core (two cores are shared by three busy
// threads here: the producer, or pool.run()'s main thread, and the two pool workers).
import { createTaskChannels, unlinkTaskChannels } from 'ringwire/pool';
import { onCleanup } from '../harness/cleanup.mjs';
import { threadTimes, timesBetween } from '../harness/cputime.mjs';
import { formatValue } from '../harness/format.mjs';
import { channelName, release } from '../harness/rendezvous.mjs';
import { Mailbox, spawnWorker, withTimeout } from '../harness/spawn.mjs';

/** Bytes of a task's payload over the raw codec: two float64. */
export const TASK_SIZE = 16;
const THREADS = 2;
/** Each ring of the task channel (tasks out, results back): the default, 1 MiB. */
const CAPACITY = 1 << 20;
/** ringwire's producer keeps at most this many tasks in flight. */
const RINGWIRE_WINDOW = 1024;
/** The pool.run() windows tried (the best one is used for the measured run). */
const RUN_WINDOWS = [64, 128, 256, 512, 1024];
const SETUP_MS = 20000;
/** A run may take this long beyond a (generous) 50 µs per task: a loaded box, a slow baseline. */
const SLACK_MS = 60000;

const taskBudgetMs = (tasks) => SLACK_MS + tasks * 0.05;

/** The S6 runs, in table order: { system, variant, codec?, exportName?, note }. */
export const POOL_RUNS = [
  {
    system: 'ringwire', variant: 'raw', codec: 'raw', exportName: 'addRaw',
    note: `producer process -> TaskClient (codec raw: 16-byte task, 8-byte result), submit() with up to ${RINGWIRE_WINDOW} `
      + 'in flight -> pool process: servePool(), a serveTasks() loop per thread',
  },
  {
    system: 'ringwire', variant: 'raw batched', codec: 'raw', exportName: 'addRaw', batch: 256,
    note: `the same, tasks submitted 256 at a time with submitMany() (one claim and one wake per run), up to ${RINGWIRE_WINDOW} in flight`,
  },
  {
    system: 'ringwire', variant: 'json', codec: 'json', exportName: 'addV8',
    note: `the same with codec json, the default ({ a, b } -> a + b as JSON text both ways), up to ${RINGWIRE_WINDOW} in flight`,
  },
  {
    system: 'ringwire', variant: 'v8', codec: 'v8', exportName: 'addV8',
    note: `the same with codec v8 ({ a, b } -> a + b, V8 serialize / deserialize both ways), up to ${RINGWIRE_WINDOW} in flight`,
  },
  {
    system: 'piscina', variant: 'pool.run()',
    note: 'pool.run({ a, b }) per task from the pool\'s own main thread, the window of runs in flight the best of '
      + `${RUN_WINDOWS.join(' / ')}`,
  },
];

const labelOf = (run) => `${run.system} ${run.variant}`;

/**
 * Per process, the seconds its main thread and its other threads (the pool's workers, and
 * V8's and libuv's helpers) ran between two samples, and were runnable but kept waiting for
 * a core: { producer?: { main, mainWait, others, othersWait }, pool: ... }, or null off Linux.
 */
function cpuBetween(before, after) {
  const out = {};
  for (const [who, t0] of before) {
    const d = timesBetween(t0, after.get(who));
    if (d === null) return null;
    const s = (x) => Number(x.toFixed(3));
    out[who] = { main: s(d.main.run), mainWait: s(d.main.wait), others: s(d.others.run), othersWait: s(d.others.wait) };
  }
  return out;
}

/** "pool main 0.00 s, other threads 0.40 s (+0.56 waiting) | producer main 0.25 s (+0.12 waiting), ..." */
function cpuLine(cpu) {
  if (!cpu) return '';
  const part = (ran, waited) => `${ran.toFixed(2)} s${waited > 0.005 ? ` (+${waited.toFixed(2)} waiting)` : ''}`;
  return Object.entries(cpu)
    .map(([who, c]) => `${who} main ${part(c.main, c.mainWait)}, other threads ${part(c.others, c.othersWait)}`)
    .join(' | ');
}

/** Spawns, collects control messages, checks exits; `stop()` kills what is left. */
function group(label) {
  const mailbox = new Mailbox(label);
  const procs = new Map();
  return {
    mailbox,
    spawn(who, file, config) {
      procs.set(who, spawnWorker(file, config, `S6-${label.replace(/[^A-Za-z0-9]+/g, '-')}-${who}`, mailbox));
    },
    take: (who, ctl, timeoutMs) => mailbox.take(who, ctl, undefined, timeoutMs),
    /** CPU times of every process so far (see harness/cputime.mjs). */
    times: () => new Map([...procs].map(([who, child]) => [who, threadTimes(child.pid)])),
    tell(who, message) {
      const child = procs.get(who);
      if (child.connected) child.send(message);
    },
    async exit() {
      for (const child of procs.values()) child.expectedExit = true;
      for (const who of procs.keys()) this.tell(who, { ctl: 'exit' });
      await withTimeout(Promise.all([...procs.values()].map((child) => child.exited)), SETUP_MS,
        `S6 ${label}: the workers did not exit within ${SETUP_MS} ms`);
      if (mailbox.failure) throw mailbox.failure;
    },
    stop() {
      for (const child of procs.values()) if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** A ringwire row: the pool process and the producer process. Returns the producer's result. */
async function fedByRingwire(run, { tasks, warmup }) {
  const label = labelOf(run);
  const g = group(label);
  const name = channelName();
  createTaskChannels(name, { capacity: CAPACITY });
  onCleanup(name, () => unlinkTaskChannels(name));
  try {
    g.spawn('pool', 'pool-host.mjs', {
      mode: 'serve', threads: THREADS, channel: name, codec: run.codec, exportName: run.exportName,
    });
    await g.take('pool', 'ready', SETUP_MS); // both loops have the channels open
    g.spawn('producer', 'pool-producer.mjs', {
      channel: name, codec: run.codec, tasks, warmup, window: RINGWIRE_WINDOW, batch: run.batch ?? 1,
    });
    await g.take('producer', 'ready', SETUP_MS);
    // Every endpoint is open: the names can go now, so that not even a SIGKILL of this
    // process leaves them behind.
    release(name);
    g.tell('producer', { ctl: 'go' });
    await g.take('producer', 'measuring', taskBudgetMs(warmup));
    const before = g.times();
    const result = await g.take('producer', 'result', taskBudgetMs(tasks));
    result.cpu = cpuBetween(before, g.times());
    const [, served] = await Promise.all([g.take('producer', 'done', SLACK_MS), g.take('pool', 'done', SLACK_MS)]);
    if (result.bad !== 0 || result.checked !== warmup + tasks) {
      throw new Error(`S6 ${label}: ${result.bad} wrong results of ${result.checked} checked (${warmup + tasks} sent)`);
    }
    if (served.tasks !== warmup + tasks || served.deaths !== 0) {
      throw new Error(`S6 ${label}: the pool ran ${served.tasks} tasks (${warmup + tasks} sent), ${served.deaths} worker deaths`);
    }
    await g.exit();
    return result;
  } finally {
    release(name);
    g.stop();
  }
}

/** The baseline: one process, pool.run() from its main thread. Returns its result. */
async function poolRun(run, { tasks, warmup, sweep }) {
  const label = labelOf(run);
  const g = group(label);
  try {
    g.spawn('pool', 'pool-host.mjs', { mode: 'run', threads: THREADS, tasks, warmup, sweep, windows: RUN_WINDOWS });
    await g.take('pool', 'ready', SETUP_MS);
    g.tell('pool', { ctl: 'go' });
    const total = warmup + sweep * RUN_WINDOWS.length + tasks;
    await g.take('pool', 'measuring', taskBudgetMs(total - tasks));
    const before = g.times();
    const result = await g.take('pool', 'result', taskBudgetMs(tasks));
    result.cpu = cpuBetween(before, g.times());
    const done = await g.take('pool', 'done', SLACK_MS);
    if (result.bad !== 0 || result.checked !== total || done.tasks !== total) {
      throw new Error(`S6 ${label}: ${result.bad} wrong sums of ${result.checked} checked (${total} run)`);
    }
    await g.exit();
    return result;
  } finally {
    g.stop();
  }
}

export async function runPool(ctx) {
  const timing = ctx.timing.pool;
  for (const run of POOL_RUNS) {
    if (ctx.only && !ctx.only.has(run.system)) continue;
    const m = run.system === 'ringwire' ? await fedByRingwire(run, timing) : await poolRun(run, timing);
    const r = {
      system: run.system, variant: run.variant, size: TASK_SIZE, value: Math.round(m.rate),
      tasks: m.tasks, seconds: Number(m.seconds.toFixed(3)), window: m.window,
    };
    if (m.sweep) r.sweep = m.sweep;
    if (m.cpu) r.cpu = m.cpu;
    r.note = run.note;
    ctx.record('S6', r);
    const sweep = m.sweep ? `; sweep ${m.sweep.map((s) => `${s.window}: ${formatValue(s.value, 'tasks/s')}`).join(', ')}` : '';
    ctx.log(`S6 ${labelOf(run)} … ${formatValue(r.value, 'tasks/s')} tasks/s  (${m.tasks} tasks in ${m.seconds.toFixed(2)} s, `
      + `${m.window} in flight; ${m.checked} results checked${sweep})`);
    if (m.cpu) ctx.log(`   CPU over the measured run: ${cpuLine(m.cpu)}`);
  }
}
