// Tables for the terminal: one per scenario, ringwire beside each baseline with ratios.
import { formatRatio, formatValue, pad, sizeLabel } from '../harness/format.mjs';

const log = (line = '') => console.log(line);
const shown = (r, unit) => (r.value === null ? 'not run' : formatValue(r.value, unit));

function heading(s) {
  const better = s.unit === 'us' || s.unit === '%' ? 'lower is better' : 'higher is better';
  log();
  log(`${s.id}  ${s.title}  [${s.unit === 'us' ? 'µs' : s.unit}, ${better}]`);
}

/** ringwire's best row in a throughput scenario (S2 has one per batch path). */
export function bestRingwire(rows) {
  return rows.filter((r) => r.system === 'ringwire' && r.value !== null)
    .reduce((best, r) => (best === null || r.value > best.value ? r : best), null);
}

function rateTable(s) {
  const best = bestRingwire(s.results);
  const base = best?.value ?? null;
  const baseName = best?.variant ? `ringwire ${best.variant}` : 'ringwire';
  log(`  ${pad('system', 22)}${pad(s.unit, 12, true)}${pad(`${baseName} ÷ system`, 28, true)}  note`);
  for (const r of s.results) {
    const ratio = base !== null && r.value !== null ? formatRatio(base / r.value) : '-';
    const note = r.value === null ? `not run: ${r.reason}` : r.note ?? '';
    const name = r.variant ? `${r.system} ${r.variant}` : r.system;
    log(`  ${pad(name, 22)}${pad(shown(r, s.unit), 12, true)}${pad(ratio, 28, true)}  ${note}`);
  }
}

function sweepTable(s) {
  const sizes = [...new Set(s.results.map((r) => r.size))].sort((a, b) => a - b);
  const systems = [...new Set(s.results.map((r) => r.system))];
  const at = (system, size) => s.results.find((r) => r.system === system && r.size === size);
  const headline = [65536, 1 << 20].filter((size) => sizes.includes(size));
  log(`  ${pad('system', 14)}${sizes.map((z) => pad(sizeLabel(z), 9, true)).join('')}`
    + `${headline.map((z) => pad(`rw÷ @${sizeLabel(z)}`, 14, true)).join('')}`);
  for (const system of systems) {
    const cells = sizes.map((z) => {
      const r = at(system, z);
      return pad(r === undefined ? '' : r.value === null ? 'n/a' : formatValue(r.value, s.unit), 9, true);
    });
    const ratios = headline.map((z) => {
      const base = at('ringwire', z)?.value ?? null;
      const v = at(system, z)?.value ?? null;
      return pad(base !== null && v !== null ? formatRatio(base / v) : '-', 14, true);
    });
    log(`  ${pad(system, 14)}${cells.join('')}${ratios.join('')}`);
  }
  for (const r of s.results.filter((x) => x.value === null)) {
    log(`  n/a: ${r.system} ${sizeLabel(r.size)}: ${r.reason}`);
  }
}

/** S5: every row against both Unix-socket baselines of the same run. */
function fanOutTable(s) {
  const base = (system) => s.results.find((r) => r.system === system && r.value !== null)?.value ?? null;
  const uds = base('uds');
  const batched = base('uds-batched');
  const ratio = (v, b) => (v !== null && b !== null ? formatRatio(v / b) : '-');
  log(`  ${pad('system', 22)}${pad(s.unit, 12, true)}${pad('÷ uds', 10, true)}${pad('÷ uds-batched', 16, true)}`
    + `${pad('consumers', 22, true)}  note`);
  for (const r of s.results) {
    const name = r.variant ? `${r.system} ${r.variant}` : r.system;
    const split = Array.isArray(r.consumers) ? r.consumers.map((v) => formatValue(v, s.unit)).join(' + ') : '';
    const note = r.value === null ? `not run: ${r.reason}` : r.note ?? '';
    log(`  ${pad(name, 22)}${pad(shown(r, s.unit), 12, true)}${pad(ratio(r.value, uds), 10, true)}`
      + `${pad(ratio(r.value, batched), 16, true)}${pad(split, 22, true)}  ${note}`);
  }
}

/** S6: every row against piscina's pool.run() of the same run. */
function poolTable(s) {
  const base = s.results.find((r) => r.system === 'piscina' && r.value !== null)?.value ?? null;
  log(`  ${pad('system', 22)}${pad(s.unit, 12, true)}${pad('÷ pool.run()', 14, true)}${pad('tasks', 10, true)}`
    + `${pad('seconds', 9, true)}${pad('in flight', 11, true)}  note`);
  for (const r of s.results) {
    const name = r.variant ? `${r.system} ${r.variant}` : r.system;
    const ratio = base !== null && r.value !== null ? formatRatio(r.value / base) : '-';
    const note = r.value === null ? `not run: ${r.reason}` : r.note ?? '';
    log(`  ${pad(name, 22)}${pad(shown(r, s.unit), 12, true)}${pad(ratio, 14, true)}${pad(r.tasks ?? '', 10, true)}`
      + `${pad(typeof r.seconds === 'number' ? r.seconds.toFixed(2) : '', 9, true)}${pad(r.window ?? '', 11, true)}  ${note}`);
    if (Array.isArray(r.sweep)) {
      log(`  ${pad('', 22)}${pad('', 12)}  (windows tried: ${r.sweep.map((w) => `${w.window}: ${formatValue(w.value, s.unit)}`).join(', ')})`);
    }
  }
}

/** The ringwire variant each S4 baseline is compared with. */
function pingPongPeer(system) {
  return system === 'c-spin' ? 'spin' : system === 'c-futex' ? 'park' : 'default';
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
    heading(s);
    if (s.id === 'S3') sweepTable(s);
    else if (s.id === 'S4') pingPongTable(s);
    else if (s.id === 'S5') fanOutTable(s);
    else if (s.id === 'S6') poolTable(s);
    else if (s.id === 'S7') idleTable(s);
    else rateTable(s);
  }
  if (results.micro.length > 0) {
    log();
    log('micro  ringwire per-operation costs in one process (tinybench)  [ns/op, lower is better]');
    for (const m of results.micro) log(`  ${pad(m.nsPerOp.toFixed(1), 9, true)}  ${m.name}`);
  }
}
