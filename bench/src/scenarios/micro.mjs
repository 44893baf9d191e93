// The micro section: per-operation costs of ringwire in one process (tinybench), in a worker
// process of its own so that its channels and thread go away with it.
import { channel, release } from '../harness/rendezvous.mjs';
import { Mailbox, spawnWorker } from '../harness/spawn.mjs';

export async function runMicro(ctx) {
  const channels = { main: channel(), wake: channel() };
  const mailbox = new Mailbox('micro');
  ctx.log('micro … ringwire per-operation costs (tinybench)');
  const child = spawnWorker('micro.mjs', { channels, timeMs: ctx.timing.microMs }, 'micro', mailbox);
  child.expectedExit = true;
  try {
    await mailbox.take('micro', 'opened', undefined, 20000);
    release(channels.main);
    const { results } = await mailbox.take('micro', 'result', undefined, 120000);
    await child.exited;
    if (mailbox.failure) throw mailbox.failure;
    for (const r of results) ctx.log(`micro ${r.name} … ${r.nsPerOp.toFixed(1)} ns/op`);
    return results.map(({ name, nsPerOp }) => ({ name, nsPerOp }));
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    release(channels.main);
    release(channels.wake);
  }
}
