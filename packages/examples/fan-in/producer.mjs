// One of several log shippers writing to a shared MPMC channel: sends <count> log lines
// {source, seq, level, msg} as JSON (the channel's codec), then ends its part. The channel
// was created with endWhen: 'last-sender', so it ends only when every sender has ended.
//   node producer.mjs <channel> <id> <count>
import { openSender } from 'ringwire';

const [channel, id, count] = process.argv.slice(2);
const source = `producer-${id}`;
const total = Number(count);

const sender = openSender(channel, { codec: 'json' }); // MPMC: any number may be open at once
try {
  for (let seq = 0; seq < total; seq++) {
    const level = seq % 20 === 19 ? 'error' : seq % 5 === 4 ? 'warn' : 'info';
    // Waits while the ring is full: a slow consumer slows the producers down, nothing is lost.
    await sender.send({ source, seq, level, msg: `request ${seq} handled by ${source}` });
  }
  await sender.end(); // resolves once everything sent is in the ring
} finally {
  sender.close(); // (TypeScript, or Node 24+: `await using sender = openSender(...)` does both)
}
console.log(`${source}: sent ${total} lines`);
