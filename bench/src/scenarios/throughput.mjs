// S1, S2 and S3: throughput. One system at a time; each system's producer and consumer
// processes run all of its phases (S1 64 B, S2 64 B batched, S3 the size sweep) in turn, so
// the sweep does not pay for two process start-ups per point.
import { cleanUp } from '../harness/cleanup.mjs';
import { formatValue, sizeLabel } from '../harness/format.mjs';
import { runPhases } from '../harness/phases.mjs';
import {
  groupCleanupKey, groupFor, modeFor, NATIVE_SYSTEMS, noteFor, SCENARIO_SYSTEMS, THROUGHPUT_SYSTEMS,
} from '../systems/index.mjs';
import { nativeThroughput } from '../systems/native.mjs';
import { SCENARIOS } from './meta.mjs';


/**
 * S2 measures both of ringwire's batch paths: trySendMany over arrays of messages, and
 * tryClaim/commit (messages written in place, as the coalescing socket producers do).
 */
const VARIANTS = {
  S2: { ringwire: [{ mode: 'batch', variant: 'trySendMany' }, { mode: 'claim', variant: 'tryClaim' }] },
};

function phasesFor(system, ctx) {
  const phases = [];
  for (const id of ['S1', 'S2', 'S3']) {
    if (!ctx.wanted.has(id) || !SCENARIO_SYSTEMS[id].includes(system)) continue;
    const sizes = id === 'S3' ? ctx.timing.sizes : [64];
    const window = id === 'S3' ? ctx.timing.sweep : ctx.timing.rate;
    const variants = VARIANTS[id]?.[system] ?? [{ mode: modeFor(system, id) }];
    for (const size of sizes) {
      for (const { mode, variant } of variants) {
        phases.push({
          i: phases.length, scenario: id, system, size, mode, variant, own: id === 'S3',
          warmupMs: window.warmupMs, measureMs: window.measureMs,
          label: `${sizeLabel(size)}${variant ? ` ${variant}` : ''}`,
        });
      }
    }
  }
  return phases;
}

/** The row for a measured rate (messages per second) of a phase. */
function row(phase, msgPerSec) {
  const value = phase.scenario === 'S3' ? (msgPerSec * phase.size) / 1e9 : Math.round(msgPerSec);
  const r = { system: phase.system, size: phase.size, value };
  if (phase.variant) r.variant = phase.variant;
  const note = noteFor(phase.system, phase.scenario, phase.variant);
  if (note) r.note = note;
  return r;
}

function progress(ctx, phase, r, detail) {
  const unit = SCENARIOS[phase.scenario].unit;
  const shown = r.value === null ? `not run: ${r.reason}` : `${formatValue(r.value, unit)} ${unit}`;
  ctx.log(`${phase.scenario} ${phase.system} ${phase.label} … ${shown}${detail ? `  (${detail})` : ''}`);
}

export async function runThroughput(ctx) {
  for (const system of THROUGHPUT_SYSTEMS) {
    if (ctx.only && !ctx.only.has(system)) continue;
    const phases = phasesFor(system, ctx);
    if (phases.length === 0) continue;
    if (NATIVE_SYSTEMS.has(system)) {
      for (const phase of phases) {
        // The C helpers warm up for a tenth of the window themselves; nothing to JIT.
        const m = await nativeThroughput(system, phase.size, phase.measureMs);
        const r = m.reason === undefined ? row(phase, m.msgPerSec)
          : { system, size: phase.size, value: null, reason: m.reason };
        ctx.record(phase.scenario, r);
        progress(ctx, phase, r);
      }
      continue;
    }
    const group = groupFor(system);
    if (group.prepare) {
      for (const phase of phases) {
        let made = null;
        phase.prepare = () => {
          made = group.prepare(phase.size);
          return made.target;
        };
        phase.release = () => made?.release();
      }
    }
    try {
      await runPhases(group, phases, (phase, result) => {
        const r = row(phase, result.rate);
        ctx.record(phase.scenario, r);
        progress(ctx, phase, r, `${result.messages} msgs in ${result.seconds.toFixed(2)} s; ${result.sent} sent and checked`);
      });
    } finally {
      const key = groupCleanupKey(group);
      if (key) cleanUp(key);
    }
  }
}
