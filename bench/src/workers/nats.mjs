// S13's baseline, plain nats.js over core NATS: a publisher process -> the NATS server -> a
// subscriber process, the subject the harness gives each phase.
//   producer: publishes as fast as the client allows, a fresh Uint8Array per message (publish()
//             keeps a reference until the client writes it out, so a reused buffer would be
//             overwritten), and awaits nc.flush() (a round trip to the server) after every
//             NATS_FLUSH_EVERY messages, as ringwire/nats's bridge out does; at 'stop' it
//             publishes an empty message (the end) and flushes.
//   consumer: subscribes (flushed, so the server has the subscription before it says 'armed'),
//             takes the messages with `for await` over the subscription, as the bridge in does,
//             and checks every one (frames.mjs's Checker) until the empty one.
// A disconnection is fatal in both: core NATS would have lost messages meanwhile.
import { connect } from '@nats-io/transport-node';
import { NATS_FLUSH_EVERY } from '../systems/lists.mjs';
import { config, dieOnError, PhaseState, servePhases, tell } from './common.mjs';
import { Checker, writeMessage } from './frames.mjs';

const { role, servers } = config();
dieOnError(`nats ${role}`);

const nc = await connect({ servers, name: `rwbench nats ${role} ${process.pid}` });
let closing = false;
(async () => {
  for await (const status of nc.status()) {
    if (!closing && ['disconnect', 'reconnecting', 'reconnect', 'error', 'slowConsumer', 'staleConnection'].includes(status.type)) {
      throw new Error(`NATS connection: ${status.type} (${JSON.stringify(status)}): messages may be lost`);
    }
  }
})();

async function produce(phase, isStopped) {
  const { size, subject } = phase;
  let sent = 0;
  // The flush is a real wait (for the server's PONG): control messages get through there.
  while (!isStopped()) {
    const message = new Uint8Array(size);
    writeMessage(message, 0, size, sent);
    nc.publish(subject, message);
    sent++;
    if (sent % NATS_FLUSH_EVERY === 0) await nc.flush();
  }
  nc.publish(subject, new Uint8Array(0));
  await nc.flush();
  tell({ ctl: 'done', from: 'producer', i: phase.i, sent });
}

async function consume(phase) {
  const subscription = nc.subscribe(phase.subject);
  await nc.flush();
  tell({ ctl: 'armed', from: 'consumer', i: phase.i });
  const state = new PhaseState(phase, Checker);
  const { checker } = state;
  for await (const message of subscription) {
    const { data } = message;
    if (data.length === 0) break;
    checker.check(data, 0, data.length);
    if (checker.count >= state.nextSample) state.maybeSample();
  }
  subscription.unsubscribe();
  state.done();
}

servePhases(role, {
  produce,
  consume,
  beforeExit() {
    closing = true;
    return nc.close();
  },
});
