// Checks that bench/results/latest.json (or the file given) is complete and sane: every
// scenario and every expected system present, every value a positive finite number or null
// with a reason (null only where a system may be unable to run), S1's size sweep for
// ringwire, both Unix sockets and UDP, S8 and S9 with every system, kind and size, every row measured
// in rounds with at least 3 samples, its value their median and min / max theirs, CPU time
// per message positive where present, S4 percentiles ordered, S3 with ringwire at 64 KiB
// and 1 MiB, S6 with its rows over the same task count, S10 with its four rows at both sizes,
// each with its receivers' rates per round (adding up to the round's sample) and the slowest
// receiver's (their minimum; median, min, max), S11 with ringwire and uds at both sizes,
// each with its msg/s per round (consistent with its GB/s), S12 with ringwire, ringwire-file
// and ringwire-file-sync at both sizes, the file rows on a disk (not tmpfs or ramfs), the sync
// rows with their sync interval, each file row's ratio to ringwire consistent with both rows'
// medians and samples, S13 with nats, ringwire-nats and ringwire-nats-jetstream at both sizes
// (or all of them null because nats-server is not installed), each bridged row's ratios to nats
// consistent with both rows' samples and their median. It also runs the message checkers'
// self-test (tools/check-frames.mjs). It never judges a timing or a ratio against a target:
// numbers on a shared machine vary, and a slow run is still a valid run.
//
//   node bench/src/check-results.mjs [results.json] [--scenarios=S10,...]   exit 0 when sane, 1 otherwise
//
// --scenarios: the file is from a run with --scenarios; only those scenarios (and micro only
// if listed) must be present. CI checks a whole run, without it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './harness/samples.mjs';
import { SCENARIO_ORDER, SCENARIOS, SINGLE_RUN } from './scenarios/meta.mjs';
import {
  BROADCAST_RECEIVERS, BROADCAST_VARIANTS, EXPECTED, FANOUT_VARIANTS, FILE_SYSTEMS, KINDS, LARGE_SYSTEMS,
  MEMORY_FILE_SYSTEMS, NATIVE_SYSTEMS, NATS_MISSING, NATS_SYSTEMS, POOL_VARIANTS, RINGWIRE_VARIANTS, S1_SIZES,
  S1_SWEEP_SYSTEMS, S10_SIZES, S11_SIZES, S12_SIZES, S12_SYNC_EVERY, S13_SIZES, S9_SIZES, SWEEP_SYSTEMS, UDP_MAX_PAYLOAD,
} from './systems/lists.mjs';
import { selfTest } from './tools/check-frames.mjs';

/** Rows measured in rounds need at least this many samples. */
const MIN_RUNS = 3;

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--'))
  ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'results', 'latest.json');
const listed = args.find((a) => a.startsWith('--scenarios='));
const only = listed ? new Set(listed.slice(12).split(',').map((s) => s.trim()).filter(Boolean)) : null;
for (const a of args) {
  if (a.startsWith('--') && a !== listed) {
    console.error(`check-results: unknown argument ${a}`);
    process.exit(2);
  }
}
if (only && ![...only].every((id) => id === 'micro' || SCENARIO_ORDER.includes(id))) {
  console.error(`check-results: --scenarios takes ${SCENARIO_ORDER.join(', ')}, micro`);
  process.exit(2);
}
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
    const tooBig = row.system === 'udp' && row.size > UDP_MAX_PAYLOAD; // no datagram carries it
    const noServer = id === 'S13' && row.reason === NATS_MISSING; // checkNats: all of S13 or none
    if (!NATIVE_SYSTEMS.has(row.system) && !tooBig && !noServer) problem(`${where}: ${row.system} did not run (${row.reason}); only ${[...NATIVE_SYSTEMS].join(', ')} may be missing`);
    return;
  }
  if (!positive(row.value)) problem(`${where}: value ${row.value} is not a positive finite number`);
  if (row.reason !== undefined) problem(`${where}: has a value and a reason`);
  if (!SINGLE_RUN.has(id)) checkSamples(row, where);
}

