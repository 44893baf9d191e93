// Checks that bench/results/latest.json (or the file given) is complete and sane: every
// scenario and every expected system present, every value a positive finite number or null
// with a reason (null only where a system may be unable to run), S4 percentiles ordered,
// S3 with ringwire at 64 KiB and 1 MiB, S6 with its three rows over the same task count. It
// never judges a timing or a ratio against a target: numbers on a shared machine vary, and a
// slow run is still a valid run.
//
//   node bench/src/check-results.mjs [results.json]      exit 0 when sane, 1 otherwise
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCENARIO_ORDER, SCENARIOS } from './scenarios/meta.mjs';
import { EXPECTED, FANOUT_VARIANTS, NATIVE_SYSTEMS, POOL_VARIANTS, RINGWIRE_VARIANTS } from './systems/lists.mjs';

const file = process.argv[2]
  ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'results', 'latest.json');
const problems = [];
const problem = (message) => problems.push(message);
const positive = (v) => typeof v === 'number' && Number.isFinite(v) && v > 0;
const nonNegative = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isText = (v) => typeof v === 'string' && v.trim().length > 0;

function checkRow(id, row, where) {
  if (!isText(row.system)) return problem(`${where}: no system`);
  if (!EXPECTED[id].includes(row.system)) problem(`${where}: unexpected system '${row.system}'`);
  if (!positive(row.size) || !Number.isInteger(row.size)) problem(`${where}: size ${row.size} is not a positive integer`);
  if (row.value === null) {
    if (!isText(row.reason)) problem(`${where}: value null without a reason`);
    if (!NATIVE_SYSTEMS.has(row.system)) problem(`${where}: ${row.system} did not run (${row.reason}); only posix-mq and c-* may be missing`);
    return;
  }
  if (!positive(row.value)) problem(`${where}: value ${row.value} is not a positive finite number`);
  if (row.reason !== undefined) problem(`${where}: has a value and a reason`);
}

function checkPercentiles(row, where) {
  if (row.value === null) return;
  for (const key of ['p50', 'p99', 'p999']) {
    if (!positive(row[key])) problem(`${where}: ${key} ${row[key]} is not a positive finite number`);
  }
  if (!(row.p50 <= row.p99 && row.p99 <= row.p999)) problem(`${where}: percentiles out of order (p50 ${row.p50}, p99 ${row.p99}, p99.9 ${row.p999})`);
  if (row.value !== row.p50) problem(`${where}: value ${row.value} is not p50 ${row.p50}`);
}

