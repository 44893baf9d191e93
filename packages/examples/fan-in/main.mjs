// `npm run fan-in [-- <producers> <lines>]`: several producer processes (default 3) ship
// log lines (default 1000 each) to one consumer process over a single MPMC channel.
// The channel is created with endWhen: 'last-sender': each producer ends its own part, and
// the channel ends when the last one does. The launcher holds a sender of its own until every
// producer has started and finished (so the channel cannot end before a late producer opens),
// ends its part, waits for the consumer to drain the channel, and removes it.
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
createChannel(channel, { mode: 'mpmc', capacity: 256 * 1024, endWhen: 'last-sender' });
onInterrupt(() => unlinkChannel(channel));

// Open before any producer starts: while it has not ended, neither has the channel.
const gate = openSender(channel);
try {
  const consumer = startNode(new URL('./consumer.mjs', import.meta.url), [channel]);
  const shippers = Array.from({ length: producers }, (_, i) =>
    startNode(new URL('./producer.mjs', import.meta.url), [channel, String(i + 1), lines]));
  // A consumer that fails early would leave the producers waiting for room: watch it too.
  await Promise.race([Promise.all(shippers.map((p) => p.done)), consumer.done]);

  // Every producer has sent everything and ended its part: ours is the last, so ending it
  // ends the channel; the consumer drains it and stops.
  await gate.end();
  await consumer.done;
} catch (error) {
  console.error(`fan-in: ${error.message}`);
  process.exitCode = 1;
} finally {
  gate.close();
  stopChildren();
  unlinkChannel(channel);
}