/** A row measured in rounds: its samples, their median, min and max, its CPU time per message. */
function checkSamples(row, where) {
  const { samples } = row;
  if (!Array.isArray(samples) || samples.length < MIN_RUNS) {
    return problem(`${where}: needs at least ${MIN_RUNS} samples, has ${Array.isArray(samples) ? samples.length : 'none'}`);
  }
  if (!samples.every(positive)) return problem(`${where}: samples must be positive finite numbers (${samples.join(', ')})`);
  if (row.value !== median(samples)) problem(`${where}: value ${row.value} is not the median of its samples (${median(samples)})`);
  if (row.min !== Math.min(...samples) || row.max !== Math.max(...samples)) problem(`${where}: min / max are not its samples'`);
  if (!(row.min <= row.value && row.value <= row.max)) problem(`${where}: value ${row.value} outside min ${row.min} .. max ${row.max}`);
  if (row.cpuNsPerMsg !== undefined) {
    if (!positive(row.cpuNsPerMsg)) problem(`${where}: cpuNsPerMsg ${row.cpuNsPerMsg} is not a positive finite number`);
    const ns = row.cpuNsSamples;
    if (!Array.isArray(ns) || ns.length !== samples.length || !ns.every(positive)) {
      problem(`${where}: cpuNsSamples must be one positive number per sample`);
    } else if (row.cpuNsPerMsg !== median(ns)) {
      problem(`${where}: cpuNsPerMsg ${row.cpuNsPerMsg} is not the median of cpuNsSamples`);
    }
    if (!Array.isArray(row.cpuSeconds) || row.cpuSeconds.length !== samples.length
      || !row.cpuSeconds.every((c) => c && Object.values(c).length > 0 && Object.values(c).every(nonNegative))) {
      problem(`${where}: cpuSeconds must be one { role: seconds } per sample`);
    }
  }
}

/** Every `system` of `systems` has a row at every size of `sizes` (and `kind`) with a value. */
function requireRows(id, rows, systems, sizes, kind) {
  for (const system of systems) {
    for (const size of sizes) {
      const r = rows.find((x) => x?.system === system && x.size === size && (kind === undefined || x.kind === kind));
      if (!r) problem(`${id}: no ${system} row${kind ? ` (${kind})` : ''} at ${size} bytes`);
      else if (r.value === null) problem(`${id}: ${system}${kind ? ` (${kind})` : ''} at ${size} bytes did not run (${r.reason})`);
    }
  }
}

function checkPercentiles(row, where) {
  if (row.value === null) return;
  for (const key of ['p50', 'p99', 'p999']) {
    if (!positive(row[key])) problem(`${where}: ${key} ${row[key]} is not a positive finite number`);
  }
  if (!(row.p50 <= row.p99 && row.p99 <= row.p999)) problem(`${where}: percentiles out of order (p50 ${row.p50}, p99 ${row.p99}, p99.9 ${row.p999})`);
  if (row.value !== row.p50) problem(`${where}: value ${row.value} is not p50 ${row.p50}`);
}

/**
 * S10: ringwire per message and batched, uds and uds-batched at every size of S10_SIZES; each
 * round's receiver rates add up to its sample; the slowest receiver's samples are each
 * round's lowest receiver rate, summarised by their median, min and max.
 */
function checkBroadcast(rows) {
  const wanted = [...BROADCAST_VARIANTS.map((variant) => ['ringwire', variant]), ['uds', undefined], ['uds-batched', undefined]];
  for (const size of S10_SIZES) {
    for (const [system, variant] of wanted) {
      const r = rows.find((x) => x?.system === system && x.size === size && x.variant === variant);
      const name = `${system}${variant ? ` ${variant}` : ''}`;
      if (!r) problem(`S10: no ${name} row at ${size} bytes`);
      else if (r.value === null) problem(`S10: ${name} at ${size} bytes did not run (${r.reason})`);
    }
  }
  for (const r of rows) {
    if (r?.value === null || r?.value === undefined) continue;
    const where = `S10 ${r.system}${r.variant ? ` ${r.variant}` : ''} ${r.size} B`;
    if (!S10_SIZES.includes(r.size)) problem(`${where}: size is not one of ${S10_SIZES.join(', ')}`);
    const split = r.receiverSamples;
    if (!Array.isArray(split) || !Array.isArray(r.samples) || split.length !== r.samples.length) {
      problem(`${where}: receiverSamples must hold each round's ${BROADCAST_RECEIVERS} receiver rates`);
      continue;
    }
    const lowest = [];
    split.forEach((rates, k) => {
      if (!Array.isArray(rates) || rates.length !== BROADCAST_RECEIVERS || !rates.every(nonNegative)) {
        problem(`${where} round ${k + 1}: receivers must be ${BROADCAST_RECEIVERS} rates`);
        return;
      }
      // Each rate rounded, and the sum of the unrounded ones rounded: within 2 of each other.
      if (Math.abs(rates.reduce((a, b) => a + b, 0) - r.samples[k]) > BROADCAST_RECEIVERS / 2) {
        problem(`${where} round ${k + 1}: sample ${r.samples[k]} is not the sum of its receivers' rates`);
      }
      lowest.push(Math.min(...rates));
    });
    const s = r.slowest;
    if (s === null || typeof s !== 'object' || !Array.isArray(s.samples)) {
      problem(`${where}: no slowest receiver ({ value, min, max, samples })`);
    } else if (lowest.length === split.length) {
      if (s.samples.length !== lowest.length || !s.samples.every((x, k) => x === lowest[k])) {
        problem(`${where}: slowest.samples are not each round's lowest receiver rate`);
      } else if (s.value !== median(s.samples) || s.min !== Math.min(...s.samples) || s.max !== Math.max(...s.samples)) {
        problem(`${where}: slowest value / min / max are not its samples' median / min / max`);
      } else if (!(s.value <= r.value)) {
        problem(`${where}: the slowest receiver's ${s.value} is above the aggregate ${r.value}`);
      }
    }
  }
}

