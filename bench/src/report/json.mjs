// The results document (bench/results/latest.json):
// { machine, when, quick, scenarios: [{ id, title, unit, results: [row] }], micro: [{ name, nsPerOp }] }
import { SCENARIO_ORDER as ORDER, SCENARIOS } from '../scenarios/meta.mjs';
import { EXPECTED, FANOUT_VARIANTS, POOL_VARIANTS, RINGWIRE_VARIANTS } from '../systems/lists.mjs';

function sortRows(id, rows) {
  const systems = EXPECTED[id] ?? [];
  const rank = (row) => {
    const s = systems.indexOf(row.system);
    return s < 0 ? systems.length : s;
  };
  const variants = id === 'S5' ? FANOUT_VARIANTS : id === 'S6' ? POOL_VARIANTS : RINGWIRE_VARIANTS;
  const variant = (row) => Math.max(0, variants.indexOf(row.variant ?? 'default'));
  return [...rows].sort((a, b) => rank(a) - rank(b) || a.size - b.size || variant(a) - variant(b));
}

export function buildResults({ machine, quick, rows, micro, wanted }) {
  const scenarios = [];
  for (const id of ORDER) {
    if (!wanted.has(id)) continue;
    const { title, unit } = SCENARIOS[id];
    scenarios.push({ id, title, unit, results: sortRows(id, rows.get(id) ?? []) });
  }
  return { machine, when: new Date().toISOString(), quick, scenarios, micro };
}
