// Tables for the terminal: one per scenario, ringwire beside each baseline with ratios.
// Rows measured in rounds show the median and the min-max of their samples, and the CPU time
// per message (all processes of the group, every thread, over the measurement window);
// ratios are ratios of medians.
import { formatCpuNs, formatRatio, formatValue, pad, sizeLabel } from '../harness/format.mjs';
import { SINGLE_RUN, unitOf } from '../scenarios/meta.mjs';
import { KINDS } from '../systems/lists.mjs';

const log = (line = '') => console.log(line);
const shown = (r, unit) => (r.value === null ? 'not run' : formatValue(r.value, unit));
const nameOf = (r) => (r.variant ? `${r.system} ${r.variant}` : r.system);

function heading(s, runs) {
  const better = s.unit === 'us' || s.unit === '%' ? 'lower is better' : 'higher is better';
  const how = SINGLE_RUN.has(s.id) ? 'one run'
    : `median of ${runs ?? '?'} interleaved rounds (min–max)${s.id === 'S5' ? '' : ', CPU time per message'}`;
  log();
  log(`${s.id}  ${s.title}  [${s.unit === 'us' ? 'µs' : s.unit}, ${better}; ${how}]`);
}

/** A row's note the first time its name shows in a table (`noted`: those shown), else ''; why it did not run, always. */
function noteOnce(noted, name, r) {
  if (r.value === null) return `not run: ${r.reason}`;
  if (!r.note || noted.has(name)) return '';
  noted.add(name);
  return r.note;
}

/** Three significant digits (at least): 123, 12.3, 1.23. */
const sig3 = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** "12.3 M (9.80–14.1)": the median, then the range in the median's scale (k, M for rates). */
export function spread(r, unit) {
  if (r.value === null) return 'not run';
  const ranged = typeof r.min === 'number' && typeof r.max === 'number';
  if (unit !== 'msg/s' && unit !== 'tasks/s') {
    const median = formatValue(r.value, unit);
    return ranged ? `${median} (${formatValue(r.min, unit)}–${formatValue(r.max, unit)})` : median;
  }
  const [scale, suffix] = r.value >= 1e6 ? [1e6, ' M'] : r.value >= 1e3 ? [1e3, ' k'] : [1, ''];
  const median = `${sig3(r.value / scale)}${suffix}`;
  return ranged ? `${median} (${sig3(r.min / scale)}–${sig3(r.max / scale)})` : median;
}

/** ringwire's best row (by median) among `rows` (S2 has one per batch path). */
export function bestRingwire(rows) {
  return rows.filter((r) => r.system === 'ringwire' && r.value !== null)
    .reduce((best, r) => (best === null || r.value > best.value ? r : best), null);
}

/**
 * A throughput scenario (S1, S2, S3, and each kind of S8 / S9): rows grouped by size, each
 * with its median (min–max), CPU time per message, and ringwire's (best) median over its.
 */
function sweepTable(id, rows, unit) {
  const sizes = [...new Set(rows.map((r) => r.size))].sort((a, b) => a - b);
  const noted = new Set();
  log(`  ${pad('size', 8)}${pad('system', 22)}${pad(`${unit} (min–max)`, 26, true)}${pad('CPU/msg', 10, true)}`
    + `${pad('ringwire ÷', 12, true)}  note`);
  for (const size of sizes) {
    const here = rows.filter((r) => r.size === size);
    const best = bestRingwire(here);
    for (const r of here) {
      const ratio = best && r.value !== null && r.value > 0 ? formatRatio(best.value / r.value) : '-';
      const name = nameOf(r);
      const note = noteOnce(noted, name, r);
      log(`  ${pad(sizeLabel(size), 8)}${pad(name, 22)}${pad(spread(r, unit), 26, true)}${pad(formatCpuNs(r.cpuNsPerMsg), 10, true)}`
        + `${pad(ratio, 12, true)}  ${note}`);
    }
  }
}

/** S8 and S9: one table per kind (per message in msg/s, S3-like in GB/s). */
function kindTables(s) {
  for (const kind of KINDS) {
    const rows = s.results.filter((r) => r.kind === kind);
    if (rows.length === 0) continue;
    const unit = unitOf(s.id, rows[0]);
    log(`  ${kind === 'S3' ? 'S3-like: a copy the consumer owns and reuses' : 'per message'} [${unit}]`);
    sweepTable(s.id, rows, unit);
  }
}

