// Receives text messages from a channel until the producer ends the stream.
//   node consumer.mjs <channel>
import { openReceiver } from 'ringwire';

const [channel] = process.argv.slice(2);
const decoder = new TextDecoder(); // messages arrive as bytes (Uint8Array)

const receiver = openReceiver(channel);
let count = 0;
let last;
try {
  // Waits for each message; the loop ends once the stream has ended and everything is read.
  for await (const message of receiver) {
    last = decoder.decode(message);
    count++;
  }
} finally {
  receiver.close();
}
console.log(`consumer: received ${count} messages, last: ${last === undefined ? 'none' : `'${last}'`}`);
