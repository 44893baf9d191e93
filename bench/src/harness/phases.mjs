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
//
// A 'pair' group may have processes in the middle (S13's NATS bridges): `middle` lists their
// roles from the consumer's side to the producer's; each is forked after the consumer (with the
// producer), gets every phase after the consumer armed (in that order), answers 'armed' before
// the producer starts and 'done' with `moved` (the messages it passed on) once the end came
// through it.
import { forgetPid } from './cleanup.mjs';
import { Mailbox, spawnWorker, withTimeout } from './spawn.mjs';

const SETUP_MS = 20000;
/** Beyond its window, a phase may take this long (slow systems, big messages, a loaded box). */
const PHASE_SLACK_MS = 30000;

/**
 * Runs `phases` on `group` ({ name, worker, layout, config, opensPerPhase?, connected?(),
 * middle?: [{ role, worker, config }], pids?: { role: pid }, watch?(fail) -> unwatch }).
 * `pids`: more processes whose CPU time counts (S13: the NATS server); `watch`: fail(error)
 * stops the group at once (S13: the server cut a subscriber off). Each phase is { i, size,
 * mode, warmupMs, measureMs, own, minMessages?, syncEvery?, keepName?, prepare?() -> target,
 * targets?, extra?, armed?(), release?() } (syncEvery: the ringwire producer syncs after
 * every so many messages; keepName: release only once the phase is over, not as soon as both
 * ends are open, so that a file-backed channel's file stays on the disk meanwhile; targets:
 * { role: target } where a role's differs from prepare()'s, set by prepare(); extra: more
 * fields of the phase message; armed(): awaited once every process but the producer armed).
 * Calls onPhase(phase, result) after each; result is { rate, messages, seconds, sent, cpu,
 * consumer } (cpu: CPU seconds per role inside the window, or null where /proc cannot tell;
 * consumer: the consumer's 'done', with anything extra it reported).
 */
export async function runPhases(group, phases, onPhase) {
  const mailbox = new Mailbox(group.name);
  const procs = {};
  const middle = group.middle ?? [];
  const spawn = (role, extra = {}, worker = group.worker, config = group.config) => {
    procs[role] = spawnWorker(worker, { role, ...config, ...extra }, `${group.name}-${role}`, mailbox);
  };
  const unwatch = group.watch?.((error) => mailbox.fail(error));
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
      // The others start together: only the producer needs what the consumer said (its peer).
      for (const m of middle) spawn(m.role, {}, m.worker, m.config);
      spawn('producer', { peer: ready.peer });
      await Promise.all(['producer', ...middle.map((m) => m.role)].map((role) => mailbox.take(role, 'ready', undefined, SETUP_MS)));
      group.connected?.(); // both ends connected: a socket path or fifo can go now
      pids = { producer: procs.producer.pid, consumer: procs.consumer.pid };
      for (const m of middle) pids[m.role] = procs[m.role].pid;
      Object.assign(pids, group.pids);
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
      const message = {
        ctl: 'phase', i, size, mode, warmupMs, measureMs, minMessages, syncEvery, own: Boolean(own), target, pids, ...phase.extra,
      };
      const to = (role) => sendTo(role, { ...message, target: phase.targets?.[role] ?? target });
      for (const role of ['consumer', ...middle.map((m) => m.role)]) {
        to(role);
        await mailbox.take(role, 'armed', i, SETUP_MS);
      }
      await phase.armed?.();
      to('producer');
      if (group.opensPerPhase) {
        // Both ends have the channel open: unlink its name now, so that not even a SIGKILL
        // of this process can leave it behind (open endpoints keep working); a phase that
        // keeps its name (a file-backed channel) releases it once it is over.
        await mailbox.take('producer', 'opened', i, SETUP_MS);
        if (!phase.keepName) phase.release?.();
      }
      const result = await mailbox.take('consumer', 'result', i, warmupMs + measureMs + PHASE_SLACK_MS);
      sendTo('producer', { ctl: 'stop', i });
      const [done, end, ...passed] = await Promise.all([
        mailbox.take('producer', 'done', i, PHASE_SLACK_MS),
        mailbox.take('consumer', 'done', i, PHASE_SLACK_MS),
        ...middle.map((m) => mailbox.take(m.role, 'done', i, PHASE_SLACK_MS)),
      ]);
      phase.release?.();
      passed.forEach((d, k) => {
        if (d.moved !== done.sent) {
          throw new Error(`${phase.system} ${phase.label}: sent ${done.sent}, ${middle[k].role} passed on ${d.moved}`);
        }
      });
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
    for (const role of ['consumer', ...middle.map((m) => m.role), 'producer']) sendTo(role, { ctl: 'exit' });
    await withTimeout(Promise.all(Object.values(procs).map((child) => child.exited)), SETUP_MS,
      `${group.name}: the workers did not exit within ${SETUP_MS} ms`);
    if (mailbox.failure) throw mailbox.failure;
  } finally {
    unwatch?.();
    for (const phase of phases) phase.release?.();
    for (const child of Object.values(procs)) if (child.exitCode === null) child.kill('SIGKILL');
    if (consumerPid !== undefined) forgetPid(consumerPid);
  }
}
