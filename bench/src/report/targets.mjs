// Where ringwire stands against the project's performance targets, from ratios measured in
// this run. Informational only: nothing fails on a missed target (see check-results.mjs).
import { formatRatio, formatValue } from '../harness/format.mjs';
import { bestRingwire } from './table.mjs';

function lookup(results) {
  const scenario = (id) => results.scenarios.find((s) => s.id === id)?.results ?? [];
  const value = (id, system, { size, variant } = {}) => scenario(id).find((r) => r.system === system
    && (size === undefined || r.size === size) && (variant === undefined || r.variant === variant)) ?? null;
  return { value };
}

/** [{ target, measured, met }] for every target whose inputs were measured. */
export function evaluateTargets(results) {
  const { value } = lookup(results);
  const out = [];
  const ratio = (label, a, b, min) => {
    if (a?.value > 0 && b?.value > 0) {
      const r = a.value / b.value;
      out.push({ target: `${label} ≥ ${min}x`, measured: formatRatio(r), met: r >= min });
    }
  };
  ratio('S1 ringwire ÷ uds', value('S1', 'ringwire'), value('S1', 'uds'), 20);
  ratio('S1 ringwire ÷ uds-batched', value('S1', 'ringwire'), value('S1', 'uds-batched'), 1);
  const s2 = bestRingwire(results.scenarios.find((s) => s.id === 'S2')?.results ?? []);
  const s2name = `S2 ringwire${s2?.variant ? ` (${s2.variant})` : ''}`;
  ratio(`${s2name} ÷ uds-batched`, s2, value('S2', 'uds-batched'), 2);
  ratio(`${s2name} ÷ js-ceiling`, s2, value('S2', 'js-ceiling'), 0.5);
  for (const size of [65536, 1 << 20]) {
    ratio(`S3 ringwire ÷ uds @${size === 65536 ? '64 KiB' : '1 MiB'}`, value('S3', 'ringwire', { size }),
      value('S3', 'uds', { size }), 10);
  }
  const spin = value('S4', 'ringwire', { variant: 'spin' });
  if (spin?.value) {
    out.push({ target: 'S4 spin p50 ≤ 1 µs', measured: `${formatValue(spin.p50, 'us')} µs`, met: spin.p50 <= 1 });
    out.push({ target: 'S4 spin p99 ≤ 5 µs', measured: `${formatValue(spin.p99, 'us')} µs`, met: spin.p99 <= 5 });
  }
  const park = value('S4', 'ringwire', { variant: 'park' });
  const futex = value('S4', 'c-futex');
  if (park?.value && futex?.value) {
    const r = park.p50 / futex.p50;
    out.push({ target: 'S4 park p50 ≤ 1.5x c-futex p50', measured: `${formatRatio(r)} (${formatValue(park.p50, 'us')} vs ${formatValue(futex.p50, 'us')} µs)`, met: r <= 1.5 });
  }
  const def = value('S4', 'ringwire', { variant: 'default' });
  const uds = value('S4', 'uds');
  if (def?.value && uds?.value) {
    const r = uds.p50 / def.p50;
    out.push({ target: 'S4 uds p50 ÷ default p50 ≥ 10x', measured: formatRatio(r), met: r >= 10 });
  }
  const s5 = bestRingwire(results.scenarios.find((s) => s.id === 'S5')?.results ?? []);
  if (s5) {
    // The target is the aggregate rate; the ratios to the socket baselines of the same run
    // are shown beside it (per message against one write per message, batched against
    // coalesced writes).
    const versus = [['per-message', 'uds'], ['batched', 'uds-batched']].map(([variant, system]) => {
      const a = value('S5', 'ringwire', { variant });
      const b = value('S5', system);
      return a?.value > 0 && b?.value > 0 ? `${variant} ÷ ${system} ${formatRatio(a.value / b.value)}` : null;
    }).filter(Boolean);
    out.push({
      target: 'S5 ringwire ≥ 5 M msg/s aggregate (2 x 2)',
      measured: `${formatValue(s5.value, 'msg/s')} msg/s (${s5.variant})${versus.length ? `; ${versus.join(', ')}` : ''}`,
      met: s5.value >= 5e6,
    });
  }
  const single = value('S6', 'ringwire', { variant: 'raw' });
  const batched = value('S6', 'ringwire', { variant: 'raw batched' });
  const run = value('S6', 'piscina');
  const raw = (batched?.value ?? 0) > (single?.value ?? 0) ? batched : single;
  if (raw?.value > 0 && run?.value > 0) {
    // The headline is the better raw-codec row; the others' ratios are shown beside it.
    const others = ['raw', 'raw batched', 'json', 'v8']
      .map((variant) => [variant, value('S6', 'ringwire', { variant })])
      .filter(([variant, row]) => variant !== raw.variant && row?.value > 0)
      .map(([variant, row]) => `${variant} ${formatRatio(row.value / run.value)}`);
    const r = raw.value / run.value;
    out.push({
      target: 'S6 ringwire ≥ 10x pool.run()',
      measured: `${formatRatio(r)} (${raw.variant} ${formatValue(raw.value, 'tasks/s')} vs ${formatValue(run.value, 'tasks/s')} tasks/s`
        + `${others.length ? `; ${others.join(', ')}` : ''})`,
      met: r >= 10,
    });
  }
  const idle = value('S7', 'ringwire');
  if (idle?.value !== null && idle?.value !== undefined) {
    out.push({ target: 'S7 idle CPU ≤ 1% of a core', measured: `${formatValue(idle.value, '%')} %`, met: idle.value <= 1 });
    out.push({ target: 'S7 event-loop lag ≤ 1 ms (p99; max shown)', measured: `p99 ${idle.lagP99Ms.toFixed(2)} ms, max ${idle.lagMaxMs.toFixed(2)} ms`, met: idle.lagP99Ms <= 1 });
  }
  return out;
}

export function printTargets(results) {
  const targets = evaluateTargets(results);
  if (targets.length === 0) return;
  console.log('\ntargets (informational; this run\'s ratios)');
  for (const t of targets) console.log(`  ${t.met ? 'met   ' : 'MISSED'}  ${t.target.padEnd(44)} ${t.measured}`);
}
