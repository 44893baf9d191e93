// `npm run basics [-- <count>]`: one producer process sends <count> messages (default 1000)
// to one consumer process over a ringwire channel. This launcher only creates the channel,
// starts both processes, waits for them and removes the channel.
import { createChannel, unlinkChannel } from 'ringwire';
import { onInterrupt, startNode, stopChildren } from '../shared/launch.mjs';

const count = process.argv[2] ?? '1000';
if (!/^\d+$/.test(count)) {
  console.error('usage: node basics/main.mjs [count]');
  process.exit(2);
}

// The pid keeps the name unique to this run. Channels outlive processes (they are files in
// /dev/shm), so whoever creates one must remove it.
const channel = `basics-${process.pid}`;
createChannel(channel, { capacity: 64 * 1024 }); // bytes of ring; the producer waits when full
onInterrupt(() => unlinkChannel(channel));

try {
  // Either may start first: messages wait in the ring until the consumer reads them.
  const consumer = startNode(new URL('./consumer.mjs', import.meta.url), [channel]);
  const producer = startNode(new URL('./producer.mjs', import.meta.url), [channel, count]);
  await Promise.all([producer.done, consumer.done]);
} catch (error) {
  console.error(`basics: ${error.message}`);
  process.exitCode = 1;
} finally {
  stopChildren(); // none are left after a clean run
  unlinkChannel(channel);
}
