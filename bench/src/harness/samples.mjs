// Repeated measurements: every throughput row (and S5's) is measured once per round, the
// rounds interleaved with the other systems, and reported as the median of its samples with
// their min and max; every sample is kept. check-results.mjs recomputes the median with the
// same function, so `value === median(samples)` holds exactly.
import { nsPerMessage } from './cputime.mjs';
import { formatCpuNs, formatValue, sizeLabel } from './format.mjs';

/** The median of a list of numbers (the mean of the middle two for an even count). */
export function median(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return null;
  return n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/** 4 significant digits: a ratio kept in the JSON. */
const ratio4 = (x) => Number(x.toPrecision(4));

/**
 * Gives every row of `summaries` (RowSamples.summaries(), one msg/s row per system and size)
 * but the `baseline` system's its rate over the baseline's of the same size, under `field`
 * (before its note): { value, min, max, samples }, the per-round ratios (round k of both ran in
 * round k: the rounds are interleaved) and their min and max; value is the ratio of the
 * medians (`of` 'medians': S12) or the median of the per-round ratios ('median': S13).
 * 4 significant digits.
 */
export function addRatios(summaries, baseline, field, of) {
  for (const { row } of summaries) {
    const base = summaries.find((s) => s.row.system === baseline && s.row.size === row.size)?.row;
    if (row.system === baseline || !(row.value > 0) || !(base?.value > 0)) continue;
    const samples = row.samples.map((x, k) => ratio4(x / base.samples[k]));
    const value = ratio4(of === 'median' ? median(samples) : row.value / base.value);
    const { note } = row;
    delete row.note;
    row[field] = { value, min: Math.min(...samples), max: Math.max(...samples), samples };
    if (note !== undefined) row.note = note;
  }
}

/**
 * Adds a phase's msg/s (runPhases' result) to `rows` under `fields` ({ system, size, ... }),
 * with the CPU time per message (and per process), and logs it (S12, S13).
 */
export function addRate(ctx, rows, id, fields, round, result) {
  const cpuNsPerMsg = nsPerMessage(result.cpu, result.messages);
  rows.add(id, fields, { value: Math.round(result.rate), cpuNsPerMsg, cpu: cpuNsPerMsg === null ? null : result.cpu });
  ctx.log(`${id} ${fields.system} ${sizeLabel(fields.size)} [${round + 1}/${ctx.runs}] … ${formatValue(result.rate, 'msg/s')} msg/s, `
    + `${formatValue((result.rate * fields.size) / 1e9, 'GB/s')} GB/s${cpuNsPerMsg ? `, ${formatCpuNs(cpuNsPerMsg)} CPU/msg` : ''}  `
    + `(${result.messages} msgs in ${result.seconds.toFixed(2)} s; ${result.sent} sent and checked)`);
}

/**
 * The rows of one or more scenarios, built from one sample per round. add() a sample (or a
 * reason the system could not run) under the row's identity; rows() gives the summaries:
 *   value        the median of `samples` (in the row's unit)
 *   min, max     of `samples`
 *   samples      every round's value, in round order (round k of every row ran in round k)
 *   cpuNsPerMsg  the median CPU time per message, all processes of the group, every thread
 *   cpuNsSamples every round's, in round order
 *   cpuSeconds   every round's CPU seconds per role ({ producer, consumer } or { process })
 * A row any round of which could not run is { value: null, reason }.
 */
export class RowSamples {
  constructor() {
    this.rows = new Map();
  }

  /** `fields`: { system, size, variant?, kind?, unit?, note? }; `sample`: { value, cpuNsPerMsg?, cpu? } or { reason }. */
  add(id, fields, sample) {
    const key = `${id}|${fields.system}|${fields.size}|${fields.variant ?? ''}|${fields.kind ?? ''}`;
    let entry = this.rows.get(key);
    if (!entry) {
      entry = { id, fields, samples: [], cpuNs: [], cpuSeconds: [], reason: null };
      this.rows.set(key, entry);
    }
    if (sample.reason !== undefined) {
      entry.reason ??= sample.reason;
      return;
    }
    entry.samples.push(sample.value);
    entry.cpuNs.push(sample.cpuNsPerMsg ?? null);
    entry.cpuSeconds.push(sample.cpu ?? null);
  }

  /** [{ id, row }] in the order rows were first added. */
  summaries() {
    const out = [];
    for (const { id, fields, samples, cpuNs, cpuSeconds, reason } of this.rows.values()) {
      const { note, ...identity } = fields;
      if (reason !== null || samples.length === 0) {
        out.push({ id, row: { ...identity, value: null, reason: reason ?? 'no sample', ...(note ? { note } : {}) } });
        continue;
      }
      const row = {
        ...identity, value: median(samples), min: Math.min(...samples), max: Math.max(...samples), samples,
      };
      if (cpuNs.every((x) => x !== null && x > 0)) {
        const ns = cpuNs.map((x) => Number(x.toFixed(2)));
        row.cpuNsPerMsg = median(ns);
        row.cpuNsSamples = ns;
        row.cpuSeconds = cpuSeconds.map((c) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, Number(v.toFixed(4))])));
      }
      if (note) row.note = note;
      out.push({ id, row });
    }
    return out;
  }
}
