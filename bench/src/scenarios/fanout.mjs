// S5: 2 producer processes x 2 consumer processes, 64-byte messages; the value is the
// aggregate rate the consumers receive at (the sum of their rates over one wall-clock window
// the harness sets for both). ringwire runs one mpmc channel, per message and batched; the
// baseline is fan-in/fan-out over Unix domain sockets with no broker (every producer
// connected to every consumer, messages round-robin over the connections), one write per
// message and coalesced into ~64 KiB writes. Every run has four fresh worker processes; the
// four rows run in ctx.runs interleaved rounds (each round runs every row once), and a row
// is the median of its rounds, with min, max and every sample (harness/samples.mjs). The
// harness reads the CPU time of all four processes at the window's open and close: CPU time
// per message is that (per second of the window) over the aggregate rate.
//
// Every message must arrive exactly once, whole, and in its producer's order at whichever
// consumer got it, or the run fails: each message carries its producer's number and seq;
// each consumer checks that every producer's seqs only grow, and the harness checks the
// consumers' per-producer counts and sums against what each producer sent.
import { performance } from 'node:perf_hooks';
import { cleanUp } from '../harness/cleanup.mjs';
import { cpuBetween, groupCpu } from '../harness/cputime.mjs';
import { formatCpuNs, formatValue } from '../harness/format.mjs';
import { RowSamples } from '../harness/samples.mjs';
import { capacityFor, channel, release, tmpPath } from '../harness/rendezvous.mjs';
import { Mailbox, spawnWorker, withTimeout } from '../harness/spawn.mjs';
import { exactlyOnce } from '../workers/frames.mjs';

const SIZE = 64;
const PRODUCERS = 2;
const CONSUMERS = 2;
const SETUP_MS = 20000;
/** Beyond its window, a run may take this long (draining, a loaded box). */
const SLACK_MS = 30000;

/** The S5 runs, in table order: { system, variant?, worker, mode, note }. */
export const FANOUT_RUNS = [
  {
    system: 'ringwire', variant: 'per-message', worker: 'fanout-ringwire.mjs', mode: 'single',
    note: 'one mpmc channel; trySend / tryRecvInto (a copy into a buffer the consumer owns and reuses); '
      + 'await send() when full, await recv() when empty',
  },
  {
    system: 'ringwire', variant: 'batched', worker: 'fanout-ringwire.mjs', mode: 'batch',
    note: 'one mpmc channel; trySendMany (arrays of 256) / poll (zero-copy views); '
      + 'await send() when full, await recv() when empty',
  },
  {
    system: 'uds', worker: 'fanout-uds.mjs', mode: 'single',
    note: 'no broker: each producer connected to each consumer (4 sockets), messages round-robin; one write per message',
  },
  {
    system: 'uds-batched', worker: 'fanout-uds.mjs', mode: 'batch',
    note: 'no broker: each producer connected to each consumer (4 sockets), messages round-robin; '
      + 'coalesced into ~64 KiB writes per socket',
  },
];

const wallNow = () => performance.timeOrigin + performance.now();
const names = (role, n) => Array.from({ length: n }, (_, id) => `${role}${id}`);

/**
 * Reads the CPU time of `procs` ({ who: child }) at the wall-clock instants `start` and `end`;
 * resolves with { cpu: { who: seconds }, seconds } (seconds between the two reads), or null.
 * (S10 reads its groups' CPU time the same way.)
 */
export function cpuOverWindow(procs, start, end) {
  const pids = Object.fromEntries([...procs].map(([who, child]) => [who, child.pid]));
  return new Promise((resolve) => {
    let before = null;
    let at = 0;
    setTimeout(() => {
      at = wallNow();
      before = groupCpu(pids);
    }, Math.max(0, start - wallNow())).unref();
    setTimeout(() => {
      const cpu = cpuBetween(before, groupCpu(pids));
      resolve(cpu === null ? null : { cpu, seconds: (wallNow() - at) / 1000 });
    }, Math.max(0, end - wallNow())).unref();
  });
}

