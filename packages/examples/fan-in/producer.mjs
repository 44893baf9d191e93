// One of several log shippers writing to a shared MPMC channel: sends <count> JSON log lines
// {source, seq, level, msg}, then closes. It does not end() the channel: on an MPMC channel
// end() ends it for every sender, so the launcher does that once all producers are done.
//   node producer.mjs <channel> <id> <count>
import { openSender } from 'ringwire';

const [channel, id, count] = process.argv.slice(2);
const source = `producer-${id}`;
const total = Number(count);

const sender = openSender(channel); // MPMC: any number of senders may be open at once
try {
  for (let seq = 0; seq < total; seq++) {
    const level = seq % 20 === 19 ? 'error' : seq % 5 === 4 ? 'warn' : 'info';
    const line = { source, seq, level, msg: `request ${seq} handled by ${source}` };
    // Waits while the ring is full: a slow consumer slows the producers down, nothing is lost.
    await sender.send(JSON.stringify(line));
  }
} finally {
  sender.close(); // everything sent is in the ring and stays there for the consumer
}
console.log(`${source}: sent ${total} lines`);
