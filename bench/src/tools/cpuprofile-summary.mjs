// Summarizes V8 CPU profiles (from `npm run bench -- --cpu-prof`): where the samples fall,
// by function (self time) and, for the hottest functions, by source line.
//
//   node bench/src/tools/cpuprofile-summary.mjs <file.cpuprofile>... [--top=N] [--lines=N]
import { readFileSync } from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const files = args.filter((a) => !a.startsWith('--'));
const option = (name, fallback) => Number(args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const top = option('top', 25);
const lineCount = option('lines', 8);
if (files.length === 0) {
  console.error('usage: node bench/src/tools/cpuprofile-summary.mjs <file.cpuprofile>... [--top=N] [--lines=N]');
  process.exit(2);
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  const total = profile.samples.length;
  const self = new Map(); // function key -> { samples, lines: Map(line -> samples) }
  for (const [id, n] of counts) {
    const node = byId.get(id);
    const { functionName, url, lineNumber } = node.callFrame;
    const key = `${functionName || '(anonymous)'} ${url ? `${path.basename(url)}:${lineNumber + 1}` : ''}`.trim();
    const entry = self.get(key) ?? { samples: 0, lines: new Map() };
    entry.samples += n;
    for (const tick of node.positionTicks ?? []) entry.lines.set(tick.line, (entry.lines.get(tick.line) ?? 0) + tick.ticks);
    self.set(key, entry);
  }
  const seconds = (profile.endTime - profile.startTime) / 1e6;
  console.log(`\n${path.basename(file)}: ${total} samples over ${seconds.toFixed(2)} s`);
  const sorted = [...self.entries()].sort((a, b) => b[1].samples - a[1].samples).slice(0, top);
  for (const [key, entry] of sorted) {
    console.log(`  ${((100 * entry.samples) / total).toFixed(1).padStart(5)}%  ${key}`);
    const lines = [...entry.lines.entries()].sort((a, b) => b[1] - a[1]).slice(0, lineCount);
    const lineTotal = [...entry.lines.values()].reduce((a, b) => a + b, 0);
    if (lines.length > 1 && entry.samples / total >= 0.03) {
      console.log(`         lines: ${lines.map(([l, t]) => `${l} (${((100 * t) / lineTotal).toFixed(0)}%)`).join(', ')}`);
    }
  }
}
