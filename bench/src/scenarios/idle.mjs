// S7: what an idle receiver costs. The idle systems run side by side (they are idle: they do
// not compete for the cores), each a sender process and a receiver process.
import { cleanUp } from '../harness/cleanup.mjs';
import { formatValue } from '../harness/format.mjs';
import { channel, release, tmpPath } from '../harness/rendezvous.mjs';
import { Mailbox, spawnWorker } from '../harness/spawn.mjs';
import { IDLE_SYSTEMS } from '../systems/lists.mjs';

async function idle(system, idleMs) {
  const target = system === 'ringwire' ? channel() : tmpPath('sock');
  const mailbox = new Mailbox(`${system}-idle`);
  const procs = [];
  try {
    // The sender first (it listens, for uds), then the receiver.
    const sender = spawnWorker('idle.mjs', { role: 'sender', system, target, idleMs }, `${system}-idle-sender`, mailbox);
    procs.push(sender);
    await mailbox.take('sender', 'ready', undefined, 20000);
    const receiver = spawnWorker('idle.mjs', { role: 'receiver', system, target, idleMs }, `${system}-idle-receiver`, mailbox);
    procs.push(receiver);
    await mailbox.take('receiver', 'ready', undefined, 20000);
    // Both ends open (or connected): the name can go now; nothing is left even after a SIGKILL.
    if (system === 'ringwire') release(target);
    else cleanUp(target);
    for (const child of procs) child.expectedExit = true;
    receiver.send({ ctl: 'go' });
    const measured = await mailbox.take('receiver', 'measured', undefined, idleMs + 20000);
    sender.send({ ctl: 'send' });
    const [done, sent] = await Promise.all([
      mailbox.take('receiver', 'done', undefined, 20000),
      mailbox.take('sender', 'sent', undefined, 20000),
    ]);
    await Promise.all(procs.map((child) => child.exited));
    if (mailbox.failure) throw mailbox.failure;
    if (done.bad !== 0) throw new Error(`${system} idle: the message arrived torn`);
    return { ...measured, wakeMs: done.receivedAt - sent.sentAt };
  } finally {
    for (const child of procs) if (child.exitCode === null) child.kill('SIGKILL');
    if (system === 'ringwire') release(target);
    else cleanUp(target);
  }
}

export async function runIdle(ctx) {
  const systems = IDLE_SYSTEMS.filter((s) => !ctx.only || ctx.only.has(s));
  if (systems.length === 0) return;
  ctx.log(`S7 ${systems.join(', ')} … idle for ${ctx.timing.idleMs / 1000} s`);
  const measured = await Promise.all(systems.map((system) => idle(system, ctx.timing.idleMs)));
  systems.forEach((system, k) => {
    const m = measured[k];
    const r = {
      system, size: 64, value: m.cpuPercent,
      lagP99Ms: m.lagP99Ms, lagMaxMs: m.lagMaxMs, wakeMs: m.wakeMs,
      note: system === 'ringwire' ? 'await receiver.recv(), default options'
        : "a client socket idle on 'data'",
    };
    ctx.record('S7', r);
    ctx.log(`S7 ${system} … ${formatValue(r.value, '%')} % of a core, event-loop lag p99 ${m.lagP99Ms.toFixed(2)} ms, `
      + `max ${m.lagMaxMs.toFixed(2)} ms; woke ${m.wakeMs?.toFixed(2)} ms after the send`);
  });
}
