// Sends <count> text messages on a channel, then ends the stream.
//   node producer.mjs <channel> <count>
import { openSender } from 'ringwire';

const [channel, count] = process.argv.slice(2);
const total = Number(count);

const sender = openSender(channel);
try {
  for (let i = 0; i < total; i++) {
    // Resolves at once while the ring has room; waits (backpressure) while it is full.
    await sender.send(`message ${i}`);
  }
  // End of stream: the consumer reads everything sent so far, then sees the end.
  sender.end();
} finally {
  sender.close();
}
console.log(`producer: sent ${total} messages`);
