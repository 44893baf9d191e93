// The results document (bench/results/latest.json):
// { machine, when, quick, runs, seconds, scenarios: [{ id, title, unit, results: [row] }], micro: [{ name, nsPerOp }] }
// Rows measured in rounds (S1-S3, S5, S8-S13) carry value (the median), min, max, samples
// (every round's value, in round order), cpuNsPerMsg, cpuNsSamples and cpuSeconds (see
// harness/samples.mjs); S8 and S9 rows also kind ('per-message' | 'S3') and unit; S10 rows
// also slowest ({ value, min, max, samples }: the slowest receiver's rate, median of the
// rounds) and receiverSamples (each round's receiver rates, which add up to its sample); S11
// rows also msgPerSec ({ value, min, max, samples }: the same rounds in msg/s); S12's file rows
// also fileSystem ({ dir, type, source, mount, magic }: where the channel's file was) and
// vsRingwire ({ value, min, max, samples }: the ratio of their median to ringwire's at the same
// size, and the paired per-round ratios), its sync rows syncEvery (messages per sync()); S13
// rows natsServer (the server's version), its ringwire-nats* rows also vsNats ({ value, min,
// max, samples }: the per-round ratios to nats of the same size, and their median); S13 rows
// that could not run (no nats-server) are null with the reason NATS_MISSING.
import { SCENARIO_ORDER as ORDER, SCENARIOS } from '../scenarios/meta.mjs';
import {
  BROADCAST_VARIANTS, EXPECTED, FANOUT_VARIANTS, KINDS, POOL_VARIANTS, RINGWIRE_VARIANTS,
} from '../systems/lists.mjs';

function sortRows(id, rows) {
  const systems = EXPECTED[id] ?? [];
  const rank = (row) => {
    const s = systems.indexOf(row.system);
    return s < 0 ? systems.length : s;
  };
  const variants = id === 'S5' ? FANOUT_VARIANTS : id === 'S6' ? POOL_VARIANTS : id === 'S10' ? BROADCAST_VARIANTS : RINGWIRE_VARIANTS;
  const variant = (row) => Math.max(0, variants.indexOf(row.variant ?? 'default'));
  const kind = (row) => Math.max(0, KINDS.indexOf(row.kind));
  // The size sweeps (S8, S9: per message first, then S3-like; S10): by size, then system.
  // The others: by system.
  if (['S1', 'S3', 'S8', 'S9', 'S10', 'S11', 'S12', 'S13'].includes(id)) {
    return [...rows].sort((a, b) => kind(a) - kind(b) || a.size - b.size || rank(a) - rank(b) || variant(a) - variant(b));
  }
  return [...rows].sort((a, b) => rank(a) - rank(b) || a.size - b.size || variant(a) - variant(b));
}

export function buildResults({ machine, quick, runs, seconds, rows, micro, wanted }) {
  const scenarios = [];
  for (const id of ORDER) {
    if (!wanted.has(id)) continue;
    const { title, unit } = SCENARIOS[id];
    scenarios.push({ id, title, unit, results: sortRows(id, rows.get(id) ?? []) });
  }
  return { machine, when: new Date().toISOString(), quick, runs, seconds, scenarios, micro };
}
