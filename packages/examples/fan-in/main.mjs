// `npm run fan-in [-- <producers> <lines>]`: several producer processes (default 3) ship
// log lines (default 1000 each) to one consumer process over a single MPMC channel.
// This launcher creates the channel, starts everyone, ends the channel once every producer
// has exited, waits for the consumer to drain it, and removes it.
import { createChannel, openSender, unlinkChannel } from 'ringwire';
import { onInterrupt, startNode, stopChildren } from '../shared/launch.mjs';

const producers = Number(process.argv[2] ?? 3);
const lines = process.argv[3] ?? '1000';
// An MPMC channel has room for 48 open endpoints: the producers, the consumer, ours.
if (!(Number.isInteger(producers) && producers >= 1 && producers <= 46) || !/^\d+$/.test(lines)) {
  console.error('usage: node fan-in/main.mjs [producers (1-46)] [lines per producer]');
  process.exit(2);
}

const channel = `fanin-${process.pid}`;
createChannel(channel, { mode: 'mpmc', capacity: 256 * 1024 });
onInterrupt(() => unlinkChannel(channel));

try {
  const consumer = startNode(new URL('./consumer.mjs', import.meta.url), [channel]);
  const shippers = Array.from({ length: producers }, (_, i) =>
    startNode(new URL('./producer.mjs', import.meta.url), [channel, String(i + 1), lines]));
  // A consumer that fails early would leave the producers waiting for room: watch it too.
  await Promise.race([Promise.all(shippers.map((p) => p.done)), consumer.done]);

  // Every producer has sent everything and closed. Ending the channel (which any sender of
  // an MPMC channel may do, for all of them) lets the consumer drain it and then stop.
  const sender = openSender(channel);
  sender.end();
  sender.close();
  await consumer.done;
} catch (error) {
  console.error(`fan-in: ${error.message}`);
  process.exitCode = 1;
} finally {
  stopChildren();
  unlinkChannel(channel);
}
