// `npm run nats-pool [-- <count>]`: a producer on this machine, a piscina pool on another,
// and the same TaskClient code as when both are on one machine — NATS in between. Two
// nats-servers routed into one cluster on loopback stand for two machines' servers, a and b.
// pool-machine.mjs, a second process, is the other machine: its pool serves a task channel of
// its own, bridged through server b. This process is the client's machine: its task channel is
// bridged through server a, and client.mjs runs a TaskClient on it: `<count>` tasks (default
// 2000), every answer checked, one that fails and one that times out. Tasks go through
// JetStream: the pool machine's subscription reaches server a over the route a moment after it
// is made, and core NATS would drop a task published there before; the stream keeps it. Results
// come back over core NATS. The machines' channels have different names only because both
// machines share this /dev/shm.
// At the end: the pool's machine is stopped (SIGTERM), the servers are stopped and their
// directories removed, and nothing of this run is left in /dev/shm — on failure and Ctrl-C too.
import { readdirSync } from 'node:fs';
import { bridgeTasks } from 'ringwire/nats';
import { createTaskChannels, taskChannelNames, unlinkTaskChannels } from 'ringwire/pool';
import { onInterrupt, startNode, stopChildren } from '../shared/launch.mjs';
import { runTasks } from './client.mjs';
import { natsServerBinary, startCluster, stopCluster } from './nats-servers.mjs';

const count = Number(process.argv[2] ?? 2000);
if (!(Number.isInteger(count) && count >= 8)) {
  console.error('usage: node nats-pool/main.mjs [count (at least 8)]');
  process.exit(2);
}
const binary = natsServerBinary();
if (binary === undefined) {
  console.error('nats-pool: this example needs nats-server (see above); nothing was started');
  process.exit(1);
}

const run = process.pid;
const here = `ex-natspool-a-${run}`; // this machine's task channel
const there = `ex-natspool-b-${run}`; // the pool's machine's
const subject = `ex.natspool.${run}`; // where the two machines meet
const stream = `EX_NATSPOOL_${run}`;
const entries = new Set([here, there].flatMap((name) => Object.values(taskChannelNames(name))).map((channel) => `rw.${channel}`));
const entriesOfThisRun = () => readdirSync('/dev/shm').filter((entry) => entries.has(entry));
onInterrupt(() => {
  unlinkTaskChannels(here);
  unlinkTaskChannels(there);
}); // (the servers are killed on any exit: nats-servers.mjs)

let servers = [];
let bridges;
try {
  servers = await startCluster(binary, `ex-natspool-${run}`);
  const [a, b] = servers;
  console.log(`nats-pool: two "machines" on one box: nats-server a (${a.url}) and b (${b.url}), one cluster, JetStream on`);

  // The other machine: it says when its pool is served and its bridges are up.
  const poolMachine = startNode(new URL('./pool-machine.mjs', import.meta.url), [b.url, subject, stream, there, '2'],
    { fds: ['ipc'] });
  const exitedEarly = poolMachine.done.then(() => { throw new Error('pool-machine.mjs exited before it was stopped'); });
  exitedEarly.catch(() => {}); // (it does exit, once stopped)
  await Promise.race([new Promise((resolve) => poolMachine.once('message', resolve)), exitedEarly]);

  // This machine: its task channel, bridged through server a; then the TaskClient code.
  createTaskChannels(here, { capacity: 1 << 16 });
  bridges = await bridgeTasks({ name: here, subject, side: 'client', servers: a.url, jetstream: { stream } });
  console.log(`client machine: task channel '${here}' bridged through ${a.url}: tasks to '${subject}.tasks' `
    + `(JetStream stream ${stream}), results from '${subject}.results'`);
  // Should the pool's machine die, its tasks would only time out here: fail at once instead.
  const ok = await Promise.race([runTasks(here, count, 'through nats a → b'), exitedEarly]);
  const moved = await bridges.close();
  console.log(`client machine: bridged ${moved.tasks.stats.messages} tasks out, ${moved.results.stats.messages} results in`);

  poolMachine.kill('SIGTERM'); // as a service on that machine is stopped
  await poolMachine.done;
  if (!ok) throw new Error('not every task went as expected (see above)');
} catch (error) {
  console.error(`nats-pool: ${error.message}`);
  process.exitCode = 1;
} finally {
  await bridges?.close().catch(() => {}); // (closed already, unless something failed)
  stopChildren();
  unlinkTaskChannels(here);
  await stopCluster(servers);
}

// This machine removed its channels above, the pool's machine removes its own: anything of
// this run still in /dev/shm is a failure.
const left = entriesOfThisRun();
unlinkTaskChannels(there);
console.log(`nats-pool: servers stopped, their directories removed; /dev/shm: ${left.length === 0
  ? 'no rw.* entry of this run left' : `left behind (removed now): ${left.join(', ')}`}`);
if (left.length > 0 || process.exitCode) process.exit(1); // (a failed client may still hold timers)