/**
 * S11: ringwire and uds at every size of S11_SIZES, each with msgPerSec ({ value, min, max,
 * samples }: one per round, each its GB/s sample × 1e9 / size, to rounding).
 */
function checkLarge(rows) {
  requireRows('S11', rows, LARGE_SYSTEMS, S11_SIZES);
  for (const r of rows) {
    if (r?.value === null || r?.value === undefined) continue;
    const where = `S11 ${r.system} ${r.size} B`;
    if (!S11_SIZES.includes(r.size)) problem(`${where}: size is not one of ${S11_SIZES.join(', ')}`);
    const m = r.msgPerSec;
    if (m === null || typeof m !== 'object' || !Array.isArray(m.samples) || !Array.isArray(r.samples)
      || m.samples.length !== r.samples.length || !m.samples.every(positive)) {
      problem(`${where}: msgPerSec must hold one positive msg/s per round`);
      continue;
    }
    if (m.value !== median(m.samples) || m.min !== Math.min(...m.samples) || m.max !== Math.max(...m.samples)) {
      problem(`${where}: msgPerSec value / min / max are not its samples' median / min / max`);
    }
    m.samples.forEach((x, k) => {
      const gbps = (x * r.size) / 1e9;
      if (Math.abs(gbps - r.samples[k]) > 1e-6 * Math.max(1, r.samples[k]) + (0.0005 * r.size) / 1e9) {
        problem(`${where} round ${k + 1}: ${x} msg/s is not ${r.samples[k]} GB/s`);
      }
    });
  }
}

const close = (a, b) => typeof a === 'number' && Math.abs(a - b) <= 1e-3 * Math.abs(b);

/**
 * A row's ratios to its baseline row (`field`: vsRingwire, vsNats): { value, min, max, samples },
 * one per round, each its sample over the baseline's (4 significant digits); value the ratio
 * of their medians (`of` 'medians') or the median of the per-round ratios ('median').
 */
function checkPairedRatios(where, r, base, field, of) {
  const v = r[field];
  if (v === null || typeof v !== 'object' || !Array.isArray(v.samples) || !Array.isArray(r.samples)
    || !Array.isArray(base.samples) || v.samples.length !== r.samples.length || base.samples.length !== r.samples.length) {
    return problem(`${where}: ${field} must hold one ratio to ${base.system} per round`);
  }
  const value = of === 'median' ? median(v.samples) : r.value / base.value;
  if (!close(v.value, value)) problem(`${where}: ${field} ${v.value} is not ${of === 'median' ? 'the median of its samples' : `${r.value} / ${base.value}`}`);
  v.samples.forEach((x, k) => {
    if (!close(x, r.samples[k] / base.samples[k])) problem(`${where} round ${k + 1}: ratio ${x} is not ${r.samples[k]} / ${base.samples[k]}`);
  });
  if (v.min !== Math.min(...v.samples) || v.max !== Math.max(...v.samples)) problem(`${where}: ${field} min / max are not its samples'`);
}

/**
 * S12: every row of FILE_SYSTEMS at every size of S12_SIZES; each file row on a file system
 * that is not in memory (fileSystem), each sync row with syncEvery from S12_SYNC_EVERY, each
 * file row's vsRingwire ({ value, min, max, samples }) its median over ringwire's and its
 * per-round samples over ringwire's (4 significant digits), min and max theirs.
 */
