// `npm run ticker [-- <ticks>]`: a market-data fan-out. This process publishes price ticks
// (default 10000) on one broadcast channel; three subscriber processes each get every tick,
// in order: a dashboard (last price per symbol), a VWAP calculator, and an audit that checks
// nothing was missed. The channel is 'block' (the default): the publisher waits for the
// slowest subscriber, so none misses a tick. A tick sent before a subscriber joins does not
// reach it (subscribers join at the tail as they take their slot: every tick published once
// stats() lists them reaches them), so the publisher starts once stats() lists all three.
import { setTimeout as sleep } from 'node:timers/promises';
import { createChannel, openSender, stats, unlinkChannel } from 'ringwire';
import { onInterrupt, startNode, stopChildren } from '../shared/launch.mjs';
import { tick } from './ticks.mjs';

const ticks = Number(process.argv[2] ?? 10000);
if (!(Number.isInteger(ticks) && ticks >= 1)) {
  console.error('usage: node ticker/main.mjs [ticks]');
  process.exit(2);
}

const channel = `ticker-${process.pid}`;
createChannel(channel, { mode: 'broadcast', capacity: 64 * 1024 });
onInterrupt(() => unlinkChannel(channel));
const sender = openSender(channel, { codec: 'json' });
try {
  const roles = ['dashboard', 'vwap', 'audit'];
  const subscribers = roles.map((role) => startNode(new URL('./subscriber.mjs', import.meta.url), [channel, role]));
  const failed = Promise.race(subscribers.map((s) => s.done.then(() => { throw new Error('a subscriber exited early'); })));
  failed.catch(() => {});
  while (stats(channel).receivers.length < roles.length) await Promise.race([sleep(5), failed]);

  for (let i = 0; i < ticks; i++) {
    const t = tick(i);
    if (!sender.trySend(t)) await sender.send(t); // full: wait for the slowest subscriber
  }
  await sender.end(); // each subscriber gets every tick, then the end of its loop
  await Promise.all(subscribers.map((s) => s.done));
  console.log(`publisher: sent ${ticks} ticks to ${roles.length} subscribers`);
} catch (error) {
  console.error(`ticker: ${error.message}`);
  process.exitCode = 1;
} finally {
  sender.close();
  stopChildren();
  unlinkChannel(channel);
}
