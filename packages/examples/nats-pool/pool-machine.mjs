// The pool's machine: a piscina pool serving a task channel of its own, which bridgeTasks()
// joins to the client's machine through a NATS server. servePool() runs here as it would
// with the client on the same machine. It tells its launcher it is ready (over the IPC
// channel, when there is one) and runs until SIGTERM (or Ctrl-C): then it closes the bridges,
// ends its own task stream (no end of stream crosses machines) so that servePool returns once
// the pool has finished what it took, and removes its task channels.
// usage: node pool-machine.mjs <server-url> <subject> <stream> <channel> [threads]
import Piscina from 'piscina';
import { openSender } from 'ringwire';
import { bridgeTasks } from 'ringwire/nats';
import { createTaskChannels, servePool, taskChannelNames, unlinkTaskChannels } from 'ringwire/pool';

const [server, subject, stream, name, threadsText = '2'] = process.argv.slice(2);
const threads = Number(threadsText);
if (name === undefined || !(Number.isInteger(threads) && threads >= 1)) {
  console.error('usage: node pool-machine.mjs <server-url> <subject> <stream> <channel> [threads]');
  process.exit(2);
}
const stopped = new Promise((resolve) => {
  for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => resolve(signal));
});

createTaskChannels(name, { capacity: 1 << 16 });
let bridges;
let pool;
try {
  bridges = await bridgeTasks({ name, subject, side: 'pool', servers: server, jetstream: { stream } });
  pool = new Piscina({ filename: new URL('./worker.mjs', import.meta.url).href, minThreads: threads, maxThreads: threads });
  const serving = servePool(pool, name);
  console.log(`pool machine: a piscina pool of ${threads} threads serves task channel '${name}', bridged through `
    + `${server}: tasks from '${subject}.tasks' (JetStream stream ${stream}), results to '${subject}.results'`);
  process.send?.('ready', () => process.disconnect()); // (SIGTERM is what stops it)
  // Until told to stop; servePool returning first (it failed, or its stream ended) is an error.
  const returnedEarly = serving.then(() => { throw new Error('servePool returned before the machine was stopped'); });
  returnedEarly.catch(() => {}); // (it does, once stopped)
  const signal = await Promise.race([stopped, returnedEarly]);
  const moved = await bridges.close();
  const ender = openSender(taskChannelNames(name).tasks);
  await ender.end();
  ender.close();
  const { tasks, deaths } = await serving;
  console.log(`pool machine: ${signal}: bridged ${moved.tasks.stats.messages} tasks in, `
    + `${moved.results.stats.messages} results out; ran ${tasks} tasks on ${threads} threads (${deaths} worker deaths)`);
} catch (error) {
  console.error(`pool machine: ${error.message}`);
  process.exitCode = 1;
} finally {
  await bridges?.close().catch(() => {}); // (already closed on the way out)
  await pool?.destroy();
  unlinkTaskChannels(name);
}