function checkFile(rows) {
  requireRows('S12', rows, FILE_SYSTEMS, S12_SIZES);
  for (const r of rows) {
    if (r?.value === null || r?.value === undefined) continue;
    const where = `S12 ${r.system} ${r.size} B`;
    if (!S12_SIZES.includes(r.size)) problem(`${where}: size is not one of ${S12_SIZES.join(', ')}`);
    if (r.system === 'ringwire') continue;
    const fs = r.fileSystem;
    if (!isText(fs?.dir) || !isText(fs?.type) || !Number.isInteger(fs?.magic)) {
      problem(`${where}: fileSystem must say the directory, its type and its statfs magic`);
    } else if (MEMORY_FILE_SYSTEMS.has(fs.magic)) {
      problem(`${where}: the file was on ${MEMORY_FILE_SYSTEMS.get(fs.magic)} (${fs.dir}), in memory, not on a disk`);
    }
    const every = r.system === 'ringwire-file-sync' ? S12_SYNC_EVERY[r.size] : undefined;
    if (r.syncEvery !== every) problem(`${where}: syncEvery ${r.syncEvery}, expected ${every}`);
    const base = rows.find((x) => x?.system === 'ringwire' && x.size === r.size && positive(x.value));
    if (base) checkPairedRatios(where, r, base, 'vsRingwire', 'medians');
  }
}

/**
 * S13: every row of NATS_SYSTEMS at every size of S13_SIZES, each with the server's version
 * (natsServer), each bridged row's vsNats its per-round ratios to nats and their median; or,
 * where nats-server is not installed, every row null with the reason NATS_MISSING.
 */
function checkNats(rows) {
  if (rows.length > 0 && rows.every((r) => r?.value === null && r.reason === NATS_MISSING)) {
    for (const system of NATS_SYSTEMS) {
      for (const size of S13_SIZES) {
        if (!rows.some((r) => r.system === system && r.size === size)) problem(`S13: no ${system} row at ${size} bytes`);
      }
    }
    return;
  }
  requireRows('S13', rows, NATS_SYSTEMS, S13_SIZES);
  for (const r of rows) {
    if (r?.value === null || r?.value === undefined) continue;
    const where = `S13 ${r.system} ${r.size} B`;
    if (!S13_SIZES.includes(r.size)) problem(`${where}: size is not one of ${S13_SIZES.join(', ')}`);
    if (!isText(r.natsServer)) problem(`${where}: natsServer must say the server's version`);
    if (r.system === 'nats') continue;
    const base = rows.find((x) => x?.system === 'nats' && x.size === r.size && positive(x.value));
    if (base) checkPairedRatios(where, r, base, 'vsNats', 'median');
  }
}

