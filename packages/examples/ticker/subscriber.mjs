// One subscriber of the ticker: receives every tick on the broadcast channel until it ends.
//   node subscriber.mjs <channel> dashboard|vwap|audit
import { openReceiver } from 'ringwire';
import { SYMBOLS } from './ticks.mjs';

const [channel, role] = process.argv.slice(2);
const receiver = openReceiver(channel, { codec: 'json' });
const last = new Map();
const volume = new Map();
const notional = new Map();
let received = 0;
let gaps = 0;
try {
  for await (const { seq, symbol, price, size } of receiver) {
    if (seq !== received) gaps++;
    received++;
    last.set(symbol, price);
    volume.set(symbol, (volume.get(symbol) ?? 0) + size);
    notional.set(symbol, (notional.get(symbol) ?? 0) + price * size);
  }
} finally {
  receiver.close();
}

if (role === 'dashboard') {
  console.log(`dashboard: ${received} ticks; last ${SYMBOLS.map((s) => `${s} ${last.get(s)?.toFixed(2)}`).join(', ')}`);
} else if (role === 'vwap') {
  console.log(`vwap: ${received} ticks; ${SYMBOLS.map((s) => `${s} ${(notional.get(s) / volume.get(s)).toFixed(4)}`).join(', ')}`);
} else {
  console.log(`audit: ${received} ticks, ${gaps === 0 && receiver.lost === 0 ? 'every one in order, none missed' : `${gaps} gaps`}`);
}
if (gaps !== 0) process.exitCode = 1;