/** S5: every row against both Unix-socket baselines of the same run (ratios of medians). */
function fanOutTable(s) {
  const base = (system) => s.results.find((r) => r.system === system && r.value !== null)?.value ?? null;
  const uds = base('uds');
  const batched = base('uds-batched');
  const ratio = (v, b) => (v !== null && b !== null ? formatRatio(v / b) : '-');
  log(`  ${pad('system', 22)}${pad(`${s.unit} (min–max)`, 26, true)}${pad('CPU/msg', 10, true)}${pad('÷ uds', 10, true)}`
    + `${pad('÷ uds-batched', 15, true)}  note`);
  for (const r of s.results) {
    const note = r.value === null ? `not run: ${r.reason}` : r.note ?? '';
    log(`  ${pad(nameOf(r), 22)}${pad(spread(r, s.unit), 26, true)}${pad(formatCpuNs(r.cpuNsPerMsg), 10, true)}`
      + `${pad(ratio(r.value, uds), 10, true)}${pad(ratio(r.value, batched), 15, true)}  ${note}`);
  }
}

/**
 * S10: per size, every row's aggregate delivered rate and its slowest receiver's rate (each a
 * median, with min–max), against both Unix-socket baselines of the same size (ratios of the
 * aggregate medians).
 */
function broadcastTable(s) {
  const sizes = [...new Set(s.results.map((r) => r.size))].sort((a, b) => a - b);
  const noted = new Set();
  log(`  ${pad('size', 8)}${pad('system', 22)}${pad(`delivered ${s.unit} (min–max)`, 28, true)}`
    + `${pad('slowest receiver', 24, true)}${pad('CPU/msg', 10, true)}${pad('÷ uds', 9, true)}${pad('÷ uds-batched', 15, true)}  note`);
  for (const size of sizes) {
    const here = s.results.filter((r) => r.size === size);
    const base = (system) => here.find((r) => r.system === system && r.value !== null)?.value ?? null;
    const uds = base('uds');
    const batched = base('uds-batched');
    const ratio = (v, b) => (v !== null && b !== null ? formatRatio(v / b) : '-');
    for (const r of here) {
      const name = nameOf(r);
      const note = noteOnce(noted, name, r);
      log(`  ${pad(sizeLabel(size), 8)}${pad(name, 22)}${pad(spread(r, s.unit), 28, true)}`
        + `${pad(r.slowest ? spread(r.slowest, s.unit) : '-', 24, true)}${pad(formatCpuNs(r.cpuNsPerMsg), 10, true)}`
        + `${pad(ratio(r.value, uds), 9, true)}${pad(ratio(r.value, batched), 15, true)}  ${note}`);
    }
  }
}

/**
 * S11: per size, every row's GB/s and msg/s (medians, with min–max), CPU time per message,
 * and the row over the Unix socket of the same size (a ratio of medians).
 */
function largeTable(s) {
  const sizes = [...new Set(s.results.map((r) => r.size))].sort((a, b) => a - b);
  const noted = new Set();
  log(`  ${pad('size', 8)}${pad('system', 12)}${pad(`${s.unit} (min–max)`, 24, true)}${pad('msg/s (min–max)', 24, true)}`
    + `${pad('CPU/msg', 10, true)}${pad('÷ uds', 9, true)}  note`);
  for (const size of sizes) {
    const here = s.results.filter((r) => r.size === size);
    const uds = here.find((r) => r.system === 'uds' && r.value !== null)?.value ?? null;
    for (const r of here) {
      const ratio = uds !== null && r.value !== null ? formatRatio(r.value / uds) : '-';
      const note = noteOnce(noted, r.system, r);
      // msg/s of tens: one decimal.
      const rate = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
      const m = r.msgPerSec;
      const msgs = m ? `${rate(m.value)} (${rate(m.min)}–${rate(m.max)})` : '-';
      log(`  ${pad(sizeLabel(size), 8)}${pad(r.system, 12)}${pad(spread(r, s.unit), 24, true)}${pad(msgs, 24, true)}`
        + `${pad(formatCpuNs(r.cpuNsPerMsg), 10, true)}${pad(ratio, 9, true)}  ${note}`);
    }
  }
}

/**
 * S12 and S13: per size, every row's msg/s (median, with min–max), the GB/s of that median, CPU
 * time per message, and each row's ratio to the baseline of the same size (`field`: S12's
 * vsRingwire, a ratio of medians; S13's vsNats, the median of the per-round ratios), with the
 * range of the paired per-round ratios.
 */
function baselineTable(s, field, header) {
  const sizes = [...new Set(s.results.map((r) => r.size))].sort((a, b) => a - b);
  const noted = new Set();
  log(`  ${pad('size', 8)}${pad('system', 25)}${pad(`${s.unit} (min–max)`, 24, true)}${pad('GB/s', 8, true)}`
    + `${pad('CPU/msg', 10, true)}${pad(header, 28, true)}  note`);
  for (const size of sizes) {
    for (const r of s.results.filter((x) => x.size === size)) {
      const note = noteOnce(noted, r.system, r);
      const v = r[field];
      const ratio = v ? `${formatRatio(v.value)} (${formatRatio(v.min)}–${formatRatio(v.max)})` : '-';
      const gbps = r.value === null ? '-' : formatValue((r.value * size) / 1e9, 'GB/s');
      log(`  ${pad(sizeLabel(size), 8)}${pad(r.system, 25)}${pad(spread(r, s.unit), 24, true)}${pad(gbps, 8, true)}`
        + `${pad(formatCpuNs(r.cpuNsPerMsg), 10, true)}${pad(ratio, 28, true)}  ${note}`);
    }
  }
}

