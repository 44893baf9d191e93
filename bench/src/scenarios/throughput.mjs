// Throughput: S1 (per message, by size), S2 (batch paths), S3 (by size, a copy the consumer
// owns), S8 (one shared CPU) and S9 (noisy neighbours).
//
// Every row is measured once per round, in `ctx.runs` rounds. A round runs every system once,
// one after the other (ringwire, uds, uds-batched, ...), each in fresh worker processes that
// run all of that system's phases of the scenario in turn (so a sweep does not pay for two
// process start-ups per point); the next round starts over. A row's samples are therefore
// never taken back to back, and a slow minute on a shared machine shows as spread in every
// system's samples rather than as one system's bad luck. Rows are the median, min and max of
// their samples (harness/samples.mjs), with the CPU time per message (every process of the
// group, every thread, over the measurement window).
import { spawn } from 'node:child_process';
import { cleanUp, trackChild } from '../harness/cleanup.mjs';
import { nsPerMessage } from '../harness/cputime.mjs';
import { formatCpuNs, formatValue, sizeLabel } from '../harness/format.mjs';
import { runPhases } from '../harness/phases.mjs';
import { RowSamples } from '../harness/samples.mjs';
import {
  groupCleanupKey, groupFor, modeFor, NATIVE_SYSTEMS, noteFor, SCENARIO_SYSTEMS, THROUGHPUT_SYSTEMS,
} from '../systems/index.mjs';
import { nativeThroughput } from '../systems/native.mjs';
import { S1_SIZES, S1_SWEEP_SYSTEMS, S9_SIZES, SWEEP_SYSTEMS, UDP_MAX_PAYLOAD } from '../systems/lists.mjs';

/**
 * S2 measures both of ringwire's batch paths: trySendMany over arrays of messages, and
 * tryClaim/commit (messages written in place, as the coalescing socket producers do).
 */
const VARIANTS = {
  S2: { ringwire: [{ mode: 'batch', variant: 'trySendMany' }, { mode: 'claim', variant: 'tryClaim' }] },
};

/** S8 pins both processes of a group (and all their threads) to this CPU. */
const SHARED_CPU = 0;
/** S9's CPU-bound neighbours: unpinned, for the whole scenario. */
const NEIGHBOURS = 2;
/**
 * A neighbour: busy for 50 ms at a time, with an event-loop turn in between (a few µs), so
 * that it can notice its IPC channel close and exit: a harness killed by SIGKILL (no exit
 * handler runs) must not leave two processes spinning forever. An hour is the hard limit.
 */
const NEIGHBOUR = `process.on('disconnect', () => process.exit(0));
const limit = Date.now() + 3600e3;
(function spin() {
  const end = Date.now() + 50;
  while (Date.now() < end);
  if (Date.now() > limit) process.exit(0);
  setImmediate(spin);
})();`;

function phase(ctx, fields) {
  const { scenario, system, size, kind, variant } = fields;
  // Per-message and batch rows in msg/s over the `rate` window; S3-like rows in GB/s.
  const s3like = scenario === 'S3' || kind === 'S3';
  const window = s3like ? ctx.timing.sweep : ctx.timing.rate;
  const mode = fields.mode ?? modeFor(system, scenario);
  return {
    ...fields, mode, own: s3like, unit: s3like ? 'GB/s' : 'msg/s',
    warmupMs: window.warmupMs, measureMs: window.measureMs,
    label: `${kind ? `${kind} ` : ''}${sizeLabel(size)}${variant ? ` ${variant}` : ''}`,
  };
}

/** S1, S2 and S3 phases of one system. */
function classicPhases(system, ctx) {
  const phases = [];
  for (const scenario of ['S1', 'S2', 'S3']) {
    if (!ctx.wanted.has(scenario) || !SCENARIO_SYSTEMS[scenario].includes(system)) continue;
    const sizes = scenario === 'S3' ? ctx.timing.sizes
      : scenario === 'S1' && S1_SWEEP_SYSTEMS.includes(system) ? S1_SIZES : [64];
    const variants = VARIANTS[scenario]?.[system] ?? [{}];
    for (const size of sizes) {
      for (const { mode, variant } of variants) phases.push(phase(ctx, { scenario, system, size, mode, variant }));
    }
  }
  return phases;
}

/** S8 or S9 phases of one system: per message, then S3-like, at each size. */
function kindPhases(scenario, system, ctx) {
  const perMessage = scenario === 'S8' ? S1_SIZES : S9_SIZES;
  const s3 = scenario === 'S8' ? ctx.timing.sizes : S9_SIZES;
  return [
    ...perMessage.map((size) => phase(ctx, { scenario, system, size, kind: 'per-message' })),
    ...s3.map((size) => phase(ctx, { scenario, system, size, kind: 'S3' })),
  ];
}

/** One round's sample of a phase: { value, cpuNsPerMsg, cpu } in the phase's unit. */
function sample(phase, rate, messages, cpu) {
  const value = phase.unit === 'GB/s' ? (rate * phase.size) / 1e9 : Math.round(rate);
  const cpuNsPerMsg = nsPerMessage(cpu, messages);
  return { value, cpuNsPerMsg, cpu: cpuNsPerMsg === null ? null : cpu };
}

function fieldsOf(phase) {
  const { scenario, system, size, variant, kind } = phase;
  const fields = { system, size };
  if (variant) fields.variant = variant;
  if (kind) {
    fields.kind = kind;
    fields.unit = phase.unit;
  }
  const note = noteFor(system, kind === 'S3' ? 'S3' : kind ? 'S1' : scenario, variant);
  if (note) fields.note = note;
  return fields;
}

