// wait: 'semaphore' with several sleepers on one epoch word (broadcast receivers, MPMC senders
// and receivers). A semaphore token is not addressed: a sleeper that woke, re-armed the next
// epoch and came back first could take the token posted for another sleeper of the earlier
// epoch, leaving it asleep for a whole park slice (1 s). The addon's waits give such a token
// back (wait.h, EpochSemaphoreSleep). The runs below park every endpoint over and over; each
// is timed against the same run on a futex channel (which wakes every sleeper), and must stay
// within a generous multiple of it: stolen wakes cost whole seconds. (Broadcast: every
// receiver needs every wake, 44 s against 0.4 s on futex before the fix. MPMC: a competitor
// does the victim's work, so stolen wakes did not show in time; the case guards against the
// give-back slowing it down.)
import { on, once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { createChannel, openReceiver, openSender, type Receiver } from '../src/index.js';
import { channelName, fixture } from './helpers.js';

const COUNT = 3000;
const SIZE = 200;

type Wait = 'futex' | 'semaphore' | 'named-semaphore';

/** A worker endpoint of fixtures/sem-worker.mjs, once it has opened; `result` is its last message. */
async function startWorker(data: { role: 'recv' | 'send'; name: string; count?: number; size?: number }) {
  const worker = new Worker(fixture('sem-worker.mjs'), { workerData: data });
  const exited = once(worker, 'exit');
  const messages = on(worker, 'message'); // buffers them; throws a worker's 'error'
  const next = async () => ((await messages.next()).value as unknown[])[0];
  expect(await next()).toBe('ready');
  return { worker, exited, result: next() };
}

async function countAll(receiver: Receiver): Promise<number> {
  let count = 0;
  for await (const _ of receiver) count++;
  receiver.close();
  return count;
}

/** Broadcast: 3 async receivers here and one blocking in a worker; an async sender. Returns ms. */
async function broadcastRun(wait: Wait): Promise<number> {
  const name = channelName(`sb-${wait}`);
  createChannel(name, { mode: 'broadcast', wait, capacity: 4096 });
  const worker = await startWorker({ role: 'recv', name });
  try {
    const started = performance.now();
    const receivers = [0, 1, 2].map(() => countAll(openReceiver(name, { spinMicros: 0 })));
    const sender = openSender(name, { spinMicros: 0 });
    const message = new Uint8Array(SIZE);
    for (let i = 0; i < COUNT; i++) await sender.send(message, { timeout: 120_000 });
    sender.end();
    sender.close();
    expect(await Promise.all(receivers)).toEqual([COUNT, COUNT, COUNT]);
    expect(await worker.result).toBe(COUNT);
    const elapsed = performance.now() - started;
    await worker.exited;
    return elapsed;
  } finally {
    await worker.worker.terminate();
  }
}

/**
 * MPMC: 3 async receivers here and one blocking in a worker; an async sender here and a
 * blocking one in a worker (several sleepers on both epochs). Returns ms.
 */
async function mpmcRun(wait: Wait): Promise<number> {
  const name = channelName(`sm-${wait}`);
  createChannel(name, { mode: 'mpmc', wait, capacity: 4096 });
  const receiver = await startWorker({ role: 'recv', name });
  const sending = await startWorker({ role: 'send', name, count: COUNT, size: SIZE });
  try {
    const started = performance.now();
    const receivers = [0, 1, 2].map(() => countAll(openReceiver(name, { spinMicros: 0 })));
    const sender = openSender(name, { spinMicros: 0 });
    const message = new Uint8Array(SIZE);
    for (let i = 0; i < COUNT; i++) await sender.send(message, { timeout: 120_000 });
    expect(await sending.result).toBe('done');
    sender.end(); // ends the stream for every sender: the worker's are all in
    sender.close();
    const counts = [...await Promise.all(receivers), await receiver.result as number];
    expect(counts.reduce((a, b) => a + b, 0)).toBe(2 * COUNT);
    const elapsed = performance.now() - started;
    await Promise.all([receiver.exited, sending.exited]);
    return elapsed;
  } finally {
    await Promise.all([receiver.worker.terminate(), sending.worker.terminate()]);
  }
}

describe("wait 'semaphore' and 'named-semaphore' with several sleepers on one epoch", () => {
  for (const [mode, run] of [['broadcast', broadcastRun], ['mpmc', mpmcRun]] as const) {
    it(`${mode}: every parked endpoint gets its wake (no park slice runs out)`, async () => {
      const futex = await run('futex');
      const semaphore = await run('semaphore');
      expect(semaphore, `semaphore ${semaphore.toFixed(0)} ms, futex ${futex.toFixed(0)} ms`)
        .toBeLessThan(20 * futex + 2000);
      // Named semaphores (sem_open) take the same paths with another sem_t.
      const named = await run('named-semaphore');
      expect(named, `named-semaphore ${named.toFixed(0)} ms, futex ${futex.toFixed(0)} ms`)
        .toBeLessThan(20 * futex + 2000);
    }, 300_000);
  }
});
