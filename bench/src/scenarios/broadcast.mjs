// S10 (issue 12): broadcast. One sender process, four receiver processes, and every receiver
// gets every message; 64 B and 4 KiB. The value is the aggregate delivered rate (the sum of
// the four receivers' rates over one wall-clock window the harness sets for all of them);
// each row also keeps the slowest receiver's rate. ringwire runs one broadcast channel
// (overflow 'block': the sender waits for the slowest receiver), per message and batched; the
// baseline is one Unix domain socket per receiver, the sender writing every message to each
// of the four, one write per message and coalesced into ~64 KiB buffers (each buffer written
// to all four sockets).
//
// Each row runs in ctx.runs interleaved rounds (each round runs every row once) in a fresh
// group of five processes that runs both sizes one after the other (a phase each: a fresh
// channel per phase; the sockets stay connected, an END_OF_PHASE prefix closes a phase); a
// row is the median of its rounds, with min, max and every sample (harness/samples.mjs). The
// harness reads the CPU time of all five processes at the window's open and close: CPU time
// per delivered message is that (per second of the window) over the aggregate rate.
//
// Every receiver must get every message exactly once, whole and in order, or the run fails:
// each message carries its seq (frames.mjs); each receiver's Checker wants seq 0, 1, 2, ...
// with the length, both stamps and (one in 16) every byte right, and the harness checks that
// every receiver counted exactly what the sender sent, with none bad.
import { performance } from 'node:perf_hooks';
import { cleanUp } from '../harness/cleanup.mjs';
import { formatCpuNs, formatValue, sizeLabel } from '../harness/format.mjs';
import { median, RowSamples } from '../harness/samples.mjs';
import { capacityFor, channel, release, tmpPath } from '../harness/rendezvous.mjs';
import { Mailbox, spawnWorker, withTimeout } from '../harness/spawn.mjs';
import { BROADCAST_RECEIVERS as RECEIVERS, S10_SIZES } from '../systems/lists.mjs';
import { cpuOverWindow } from './fanout.mjs';

const SETUP_MS = 20000;
/** Beyond its window, a phase may take this long (draining, a loaded box). */
const SLACK_MS = 30000;

/** The S10 rows, in table order: { system, variant?, worker, mode, note }. */
export const BROADCAST_RUNS = [
  {
    system: 'ringwire', variant: 'per-message', worker: 'broadcast-ringwire.mjs', mode: 'single',
    note: "one broadcast channel (overflow 'block'); trySend / tryRecvInto (a copy into a buffer each receiver "
      + 'owns and reuses); await send() when full, await recv() when empty',
  },
  {
    system: 'ringwire', variant: 'batched', worker: 'broadcast-ringwire.mjs', mode: 'batch',
    note: "one broadcast channel (overflow 'block'); trySendMany (arrays of 256) / poll (each message copied into one reused buffer and checked: broadcast's poll); "
      + 'await send() when full, await recv() when empty',
  },
  {
    system: 'uds', worker: 'broadcast-uds.mjs', mode: 'single',
    note: `one Unix socket per receiver; the sender writes every message to each of the ${RECEIVERS} (one write per message per socket)`,
  },
  {
    system: 'uds-batched', worker: 'broadcast-uds.mjs', mode: 'batch',
    note: `one Unix socket per receiver; messages coalesced into ~64 KiB buffers, each written to all ${RECEIVERS} sockets`,
  },
];

const wallNow = () => performance.timeOrigin + performance.now();
const receiverNames = Array.from({ length: RECEIVERS }, (_, id) => `receiver${id}`);
const labelOf = (run) => (run.variant ? `${run.system} ${run.variant}` : run.system);

/**
 * One group: a sender and RECEIVERS receivers from start to exit, running one phase per size
 * of S10_SIZES. Calls onPhase(size, { rate, rates, sent, seconds, waits, cpuNsPerMsg, cpu }).
 */