/** One run: its four processes from start to exit. Returns { rate, rates, sent, cpu }. */
async function fanOut(run, { warmupMs, measureMs }) {
  const label = run.variant ? `${run.system} ${run.variant}` : run.system;
  const mailbox = new Mailbox(label);
  const procs = new Map();
  const config = { mode: run.mode, size: SIZE, senders: PRODUCERS };
  let unlink;
  if (run.system === 'ringwire') {
    const target = channel({ mode: 'mpmc', capacity: capacityFor(SIZE) });
    config.target = target;
    unlink = () => release(target);
  } else {
    const paths = names('sock', CONSUMERS).map(() => tmpPath('sock'));
    config.paths = paths;
    unlink = () => paths.forEach(cleanUp);
  }
  const consumers = names('consumer', CONSUMERS);
  const producers = names('producer', PRODUCERS);
  const spawn = (role, id) => {
    const who = `${role}${id}`;
    procs.set(who, spawnWorker(run.worker, { ...config, role, id }, `${label.replace(' ', '-')}-${who}`, mailbox));
  };
  const all = (whos, ctl, timeoutMs) => Promise.all(whos.map((who) => mailbox.take(who, ctl, undefined, timeoutMs)));
  const tellAll = (whos, message) => {
    for (const who of whos) {
      const child = procs.get(who);
      if (child.connected) child.send(message);
    }
  };
  try {
    // Consumers first (they open the channel, or listen), then the producers.
    for (let id = 0; id < CONSUMERS; id++) spawn('consumer', id);
    await all(consumers, 'ready', SETUP_MS);
    for (let id = 0; id < PRODUCERS; id++) spawn('producer', id);
    await all(producers, 'ready', SETUP_MS);
    // Every endpoint is open (every socket connected): the names can go now, so that not
    // even a SIGKILL of this process leaves them behind.
    unlink();
    tellAll(producers, { ctl: 'go' });
    const start = wallNow() + warmupMs;
    tellAll(consumers, { ctl: 'window', start, end: start + measureMs });
    const cpuRead = cpuOverWindow(procs, start, start + measureMs);
    const results = await all(consumers, 'result', warmupMs + measureMs + SLACK_MS);
    const cpu = await cpuRead;
    tellAll(producers, { ctl: 'stop' });
    const stopped = await all(producers, 'stopped', SLACK_MS);
    // Only now that every producer has stopped may the stream end (an mpmc end() ends it
    // for every sender).
    tellAll(producers, { ctl: 'finish' });
    const [done] = await Promise.all([all(consumers, 'done', SLACK_MS), all(producers, 'done', SLACK_MS)]);
    const sent = stopped.map((s) => s.sent);
    const total = sent.reduce((a, b) => a + b, 0);
    const received = done.reduce((a, d) => a + d.received, 0);
    const bad = done.reduce((a, d) => a + d.bad, 0);
    if (received !== total || bad !== 0) {
      throw new Error(`S5 ${label}: sent ${total} (${sent.join(' + ')}), received ${received} `
        + `(${done.map((d) => d.received).join(' + ')}), ${bad} out of their producer's order, torn or of the wrong size`);
    }
    const lost = exactlyOnce(sent, done.map((d) => d.tally));
    if (lost) throw new Error(`S5 ${label}: not every message arrived exactly once: ${lost}`);
    if (!(results.reduce((a, r) => a + r.messages, 0) > 0) || !results.every((r) => r.seconds > 0)) {
      throw new Error(`S5 ${label}: no message arrived inside the measurement window`);
    }
    for (const child of procs.values()) child.expectedExit = true;
    tellAll([...consumers, ...producers], { ctl: 'exit' });
    await withTimeout(Promise.all([...procs.values()].map((child) => child.exited)), SETUP_MS,
      `S5 ${label}: the workers did not exit within ${SETUP_MS} ms`);
    if (mailbox.failure) throw mailbox.failure;
    const rates = results.map((r) => r.rate);
    const rate = rates.reduce((a, b) => a + b, 0);
    // CPU seconds per second of the window, over messages per second: CPU time per message.
    const sum = (prefix) => Object.entries(cpu?.cpu ?? {}).filter(([who]) => who.startsWith(prefix)).reduce((a, [, v]) => a + v, 0);
    const cpuNsPerMsg = cpu && cpu.seconds > 0 && rate > 0 ? ((sum('') / cpu.seconds) * 1e9) / rate : null;
    return {
      rate, rates, sent: total, seconds: results.map((r) => r.seconds),
      waits: { producers: stopped.map((s) => s.waits), consumers: done.map((d) => d.waits) },
      cpuNsPerMsg, cpu: cpu ? { producers: sum('producer'), consumers: sum('consumer'), window: cpu.seconds } : null,
    };
  } finally {
    unlink();
    for (const child of procs.values()) if (child.exitCode === null) child.kill('SIGKILL');
  }
}

export async function runFanOut(ctx) {
  const runs = FANOUT_RUNS.filter((run) => !ctx.only || ctx.only.has(run.system));
  const rows = new RowSamples();
  const splits = new Map();
  for (let round = 0; round < ctx.runs; round++) {
    for (const run of runs) {
      const m = await fanOut(run, ctx.timing.fan);
      const fields = { system: run.system, size: SIZE };
      if (run.variant) fields.variant = run.variant;
      fields.note = run.note;
      const cpuNsPerMsg = m.cpuNsPerMsg;
      rows.add('S5', fields, { value: Math.round(m.rate), cpuNsPerMsg, cpu: cpuNsPerMsg ? m.cpu : null });
      const label = `${run.system}${run.variant ? ` ${run.variant}` : ''}`;
      if (!splits.has(label)) splits.set(label, []);
      splits.get(label).push(m.rates.map(Math.round));
      const split = m.rates.map((x) => formatValue(x, 'msg/s')).join(' + ');
      // How often an end found the ring full or empty (a socket's buffer full) and waited.
      const waited = (role, counts, what) => (counts.every((n) => n === undefined) ? ''
        : `; ${role} waited ${counts.join(' + ')} times for ${what}`);
      ctx.log(`S5 ${label} [${round + 1}/${ctx.runs}] … ${formatValue(m.rate, 'msg/s')} msg/s`
        + `${cpuNsPerMsg ? `, ${formatCpuNs(cpuNsPerMsg)} CPU/msg` : ''}  `
        + `(consumers ${split} over ${m.seconds.map((s) => s.toFixed(2)).join(' / ')} s; ${m.sent} sent and checked`
        + `${waited('producers', m.waits.producers, 'room')}${waited('consumers', m.waits.consumers, 'messages')})`);
    }
  }
  for (const { id, row } of rows.summaries()) {
    // Each round's two consumer rates (their sum is that round's sample).
    row.consumerSamples = splits.get(`${row.system}${row.variant ? ` ${row.variant}` : ''}`);
    const { note } = row;
    delete row.note;
    row.note = note;
    ctx.record(id, row);
  }
}
