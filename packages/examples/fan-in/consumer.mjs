// The collector of the fan-in: receives log lines from every producer on one MPMC channel
// until the channel ends, counts them per source and level, and checks that each source's
// lines arrive in the order it sent them (MPMC keeps per-sender order, not a global one).
//   node consumer.mjs <channel>
import { openReceiver } from 'ringwire';

const [channel] = process.argv.slice(2);
const sources = new Map(); // source -> { lines, nextSeq, levels: { info, warn, error } }
let outOfOrder = 0;

const receiver = openReceiver(channel, { codec: 'json' });
try {
  for await (const { source, seq, level } of receiver) {
    let s = sources.get(source);
    if (s === undefined) sources.set(source, s = { lines: 0, nextSeq: 0, levels: {} });
    if (seq !== s.nextSeq) outOfOrder++;
    s.nextSeq = seq + 1;
    s.lines++;
    s.levels[level] = (s.levels[level] ?? 0) + 1;
  }
} finally {
  receiver.close();
}

let total = 0;
for (const [source, s] of [...sources].sort(([a], [b]) => a.localeCompare(b))) {
  const levels = Object.entries(s.levels).map(([level, n]) => `${level} ${n}`).join(', ');
  console.log(`consumer: ${source}: ${s.lines} lines (${levels})`);
  total += s.lines;
}
console.log(`consumer: ${total} lines from ${sources.size} sources, ${outOfOrder === 0 ? 'each source in order' : `${outOfOrder} out of order`}`);
process.exitCode = outOfOrder === 0 ? 0 : 1;