async function broadcastGroup(run, timing, onPhase) {
  const label = labelOf(run);
  const mailbox = new Mailbox(`S10 ${label}`);
  const procs = new Map();
  const config = { mode: run.mode };
  let unlinkPaths = () => {};
  if (run.system !== 'ringwire') {
    const paths = receiverNames.map(() => tmpPath('sock'));
    config.paths = paths;
    unlinkPaths = () => paths.forEach(cleanUp);
  }
  const spawn = (role, id) => {
    const who = role === 'sender' ? 'sender' : `receiver${id}`;
    procs.set(who, spawnWorker(run.worker, { ...config, role, id }, `S10-${label.replace(' ', '-')}-${who}`, mailbox));
  };
  const all = (whos, ctl, i, timeoutMs) => Promise.all(whos.map((who) => mailbox.take(who, ctl, i, timeoutMs)));
  const tellAll = (whos, message) => {
    for (const who of whos) {
      const child = procs.get(who);
      if (child.connected) child.send(message);
    }
  };
  let target = null;
  try {
    // Receivers first (they listen), then the sender (it connects to every one).
    for (let id = 0; id < RECEIVERS; id++) spawn('receiver', id);
    await all(receiverNames, 'ready', undefined, SETUP_MS);
    spawn('sender', 0);
    await all(['sender'], 'ready', undefined, SETUP_MS);
    // Every socket is connected: the paths can go now, so that not even a SIGKILL of this
    // process leaves them behind.
    unlinkPaths();
    for (const [i, size] of S10_SIZES.entries()) {
      if (run.system === 'ringwire') target = channel({ mode: 'broadcast', capacity: capacityFor(size), overflow: 'block' });
      const phase = { ctl: 'phase', i, size, target };
      // Receivers join first ('next': from the first message sent after they joined, which is
      // the first one), then the sender opens; then the name can go.
      tellAll(receiverNames, phase);
      await all(receiverNames, 'armed', i, SETUP_MS);
      tellAll(['sender'], phase);
      await all(['sender'], 'armed', i, SETUP_MS);
      if (target !== null) {
        release(target);
        target = null;
      }
      tellAll(['sender'], { ctl: 'go', i });
      const warmupMs = i === 0 ? timing.firstWarmupMs : timing.warmupMs;
      const start = wallNow() + warmupMs;
      const end = start + timing.measureMs;
      tellAll(receiverNames, { ctl: 'window', i, start, end });
      const cpuRead = cpuOverWindow(procs, start, end);
      const results = await all(receiverNames, 'result', i, warmupMs + timing.measureMs + SLACK_MS);
      const cpu = await cpuRead;
      // The sender stops, then ends the stream (ringwire) or sends END_OF_PHASE on every
      // socket; each receiver drains, sees the end and reports what it got.
      tellAll(['sender'], { ctl: 'stop', i });
      const [[stopped], done] = await Promise.all([
        all(['sender'], 'stopped', i, SLACK_MS), all(receiverNames, 'done', i, SLACK_MS),
      ]);
      const { sent } = stopped;
      const wrong = done.map((d, k) => (d.received === sent && d.bad === 0 ? null
        : `receiver ${k} got ${d.received}, ${d.bad} of them out of order, torn or of the wrong size`)).filter(Boolean);
      if (wrong.length > 0) {
        throw new Error(`S10 ${label} ${sizeLabel(size)}: not every receiver got every message exactly once and in order: `
          + `sent ${sent}; ${wrong.join('; ')}`);
      }
      // (On a loaded box one receiver may get nothing inside a short window: its rate is 0.)
      if (!(results.reduce((a, r) => a + r.messages, 0) > 0) || !results.every((r) => r.seconds > 0)) {
        throw new Error(`S10 ${label} ${sizeLabel(size)}: no message arrived inside the measurement window`);
      }
      const rates = results.map((r) => r.rate);
      const rate = rates.reduce((a, b) => a + b, 0);
      // CPU seconds per second of the window, over delivered messages per second.
      const sum = (prefix) => Object.entries(cpu?.cpu ?? {}).filter(([who]) => who.startsWith(prefix)).reduce((a, [, v]) => a + v, 0);
      const cpuNsPerMsg = cpu && cpu.seconds > 0 && rate > 0 ? ((sum('') / cpu.seconds) * 1e9) / rate : null;
      onPhase(size, {
        rate, rates, sent, seconds: results.map((r) => r.seconds),
        waits: { sender: stopped.waits, receivers: done.map((d) => d.waits) },
        cpuNsPerMsg, cpu: cpu ? { sender: sum('sender'), receivers: sum('receiver'), window: cpu.seconds } : null,
      });
    }
    for (const child of procs.values()) child.expectedExit = true;
    tellAll([...receiverNames, 'sender'], { ctl: 'exit' });
    await withTimeout(Promise.all([...procs.values()].map((child) => child.exited)), SETUP_MS,
      `S10 ${label}: the workers did not exit within ${SETUP_MS} ms`);
    if (mailbox.failure) throw mailbox.failure;
  } finally {
    if (target !== null) release(target);
    unlinkPaths();
    for (const child of procs.values()) if (child.exitCode === null) child.kill('SIGKILL');
  }
}

