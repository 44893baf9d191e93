// S6: the process hosting the 2-thread piscina pool (minThreads = maxThreads = threads).
//
//   mode 'serve' (ringwire rows): servePool() runs one long-lived serveTasks() loop per
//     thread on the pool, fed from the task channel the harness created, until the producer
//     process (workers/pool-producer.mjs) ends the task stream. This process's main thread
//     only waits meanwhile. Says 'ready' once both loops have opened the channels, 'done'
//     with servePool()'s { tasks, deaths } once the stream ended and the pool is destroyed.
//   mode 'run' (the baseline): this process's main thread is the producer, calling
//     pool.run({ a, b }) for every task with a fixed number of runs in flight (the window).
//     On 'go': a warm-up, then a short run at each window of the sweep, then the measured
//     run of `tasks` at the window that did best; every sum is checked.
import Piscina from 'piscina';
import { BroadcastChannel } from 'node:worker_threads';
import { servePool } from 'ringwire/pool';
import { config, dieOnError, finish, now, onControl, tell } from './common.mjs';
import { expectedSum, OPENED, taskA, taskB } from './pool-common.mjs';

const { mode, threads, channel, codec, exportName, tasks, warmup, sweep, windows } = config();
const who = 'pool';
dieOnError(`S6 pool host (${mode})`);

const pool = new Piscina({
  filename: new URL('./pool-tasks.mjs', import.meta.url).href,
  minThreads: threads,
  maxThreads: threads,
});
onControl((message) => {
  if (message.ctl === 'exit') finish({ ctl: 'bye', from: who });
});

/**
 * `count` tasks through pool.run() with `window` runs in flight, numbered from `first`.
 * Resolves with { seconds, bad }: from the first run() to the last result.
 */
function runWindow(first, count, window) {
  return new Promise((resolve, reject) => {
    let next = 0;
    let done = 0;
    let bad = 0;
    const started = now();
    const launch = () => {
      const i = first + next++;
      pool.run({ a: taskA(i), b: taskB(i) }).then((sum) => {
        if (sum !== expectedSum(i)) bad++;
        if (++done === count) resolve({ seconds: (now() - started) / 1000, bad });
        else if (next < count) launch();
      }, reject);
    };
    for (let k = 0; k < Math.min(window, count); k++) launch();
  });
}

if (mode === 'serve') {
  const loops = threads;
  const bc = new BroadcastChannel(OPENED);
  const serving = servePool(pool, channel, { exportName, codec, loops });
  // Every loop announces itself once it has the channels open (see pool-tasks.mjs).
  await new Promise((resolve, reject) => {
    let opened = 0;
    bc.onmessage = (event) => {
      if (event.data === channel && ++opened === loops) resolve();
    };
    serving.then(() => reject(new Error('servePool finished before its loops opened the channels')), reject);
  });
  bc.close();
  tell({ ctl: 'ready', from: who });
  const outcome = await serving;
  await pool.destroy();
  tell({ ctl: 'done', from: who, tasks: outcome.tasks, deaths: outcome.deaths });
} else {
  onControl(async (message) => {
    if (message.ctl !== 'go') return;
    let first = 0;
    let bad = 0;
    const pass = async (count, window) => {
      const r = await runWindow(first, count, window);
      first += count;
      bad += r.bad;
      return count / r.seconds;
    };
    await pass(warmup, 256);
    const rates = [];
    for (const window of windows) rates.push({ window, value: Math.round(await pass(sweep, window)) });
    const best = rates.reduce((a, b) => (b.value > a.value ? b : a));
    tell({ ctl: 'measuring', from: who }); // (the harness samples CPU times now and at 'result')
    const r = await runWindow(first, tasks, best.window);
    bad += r.bad;
    first += tasks;
    tell({
      ctl: 'result', from: who, tasks, seconds: r.seconds, rate: tasks / r.seconds, window: best.window, sweep: rates,
      bad, checked: first,
    });
    await pool.destroy();
    tell({ ctl: 'done', from: who, tasks: first, deaths: 0 });
  });
  tell({ ctl: 'ready', from: who });
}