function checkScenario(scenario) {
  const { id } = scenario;
  if (scenario.title !== undefined && !isText(scenario.title)) problem(`${id}: empty title`);
  if (scenario.unit !== SCENARIOS[id].unit) problem(`${id}: unit '${scenario.unit}', expected '${SCENARIOS[id].unit}'`);
  if (!Array.isArray(scenario.results)) return problem(`${id}: results is not an array`);
  const rows = scenario.results;
  rows.forEach((row, k) => {
    const where = `${id} row ${k} (${row?.system}${row?.size ? ` ${row.size} B` : ''}${row?.variant ? ` ${row.variant}` : ''}${row?.kind ? ` ${row.kind}` : ''})`;
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
    const key = `${r?.system}/${r?.size}/${r?.variant ?? ''}/${r?.kind ?? ''}`;
    if (seen.has(key)) problem(`${id}: more than one row for ${key}`);
    seen.add(key);
  }
  if (id === 'S1') {
    requireRows('S1', rows, S1_SWEEP_SYSTEMS, S1_SIZES);
    requireRows('S1', rows, EXPECTED.S1.filter((x) => !S1_SWEEP_SYSTEMS.includes(x) && !NATIVE_SYSTEMS.has(x)), [64]);
  }
  if (id === 'S8' || id === 'S9') {
    for (const r of rows) {
      if (!KINDS.includes(r?.kind)) problem(`${id} ${r?.system} ${r?.size}: kind '${r?.kind}' is not one of ${KINDS.join(', ')}`);
      else if (r.unit !== (r.kind === 'S3' ? 'GB/s' : 'msg/s')) problem(`${id} ${r.system} ${r.kind} ${r.size}: unit '${r.unit}'`);
    }
    // S8: S1's sizes per message, the S3 sweep's (as this run ran it) S3-like; S9: its three sizes.
    const s3Sizes = [...new Set((docScenario('S3')?.results ?? []).filter((r) => r?.system === 'ringwire').map((r) => r.size))];
    requireRows(id, rows, SWEEP_SYSTEMS, id === 'S8' ? S1_SIZES : S9_SIZES, 'per-message');
    requireRows(id, rows, SWEEP_SYSTEMS, id === 'S8' ? (s3Sizes.length ? s3Sizes : []) : S9_SIZES, 'S3');
    if (id === 'S8' && !rows.some((r) => r?.kind === 'S3')) problem('S8: no S3-like rows');
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
      if (r?.value === null || r?.value === undefined) continue;
      // Each round's aggregate is the sum of its two consumers' rates.
      const where = `S5 ${r.system}${r.variant ? ` ${r.variant}` : ''}`;
      const split = r.consumerSamples;
      if (!Array.isArray(split) || !Array.isArray(r.samples) || split.length !== r.samples.length) {
        problem(`${where}: consumerSamples must hold each round's two consumer rates`);
        continue;
      }
      split.forEach((pair, k) => {
        if (!Array.isArray(pair) || pair.length !== 2 || !pair.every(nonNegative)) problem(`${where} round ${k + 1}: consumers must be two rates`);
        else if (Math.abs(pair[0] + pair[1] - r.samples[k]) > 2) problem(`${where} round ${k + 1}: sample ${r.samples[k]} is not the sum of its consumers' rates`);
      });
    }
  }
  if (id === 'S10') checkBroadcast(rows);
  if (id === 'S11') checkLarge(rows);
  if (id === 'S12') checkFile(rows);
  if (id === 'S13') checkNats(rows);
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
const docScenario = (id) => (Array.isArray(doc?.scenarios) ? doc.scenarios.find((s) => s?.id === id) : undefined);
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
if (!Number.isInteger(doc.runs) || doc.runs < MIN_RUNS) problem(`runs: ${doc.runs}; at least ${MIN_RUNS} rounds are needed`);
if (!Array.isArray(doc.scenarios)) {
  problem('scenarios: not an array');
} else {
  // With --scenarios, those listed must be there; any other present is checked too.
  for (const id of SCENARIO_ORDER.filter((x) => !only || only.has(x) || doc.scenarios.some((s) => s?.id === x))) {
    const found = doc.scenarios.filter((s) => s?.id === id);
    if (found.length !== 1) problem(`${id}: ${found.length === 0 ? 'missing' : 'present more than once'}`);
    else checkScenario(found[0]);
  }
  for (const s of doc.scenarios) if (!SCENARIO_ORDER.includes(s?.id)) problem(`unexpected scenario ${s?.id}`);
}
if (only && !only.has('micro') && Array.isArray(doc.micro) && doc.micro.length === 0) {
  // A run of some scenarios only: no micro rows wanted.
} else if (!Array.isArray(doc.micro) || doc.micro.length === 0) {
  problem('micro: missing or empty');
} else {
  doc.micro.forEach((r, k) => {
    if (!isText(r?.name) || !positive(r?.nsPerOp)) problem(`micro row ${k}: needs a name and a positive nsPerOp`);
  });
}

// The message checkers must catch what they are there to catch (torn, short, misordered).
const frames = await selfTest();
for (const p of frames.problems) problem(`message checkers: ${p}`);

const rows = Array.isArray(doc.scenarios) ? doc.scenarios.reduce((n, s) => n + (s?.results?.length ?? 0), 0) : 0;
if (problems.length > 0) {
  console.error(`check-results: ${file} is not complete and sane (${problems.length} problem${problems.length === 1 ? '' : 's'}):`);
  for (const p of problems) console.error(`  - ${p}`);
  process.exit(1);
}
const notRun = doc.scenarios.flatMap((s) => s.results.filter((r) => r.value === null).map((r) => `${s.id} ${r.system} ${r.size} B`));
console.log(`check-results: ${path.relative(process.cwd(), file)} is complete${only ? ` for ${[...only].join(', ')}` : ''}: ${doc.scenarios.length} scenarios, ${rows} rows `
  + `(${doc.runs} rounds), ${doc.micro.length} micro results${notRun.length ? `; not run (with reasons): ${notRun.join(', ')}` : ''}; `
  + `${frames.summary}`);