function progress(ctx, phase, round, s, detail) {
  const shown = s.reason !== undefined ? `not run: ${s.reason}`
    : `${formatValue(s.value, phase.unit)} ${phase.unit}${s.cpuNsPerMsg ? `, ${formatCpuNs(s.cpuNsPerMsg)} CPU/msg` : ''}`;
  ctx.log(`${phase.scenario} ${phase.system} ${phase.label} [${round + 1}/${ctx.runs}] … ${shown}${detail ? `  (${detail})` : ''}`);
}

/** Runs one system's phases once, in fresh processes; each phase's sample goes to `rows`. */
async function runOnce(ctx, system, phases, round, rows, extraConfig) {
  if (NATIVE_SYSTEMS.has(system)) {
    for (const p of phases) {
      // The C helpers warm up for a tenth of the window themselves; nothing to JIT.
      const m = await nativeThroughput(system, p.size, p.measureMs);
      const s = m.reason === undefined ? sample(p, m.msgPerSec, m.messages, m.cpu) : { reason: m.reason };
      rows.add(p.scenario, fieldsOf(p), s);
      progress(ctx, p, round, s);
    }
    return;
  }
  if (system === 'udp') {
    // One datagram per message: a size no datagram carries is a row not run, with the reason.
    for (const p of phases.filter((x) => x.size > UDP_MAX_PAYLOAD)) {
      const s = { reason: `a UDP datagram carries at most ${UDP_MAX_PAYLOAD} bytes over IPv4` };
      rows.add(p.scenario, fieldsOf(p), s);
      progress(ctx, p, round, s);
    }
    phases = phases.filter((x) => x.size <= UDP_MAX_PAYLOAD);
    if (phases.length === 0) return;
  }
  const group = groupFor(system);
  group.config = { ...group.config, ...extraConfig };
  // Fresh processes: the first phase also warms the JIT up.
  const own = phases.map((p, i) => ({ ...p, i, warmupMs: i === 0 ? Math.max(p.warmupMs, ctx.timing.firstWarmupMs) : p.warmupMs }));
  if (group.prepare) {
    for (const p of own) {
      let made = null;
      p.prepare = () => {
        made = group.prepare(p.size);
        return made.target;
      };
      p.release = () => made?.release();
    }
  }
  try {
    await runPhases(group, own, (p, result) => {
      const s = sample(p, result.rate, result.messages, result.cpu);
      rows.add(p.scenario, fieldsOf(p), s);
      progress(ctx, p, round, s, `${result.messages} msgs in ${result.seconds.toFixed(2)} s; ${result.sent} sent and checked`);
    });
  } finally {
    const key = groupCleanupKey(group);
    if (key) cleanUp(key);
  }
}

/** `plans` ([{ system, phases }]) in ctx.runs interleaved rounds; records the rows. */
async function inRounds(ctx, plans, extraConfig = {}) {
  const rows = new RowSamples();
  for (let round = 0; round < ctx.runs; round++) {
    for (const { system, phases } of plans) await runOnce(ctx, system, phases, round, rows, extraConfig);
  }
  for (const { id, row } of rows.summaries()) ctx.record(id, row);
}

const wantedSystems = (ctx, systems) => systems.filter((s) => !ctx.only || ctx.only.has(s));

/** S1, S2, S3. */
export async function runThroughput(ctx) {
  const plans = wantedSystems(ctx, THROUGHPUT_SYSTEMS)
    .map((system) => ({ system, phases: classicPhases(system, ctx) }))
    .filter((p) => p.phases.length > 0);
  if (plans.length > 0) await inRounds(ctx, plans);
}

/**
 * S8, one shared CPU: both processes of every group pinned to one CPU, as in a container
 * limited to one CPU or on a machine whose other cores are busy. Every thread of both
 * processes is pinned (taskset -a, by the workers themselves: see workers/common.mjs).
 */
export async function runSharedCpu(ctx) {
  const plans = wantedSystems(ctx, SWEEP_SYSTEMS).map((system) => ({ system, phases: kindPhases('S8', system, ctx) }));
  if (plans.length === 0) return;
  ctx.log(`S8 … producer and consumer pinned to CPU ${SHARED_CPU}`);
  await inRounds(ctx, plans, { cpu: SHARED_CPU });
}

/**
 * S9, noisy neighbours: NEIGHBOURS CPU-bound processes (unpinned) run for the whole
 * scenario, started before its first round and killed after its last; they are tracked
 * children, so an error or Ctrl-C kills them too (harness/cleanup.mjs).
 */
export async function runNoisy(ctx) {
  const plans = wantedSystems(ctx, SWEEP_SYSTEMS).map((system) => ({ system, phases: kindPhases('S9', system, ctx) }));
  if (plans.length === 0) return;
  const hogs = [];
  try {
    for (let k = 0; k < NEIGHBOURS; k++) {
      const hog = spawn(process.execPath, ['-e', NEIGHBOUR], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      trackChild(hog);
      hogs.push(hog);
    }
    ctx.log(`S9 … ${NEIGHBOURS} CPU-bound neighbours running (pids ${hogs.map((h) => h.pid).join(', ')})`);
    await inRounds(ctx, plans);
  } finally {
    await Promise.all(hogs.map((hog) => new Promise((resolve) => {
      if (hog.exitCode !== null || hog.signalCode !== null) return resolve();
      hog.once('exit', resolve);
      hog.kill('SIGKILL');
    })));
  }
}