function checkScenario(scenario) {
  const { id } = scenario;
  if (scenario.title !== undefined && !isText(scenario.title)) problem(`${id}: empty title`);
  if (scenario.unit !== SCENARIOS[id].unit) problem(`${id}: unit '${scenario.unit}', expected '${SCENARIOS[id].unit}'`);
  if (!Array.isArray(scenario.results)) return problem(`${id}: results is not an array`);
  const rows = scenario.results;
  rows.forEach((row, k) => {
    const where = `${id} row ${k} (${row?.system}${row?.size ? ` ${row.size} B` : ''}${row?.variant ? ` ${row.variant}` : ''})`;
    if (row === null || typeof row !== 'object') return problem(`${where}: not an object`);
    checkRow(id, row, where);
    if (id === 'S4') checkPercentiles(row, where);
    if (id === 'S7' && row.value !== null) {
      if (!nonNegative(row.lagP99Ms) || !nonNegative(row.lagMaxMs)) problem(`${where}: event-loop lag missing or invalid`);
      else if (row.lagP99Ms > row.lagMaxMs) problem(`${where}: lag p99 above its max`);
    }
  });
  for (const system of EXPECTED[id]) {
    if (!rows.some((r) => r?.system === system)) problem(`${id}: no row for ${system}`);
  }
  const seen = new Set();
  for (const r of rows) {
    const key = `${r?.system}/${r?.size}/${r?.variant ?? ''}`;
    if (seen.has(key)) problem(`${id}: more than one row for ${key}`);
    seen.add(key);
  }
  if (id === 'S3') {
    for (const size of [65536, 1048576]) {
      const r = rows.find((x) => x?.system === 'ringwire' && x.size === size);
      if (!r || !positive(r.value)) problem(`S3: no ringwire result at ${size} bytes`);
    }
  }
  if (id === 'S4') {
    for (const variant of RINGWIRE_VARIANTS) {
      if (!rows.some((r) => r?.system === 'ringwire' && r.variant === variant)) problem(`S4: no ringwire '${variant}' row`);
    }
  }
  if (id === 'S5') {
    for (const variant of FANOUT_VARIANTS) {
      if (!rows.some((r) => r?.system === 'ringwire' && r.variant === variant)) problem(`S5: no ringwire '${variant}' row`);
    }
    for (const r of rows) {
      if (r?.value === null || r?.value === undefined || r.consumers === undefined) continue;
      // The aggregate is the sum of the consumers' rates.
      if (!Array.isArray(r.consumers) || r.consumers.length !== 2 || !r.consumers.every(nonNegative)) {
        problem(`S5 ${r.system}${r.variant ? ` ${r.variant}` : ''}: consumers must be two rates`);
      } else if (Math.abs(r.consumers[0] + r.consumers[1] - r.value) > 2) {
        problem(`S5 ${r.system}${r.variant ? ` ${r.variant}` : ''}: value ${r.value} is not the sum of the consumers' rates`);
      }
    }
  }
  if (id === 'S6') {
    for (const variant of POOL_VARIANTS) {
      if (!rows.some((r) => r?.variant === variant && r.system === (variant === 'pool.run()' ? 'piscina' : 'ringwire'))) {
        problem(`S6: no '${variant}' row`);
      }
    }
    const counts = new Set();
    for (const r of rows) {
      if (r?.value === null || r?.value === undefined) continue;
      const where = `S6 ${r.system} ${r.variant ?? ''}`.trim();
      // Every row ran the same number of tasks, each at a positive window; no timing is judged.
      if (!Number.isInteger(r.tasks) || r.tasks <= 0) problem(`${where}: tasks ${r.tasks} is not a positive integer`);
      else counts.add(r.tasks);
      if (!positive(r.seconds)) problem(`${where}: seconds ${r.seconds} is not a positive finite number`);
      if (!Number.isInteger(r.window) || r.window <= 0) problem(`${where}: window ${r.window} is not a positive integer`);
      if (r.sweep !== undefined && (!Array.isArray(r.sweep) || r.sweep.length === 0
        || !r.sweep.every((w) => Number.isInteger(w?.window) && w.window > 0 && positive(w.value)))) {
        problem(`${where}: sweep must be a list of { window, value }`);
      }
      if (r.system === 'piscina' && !r.sweep?.some((w) => w.window === r.window)) {
        problem(`${where}: window ${r.window} is not one of the windows tried`);
      }
    }
    if (counts.size > 1) problem(`S6: rows ran different numbers of tasks (${[...counts].join(', ')})`);
  }
}

let doc;
try {
  doc = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  console.error(`check-results: cannot read ${file}: ${error.message}`);
  process.exit(1);
}

const m = doc.machine;
if (!m || !positive(m.cpus) || !isText(m.model) || !isText(m.node) || !isText(m.os)) problem('machine: cpus, model, node and os are required');
if (!isText(doc.when) || Number.isNaN(Date.parse(doc.when))) problem('when: not an ISO date');
if (typeof doc.quick !== 'boolean') problem('quick: not a boolean');
if (!Array.isArray(doc.scenarios)) {
  problem('scenarios: not an array');
} else {
  for (const id of SCENARIO_ORDER) {
    const found = doc.scenarios.filter((s) => s?.id === id);
    if (found.length !== 1) problem(`${id}: ${found.length === 0 ? 'missing' : 'present more than once'}`);
    else checkScenario(found[0]);
  }
  for (const s of doc.scenarios) if (!SCENARIO_ORDER.includes(s?.id)) problem(`unexpected scenario ${s?.id}`);
}
if (!Array.isArray(doc.micro) || doc.micro.length === 0) {
  problem('micro: missing or empty');
} else {
  doc.micro.forEach((r, k) => {
    if (!isText(r?.name) || !positive(r?.nsPerOp)) problem(`micro row ${k}: needs a name and a positive nsPerOp`);
  });
}

const rows = Array.isArray(doc.scenarios) ? doc.scenarios.reduce((n, s) => n + (s?.results?.length ?? 0), 0) : 0;
if (problems.length > 0) {
  console.error(`check-results: ${file} is not complete and sane (${problems.length} problem${problems.length === 1 ? '' : 's'}):`);
  for (const p of problems) console.error(`  - ${p}`);
  process.exit(1);
}
const notRun = doc.scenarios.flatMap((s) => s.results.filter((r) => r.value === null).map((r) => `${s.id} ${r.system}`));
console.log(`check-results: ${path.relative(process.cwd(), file)} is complete: ${doc.scenarios.length} scenarios, ${rows} rows, `
  + `${doc.micro.length} micro results${notRun.length ? `; not run (with reasons): ${notRun.join(', ')}` : ''}`);
