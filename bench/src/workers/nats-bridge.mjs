// S13's bridges, ringwire/nats as deployed: a process of its own running bridge() for each
// phase, between the phase's channel and its subject.
//   bridge-out: bridge({ direction: 'out' }), the receiver of the producer's channel: publishes
//               every message, and the end marker at the channel's end of stream
//   bridge-in:  bridge({ direction: 'in' }), the sender into the consumer's channel: ends that
//               channel's stream at the end marker
// With `jetstream` in the phase ({ stream, durable }), both bridges use JetStream. A bridge
// answers 'armed' once bridge() resolved (connected, subscribed or consuming, its end of the
// channel open) and 'done' with the messages it moved once its run ended.
import { bridge } from 'ringwire/nats';
import { config, dieOnError, finish, onControl, tell } from './common.mjs';

const { role, servers, direction } = config();
dieOnError(`nats ${role}`);

async function run(phase) {
  const running = await bridge({
    channel: phase.target, subject: phase.subject, direction, servers,
    ...(phase.jetstream ? { jetstream: phase.jetstream } : {}),
  });
  tell({ ctl: 'armed', from: role, i: phase.i });
  const { reason, stats } = await running.done;
  if (reason !== 'ended') throw new Error(`${role}: the bridge stopped (${reason}) before the end of the stream`);
  tell({ ctl: 'done', from: role, i: phase.i, moved: stats.messages });
}

onControl((message) => {
  if (message.ctl === 'phase') run(message);
  else if (message.ctl === 'exit') finish({ ctl: 'bye', from: role });
});
tell({ ctl: 'ready', from: role });