/** S6: every row against piscina's pool.run() of the same run. */
function poolTable(s) {
  const base = s.results.find((r) => r.system === 'piscina' && r.value !== null)?.value ?? null;
  log(`  ${pad('system', 22)}${pad(s.unit, 12, true)}${pad('÷ pool.run()', 14, true)}${pad('tasks', 10, true)}`
    + `${pad('seconds', 9, true)}${pad('in flight', 11, true)}  note`);
  for (const r of s.results) {
    const ratio = base !== null && r.value !== null ? formatRatio(r.value / base) : '-';
    const note = r.value === null ? `not run: ${r.reason}` : r.note ?? '';
    log(`  ${pad(nameOf(r), 22)}${pad(shown(r, s.unit), 12, true)}${pad(ratio, 14, true)}${pad(r.tasks ?? '', 10, true)}`
      + `${pad(typeof r.seconds === 'number' ? r.seconds.toFixed(2) : '', 9, true)}${pad(r.window ?? '', 11, true)}  ${note}`);
    if (Array.isArray(r.sweep)) {
      log(`  ${pad('', 22)}${pad('', 12)}  (windows tried: ${r.sweep.map((w) => `${w.window}: ${formatValue(w.value, s.unit)}`).join(', ')})`);
    }
  }
}

/** The ringwire variant each S4 baseline is compared with. */
function pingPongPeer(system) {
  // The kernel-waiting baselines (futex, System V queue and semaphores) against ringwire parked.
  return system === 'c-spin' ? 'spin' : system === 'c-futex' || system.startsWith('sysv-') ? 'park' : 'default';
}

function pingPongTable(s) {
  const ring = (variant) => s.results.find((r) => r.system === 'ringwire' && r.variant === variant)?.p50 ?? null;
  log(`  ${pad('system', 10)}${pad('variant', 9)}${pad('p50', 9, true)}${pad('p99', 9, true)}${pad('p99.9', 9, true)}`
    + `${pad('÷ ringwire p50', 17, true)}  note`);
  for (const r of s.results) {
    if (r.value === null) {
      log(`  ${pad(r.system, 10)}${pad(r.variant ?? '', 9)}${pad('not run', 27, true)}  ${r.reason}`);
      continue;
    }
    const peer = r.system === 'ringwire' ? null : pingPongPeer(r.system);
    const ratio = peer && ring(peer) ? `${formatRatio(r.p50 / ring(peer))} (${peer})` : '';
    log(`  ${pad(r.system, 10)}${pad(r.variant ?? '', 9)}${pad(formatValue(r.p50, 'us'), 9, true)}`
      + `${pad(formatValue(r.p99, 'us'), 9, true)}${pad(formatValue(r.p999, 'us'), 9, true)}${pad(ratio, 17, true)}  ${r.note ?? ''}`);
  }
}

function idleTable(s) {
  log(`  ${pad('system', 10)}${pad('CPU %', 9, true)}${pad('lag p99', 10, true)}${pad('lag max', 10, true)}${pad('woke after', 12, true)}  note`);
  for (const r of s.results) {
    const ms = (v) => (typeof v === 'number' ? `${v.toFixed(2)} ms` : '-');
    log(`  ${pad(r.system, 10)}${pad(shown(r, '%'), 9, true)}${pad(ms(r.lagP99Ms), 10, true)}${pad(ms(r.lagMaxMs), 10, true)}`
      + `${pad(ms(r.wakeMs), 12, true)}  ${r.note ?? ''}`);
  }
}

export function printTables(results) {
  for (const s of results.scenarios) {
    heading(s, results.runs);
    if (s.id === 'S4') pingPongTable(s);
    else if (s.id === 'S5') fanOutTable(s);
    else if (s.id === 'S6') poolTable(s);
    else if (s.id === 'S7') idleTable(s);
    else if (s.id === 'S8' || s.id === 'S9') kindTables(s);
    else if (s.id === 'S10') broadcastTable(s);
    else if (s.id === 'S11') largeTable(s);
    else if (s.id === 'S12') baselineTable(s, 'vsRingwire', '÷ ringwire (per round)');
    else if (s.id === 'S13') baselineTable(s, 'vsNats', '÷ nats: median (rounds)');
    else sweepTable(s.id, s.results, s.unit);
  }
  if (results.micro.length > 0) {
    log();
    log('micro  ringwire per-operation costs in one process (tinybench)  [ns/op, lower is better]');
    for (const m of results.micro) log(`  ${pad(m.nsPerOp.toFixed(1), 9, true)}  ${m.name}`);
  }
}