export async function runBroadcast(ctx) {
  const runs = BROADCAST_RUNS.filter((run) => !ctx.only || ctx.only.has(run.system));
  const rows = new RowSamples();
  /** Each row's rounds: the receivers' rates (their sum is the round's sample). */
  const splits = new Map();
  const key = (system, variant, size) => `${system}|${variant ?? ''}|${size}`;
  for (let round = 0; round < ctx.runs; round++) {
    for (const run of runs) {
      const label = labelOf(run);
      await broadcastGroup(run, ctx.timing.broadcast, (size, m) => {
        const fields = { system: run.system, size };
        if (run.variant) fields.variant = run.variant;
        fields.note = run.note;
        rows.add('S10', fields, { value: Math.round(m.rate), cpuNsPerMsg: m.cpuNsPerMsg, cpu: m.cpuNsPerMsg ? m.cpu : null });
        const k = key(run.system, run.variant, size);
        if (!splits.has(k)) splits.set(k, []);
        splits.get(k).push(m.rates.map(Math.round));
        const waited = (role, counts) => (counts.every((n) => n === undefined) ? '' : `; ${role} waited ${counts.join(' + ')} times`);
        ctx.log(`S10 ${label} ${sizeLabel(size)} [${round + 1}/${ctx.runs}] … ${formatValue(m.rate, 'msg/s')} msg/s delivered, `
          + `slowest receiver ${formatValue(Math.min(...m.rates), 'msg/s')} msg/s`
          + `${m.cpuNsPerMsg ? `, ${formatCpuNs(m.cpuNsPerMsg)} CPU/msg` : ''}  `
          + `(receivers ${m.rates.map((x) => formatValue(x, 'msg/s')).join(' + ')} over ${m.seconds.map((s) => s.toFixed(2)).join(' / ')} s; `
          + `${m.sent} sent, ${RECEIVERS} x ${m.sent} received and checked`
          + `${waited('sender', [m.waits.sender])}${waited('receivers', m.waits.receivers)})`);
      });
    }
  }
  for (const { id, row } of rows.summaries()) {
    const split = splits.get(key(row.system, row.variant, row.size));
    if (row.value !== null && split) {
      // The slowest receiver of each round, and each round's receiver rates.
      const slowest = split.map((rates) => Math.min(...rates));
      row.slowest = { value: median(slowest), min: Math.min(...slowest), max: Math.max(...slowest), samples: slowest };
      row.receiverSamples = split;
    }
    const { note } = row;
    delete row.note;
    if (note !== undefined) row.note = note;
    ctx.record(id, row);
  }
}
