// The throughput protocol between the harness and a system's workers. A group of worker
// processes (a producer and a consumer) runs a list of phases, one at a time:
//
//   harness -> consumer  phase i (size, mode, target, window)   consumer -> armed
//   harness -> producer  phase i                                 (the producer streams)
//   consumer -> result   when its measurement window closes (with the CPU time the group's
//                        processes spent inside it: the phase message carries their pids)
//   harness -> producer  stop        producer -> done {sent}; consumer drains -> done {received, bad}
//
// Layouts: 'pair' (the harness forks both), 'relay' (the harness forks the producer, which
// spawns the consumer as its child or thread and relays control messages), 'solo' (one
// process plays both roles). Every message sent must arrive, in order, or the run fails.
import { forgetPid } from './cleanup.mjs';
import { Mailbox, spawnWorker, withTimeout } from './spawn.mjs';

const SETUP_MS = 20000;
/** Beyond its window, a phase may take this long (slow systems, big messages, a loaded box). */
const PHASE_SLACK_MS = 30000;

/**
 * Runs `phases` on `group` ({ name, worker, layout, config, opensPerPhase?, connected?() }).
 * Each phase is { i, size, mode, warmupMs, measureMs, own, minMessages?, syncEvery?,
 * keepName?, prepare?() -> target, release?() } (syncEvery: the ringwire producer syncs after
 * every so many messages; keepName: release only once the phase is over, not as soon as both
 * ends are open, so that a file-backed channel's file stays on the disk meanwhile). Calls
 * onPhase(phase, result) after each; result is { rate, messages, seconds, sent, cpu, consumer }
 * (cpu: CPU seconds per role inside the window, or null where /proc cannot tell; consumer: the
 * consumer's 'done', with anything extra it reported).
 */
export async function runPhases(group, phases, onPhase) {
  const mailbox = new Mailbox(group.name);
  const procs = {};
  const spawn = (role, extra = {}) => {
    procs[role] = spawnWorker(group.worker, { role, ...group.config, ...extra }, `${group.name}-${role}`, mailbox);
  };
  // In 'pair', each role has its process; otherwise the one process forwards to the consumer.
  const sendTo = (role, message) => {
    const child = procs[role] ?? procs.producer ?? procs.solo;
    if (child.connected) child.send({ ...message, to: role });
  };
  let consumerPid;
  /** The group's processes, by role, for the consumer to read their CPU time (cputime.mjs). */
  let pids;
  try {
    if (group.layout === 'pair') {
      spawn('consumer');
      const ready = await mailbox.take('consumer', 'ready', undefined, SETUP_MS);
      spawn('producer', { peer: ready.peer });
      await mailbox.take('producer', 'ready', undefined, SETUP_MS);
      group.connected?.(); // both ends connected: a socket path or fifo can go now
      pids = { producer: procs.producer.pid, consumer: procs.consumer.pid };
    } else {
      spawn(group.layout === 'solo' ? 'solo' : 'producer');
      const [ready] = await Promise.all([
        mailbox.take('consumer', 'ready', undefined, SETUP_MS),
        mailbox.take('producer', 'ready', undefined, SETUP_MS),
      ]);
      consumerPid = ready.pid;
      // A relayed consumer is the producer's child (its pid in 'ready') or its thread (none:
      // the one process is the whole group); 'solo' is one process.
      const main = procs.producer ?? procs.solo;
      pids = consumerPid === undefined ? { process: main.pid } : { producer: main.pid, consumer: consumerPid };
    }
    for (const phase of phases) {
      const target = phase.prepare?.();
      const { i, size, mode, warmupMs, measureMs, own, minMessages, syncEvery } = phase;
      const message = { ctl: 'phase', i, size, mode, warmupMs, measureMs, minMessages, syncEvery, own: Boolean(own), target, pids };
      sendTo('consumer', message);
      await mailbox.take('consumer', 'armed', i, SETUP_MS);
      sendTo('producer', message);
      if (group.opensPerPhase) {
        // Both ends have the channel open: unlink its name now, so that not even a SIGKILL
        // of this process can leave it behind (open endpoints keep working); a phase that
        // keeps its name (a file-backed channel) releases it once it is over.
        await mailbox.take('producer', 'opened', i, SETUP_MS);
        if (!phase.keepName) phase.release?.();
      }
      const result = await mailbox.take('consumer', 'result', i, warmupMs + measureMs + PHASE_SLACK_MS);
      sendTo('producer', { ctl: 'stop', i });
      const [done, end] = await Promise.all([
        mailbox.take('producer', 'done', i, PHASE_SLACK_MS),
        mailbox.take('consumer', 'done', i, PHASE_SLACK_MS),
      ]);
      phase.release?.();
      // Every message must have arrived, in order and whole, or the number means nothing.
      // (The checker counts from the phase's first message: end.bad includes result.bad.)
      if (end.received !== done.sent || end.bad !== 0) {
        throw new Error(`${phase.system} ${phase.label}: sent ${done.sent}, received ${end.received}, `
          + `${end.bad} out of order, torn or of the wrong size`);
      }
      if (!(result.messages > 0)) {
        throw new Error(`${phase.system} ${phase.label}: no message arrived inside the measurement window`);
      }
      onPhase(phase, {
        rate: result.rate, messages: result.messages, seconds: result.seconds, sent: done.sent, cpu: result.cpu ?? null,
        consumer: end,
      });
    }
    for (const child of Object.values(procs)) child.expectedExit = true;
    sendTo('consumer', { ctl: 'exit' });
    sendTo('producer', { ctl: 'exit' });
    await withTimeout(Promise.all(Object.values(procs).map((child) => child.exited)), SETUP_MS,
      `${group.name}: the workers did not exit within ${SETUP_MS} ms`);
    if (mailbox.failure) throw mailbox.failure;
  } finally {
    for (const phase of phases) phase.release?.();
    for (const child of Object.values(procs)) if (child.exitCode === null) child.kill('SIGKILL');
    if (consumerPid !== undefined) forgetPid(consumerPid);
  }
}
