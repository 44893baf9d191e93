// Where ringwire stands against the performance targets of issue 10 (S10's: issue 12; S11's:
// the large-message issue; S13's: the NATS bridge issue), from
// this run: every target is judged on medians (a ratio of medians), and shown with the range
// of the paired per-round ratios (round k of ringwire over round k of the baseline: the
// rounds are interleaved, so round k of both ran minutes apart at most, on the same machine
// state).
// Informational only: nothing fails on a missed target (see check-results.mjs).
import { formatCpuNs, formatRatio, formatValue, sizeLabel } from '../harness/format.mjs';
import { S1_SIZES } from '../systems/lists.mjs';
import { bestRingwire } from './table.mjs';

/** Rows of scenario `id` matching `where` (system, size, variant, kind; undefined = any). */
function finder(results) {
  const rowsOf = (id) => results.scenarios.find((s) => s.id === id)?.results ?? [];
  const find = (id, where) => rowsOf(id).find((r) => Object.entries(where)
    .every(([k, v]) => v === undefined || r[k] === v)) ?? null;
  return { rowsOf, find };
}

/**
 * ringwire ÷ baseline on `field` ('value', or 'cpuNsPerMsg' with its samples in
 * 'cpuNsSamples'): { ratio, lo, hi } (lo/hi: the paired per-round ratios), or null.
 */
function compare(a, b, field = 'value') {
  const samples = field === 'value' ? 'samples' : 'cpuNsSamples';
  if (!(a?.[field] > 0) || !(b?.[field] > 0)) return null;
  const ratio = a[field] / b[field];
  const as = a[samples];
  const bs = b[samples];
  if (!Array.isArray(as) || !Array.isArray(bs) || as.length !== bs.length || as.length === 0) return { ratio, lo: null, hi: null };
  const paired = as.map((x, k) => x / bs[k]);
  return { ratio, lo: Math.min(...paired), hi: Math.max(...paired) };
}

/** "7.40x (6.10x–8.02x)": a ratio of medians and the range of the paired per-round ratios. */
function ratioText(c) {
  if (c === null) return 'not measured';
  return c.lo === null ? formatRatio(c.ratio) : `${formatRatio(c.ratio)} (${formatRatio(c.lo)}–${formatRatio(c.hi)})`;
}

const label = (r) => `${r.kind ? `${r.kind === 'S3' ? 'S3-like' : 'per message'} ` : ''}${sizeLabel(r.size)}`;

/**
 * [{ target, met, measured, items? }] for every target whose inputs were measured. `items`
 * are the per-size comparisons of a target that must hold at every size ({ text, ok }).
 */
export function evaluateTargets(results) {
  const { rowsOf, find } = finder(results);
  const out = [];

  /** A target that must hold for every item ({ text, ok }); `what` counts them (sizes, rows). */
  const allOf = (target, items, what = 'sizes', below = 'below') => {
    if (items.length === 0) return;
    const missed = items.filter((i) => !i.ok).length;
    out.push({
      target, met: missed === 0, items,
      measured: missed === 0 ? `all ${items.length} ${what}` : `${missed} of ${items.length} ${what} ${below}`,
    });
  };

  /**
   * ringwire ÷ `baseline` at every size of scenario `id` (rows passing `keep`), judged by
   * ok(ratio); on `field` (the median rate, or the CPU time per message).
   */
  const everySize = (target, id, baseline, ok, { keep = () => true, field = 'value' } = {}) => {
    const items = [];
    for (const r of rowsOf(id).filter((x) => x.system === 'ringwire' && keep(x))) {
      const b = find(id, { system: baseline, size: r.size, kind: r.kind });
      const c = compare(r, b, field);
      if (c === null) continue;
      const extra = field === 'cpuNsPerMsg' ? ` [${formatCpuNs(r.cpuNsPerMsg)} vs ${formatCpuNs(b.cpuNsPerMsg)}]` : '';
      items.push({ text: `${label(r)} ${ratioText(c)}${extra}`, ok: ok(c.ratio) });
    }
    allOf(target, items);
  };

  // S1: the per-message API at every size, against one write per message and coalesced writes.
  const s1 = (r) => S1_SIZES.includes(r.size);
  everySize('S1 per message: ringwire ≥ 20x uds at every size', 'S1', 'uds', (x) => x >= 20, { keep: s1 });
  everySize('S1 per message: ringwire ≥ 1x uds-batched at every size', 'S1', 'uds-batched', (x) => x >= 1, { keep: s1 });

  // S2: ringwire's better batch path (by median), full payloads written and checked.
  const s2 = bestRingwire(rowsOf('S2'));
  const s2c = compare(s2, find('S2', { system: 'uds-batched' }));
  if (s2c) {
    out.push({ target: `S2 ringwire batch path (best: ${s2.variant}) ≥ 2x uds-batched`, met: s2c.ratio >= 2, measured: ratioText(s2c) });
  }

  // S3: every size of 1 KiB and above.
  const big = (r) => r.size >= 1024;
  everySize('S3 ringwire ≥ 10x uds at every size ≥ 1 KiB', 'S3', 'uds', (x) => x >= 10, { keep: big });
  everySize('S3 ringwire ≥ 2x uds-batched at every size ≥ 1 KiB', 'S3', 'uds-batched', (x) => x >= 2, { keep: big });

  // S5: the aggregate of 2 x 2 processes.
  const batched = find('S5', { system: 'ringwire', variant: 'batched' });
  if (batched?.value > 0) {
    const range = typeof batched.min === 'number' ? ` (${formatValue(batched.min, 'msg/s')}–${formatValue(batched.max, 'msg/s')})` : '';
    const vs = compare(batched, find('S5', { system: 'uds-batched' }));
    out.push({
      target: 'S5 ringwire batched ≥ 12 M msg/s aggregate (2 x 2)', met: batched.value >= 12e6,
      measured: `${formatValue(batched.value, 'msg/s')} msg/s${range}${vs ? `; ÷ uds-batched ${ratioText(vs)}` : ''}`,
    });
  }
  const single = compare(find('S5', { system: 'ringwire', variant: 'per-message' }), find('S5', { system: 'uds' }));
  if (single) out.push({ target: 'S5 ringwire per message ≥ 5x the uds mesh', met: single.ratio >= 5, measured: ratioText(single) });

  // S6: one run each; the better raw-codec row, and json.
  const run = find('S6', { system: 'piscina' });
  const rawRows = ['raw', 'raw batched'].map((variant) => find('S6', { system: 'ringwire', variant })).filter((r) => r?.value > 0);
  const raw = rawRows.reduce((a, r) => (a === null || r.value > a.value ? r : a), null);
  if (raw && run?.value > 0) {
    const r = raw.value / run.value;
    out.push({
      target: 'S6 ringwire raw ≥ 20x pool.run()', met: r >= 20,
      measured: `${formatRatio(r)} (${raw.variant} ${formatValue(raw.value, 'tasks/s')} vs ${formatValue(run.value, 'tasks/s')} tasks/s; one run)`,
    });
  }
  const json = find('S6', { system: 'ringwire', variant: 'json' });
  if (json?.value > 0 && run?.value > 0) {
    const r = json.value / run.value;
    out.push({ target: 'S6 ringwire json ≥ 15x pool.run()', met: r >= 15, measured: `${formatRatio(r)} (one run)` });
  }

  // S8: one shared CPU, per message and S3-like, at every size.
  everySize('S8 one shared CPU: ringwire ≥ 1x uds at every size', 'S8', 'uds', (x) => x >= 1);
  everySize('S8 one shared CPU: ringwire ≥ 1x uds-batched at every size', 'S8', 'uds-batched', (x) => x >= 1);
  const s8 = compare(find('S8', { system: 'ringwire', size: 64, kind: 'per-message' }), find('S8', { system: 'uds', size: 64, kind: 'per-message' }));
  if (s8) out.push({ target: 'S8 one shared CPU: ringwire ≥ 5x uds per message at 64 B', met: s8.ratio >= 5, measured: ratioText(s8) });

  // S9: noisy neighbours.
  everySize('S9 noisy neighbours: ringwire ≥ 1x uds-batched at every size', 'S9', 'uds-batched', (x) => x >= 1);

  // S10 (issue 12): broadcast to 4 receivers, aggregate delivered; each ringwire row against
  // the socket row of its kind (per message, batched).
  everySize('S10 broadcast per message: ringwire ≥ 10x uds at every size', 'S10', 'uds', (x) => x >= 10,
    { keep: (r) => r.variant === 'per-message' });
  everySize('S10 broadcast batched: ringwire ≥ 1x uds-batched at every size', 'S10', 'uds-batched', (x) => x >= 1,
    { keep: (r) => r.variant === 'batched' });

  // S11 (the large-message issue): 64 MiB (and 4 MiB) messages through a 1 MiB ring, GB/s
  // against one Unix socket, one write per message.
  everySize('S11 large messages: ringwire ≥ 1x uds at every size', 'S11', 'uds', (x) => x >= 1);

  // S13 (the NATS bridge issue): ringwire bridged out and in over core NATS against plain
  // nats.js, judged on the median of the per-round ratios (vsNats), at every size.
  allOf('S13 ringwire-nats ≥ 0.8x plain nats.js at every size (median of rounds)',
    rowsOf('S13').filter((r) => r.system === 'ringwire-nats' && r.vsNats).map((r) => ({
      text: `${sizeLabel(r.size)} ${ratioText({ ratio: r.vsNats.value, lo: r.vsNats.min, hi: r.vsNats.max })}`,
      ok: r.vsNats.value >= 0.8,
    })));

  // CPU time per message, ringwire's over the per-message socket's (≤ 1x).
  for (const id of ['S1', 'S3', 'S8']) {
    everySize(`${id} CPU per message: ringwire ≤ 1x uds at every size`, id, 'uds', (x) => x <= 1, { field: 'cpuNsPerMsg' });
  }

  // Spread: max / min of ringwire's samples in S1-S3.
  const items = [];
  for (const id of ['S1', 'S2', 'S3']) {
    for (const r of rowsOf(id).filter((x) => x.system === 'ringwire' && x.min > 0)) {
      const ratio = r.max / r.min;
      items.push({ text: `${id} ${r.variant ? `${r.variant} ` : ''}${sizeLabel(r.size)} ${ratio.toFixed(2)}`, ok: ratio <= 1.5 });
    }
  }
  allOf('spread: max / min of ringwire\'s samples ≤ 1.5 in S1-S3', items, 'rows', 'above');

  // Earlier targets (issues before 10), kept for comparison.
  const spin = find('S4', { system: 'ringwire', variant: 'spin' });
  if (spin?.value) {
    out.push({ target: 'S4 spin p50 ≤ 1 µs (earlier target)', measured: `${formatValue(spin.p50, 'us')} µs`, met: spin.p50 <= 1 });
  }
  const park = find('S4', { system: 'ringwire', variant: 'park' });
  const futex = find('S4', { system: 'c-futex' });
  if (park?.value && futex?.value) {
    const r = park.p50 / futex.p50;
    out.push({ target: 'S4 park p50 ≤ 1.5x c-futex p50 (earlier target)', measured: `${formatRatio(r)} (${formatValue(park.p50, 'us')} vs ${formatValue(futex.p50, 'us')} µs)`, met: r <= 1.5 });
  }
  const idle = find('S7', { system: 'ringwire' });
  if (idle?.value !== null && idle?.value !== undefined) {
    out.push({ target: 'S7 idle CPU ≤ 1% of a core (earlier target)', measured: `${formatValue(idle.value, '%')} %`, met: idle.value <= 1 });
  }
  return out;
}

export function printTargets(results) {
  const targets = evaluateTargets(results);
  if (targets.length === 0) return;
  console.log('\ntargets (issue 10, S10 issue 12, S11 the large-message issue, S13 the NATS bridge issue; informational): ratio of medians, with the range of the paired per-round ratios;'
    + ' ✗ marks a size that misses');
  for (const t of targets) {
    console.log(`  ${t.met ? 'met   ' : 'MISSED'}  ${t.target.padEnd(62)} ${t.measured}`);
    if (!t.items) continue;
    // The sizes, a few to a line.
    const cells = t.items.map((i) => `${i.text}${i.ok ? '' : ' ✗'}`);
    for (let k = 0; k < cells.length; k += 3) console.log(`            ${cells.slice(k, k + 3).join('  |  ')}`);
  }
}
