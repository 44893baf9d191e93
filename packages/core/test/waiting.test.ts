// Waiting edge cases: how queued operations, cancelled waits and blocked threads interact.
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { createChannel, openReceiver, openSender } from '../src/index.js';
import { channelName, fixture } from './helpers.js';

describe('queued operations', () => {
  it('end() still reaches the receiver when the send queued before it times out', async () => {
    const name = channelName('endfail');
    createChannel(name, { capacity: 1024 });
    const sender = openSender(name);
    const receiver = openReceiver(name);
    let sent = 0;
    while (sender.trySend(new Uint8Array(100))) sent++;
    const late = sender.send(new Uint8Array(500), { timeout: 30 });
    sender.end();
    await expect(late).rejects.toMatchObject({ code: 'ERR_RINGWIRE_TIMEOUT' });
    let received = 0;
    for await (const _ of receiver) received++;
    expect(received).toBe(sent);
    sender.close();
    receiver.close();
  });

  it('when the head of the send queue times out, a smaller send behind it goes at once', async () => {
    const name = channelName('headfail');
    createChannel(name, { capacity: 1024 });
    const sender = openSender(name, { spinMicros: 0 });
    const receiver = openReceiver(name);
    for (let i = 0; i < 8; i++) sender.trySend(new Uint8Array(120));
    receiver.tryRecv();
    receiver.tryRecv();
    await null; // the receiver publishes the freed space at the end of the task
    const big = sender.send(new Uint8Array(500), { timeout: 30 });
    // Well under the 1 s park slice: this needs the retry that follows the head's failure.
    const small = sender.send(new Uint8Array(8), { timeout: 500 });
    await expect(big).rejects.toMatchObject({ code: 'ERR_RINGWIRE_TIMEOUT' });
    await expect(small).resolves.toBeUndefined();
    sender.close();
    receiver.close();
  });

  it('tryRecv and recvSync leave messages to recv() calls that were waiting first', async () => {
    const name = channelName('order');
    createChannel(name, { capacity: 4096 });
    const sender = openSender(name);
    const receiver = openReceiver(name);
    const first = receiver.recv({ timeout: 1000 });
    sender.trySend('one');
    sender.trySend('two');
    expect(receiver.tryRecv()).toBeUndefined();
    expect(Buffer.from(receiver.recvSync({ timeout: 1000 })!).toString()).toBe('two');
    expect(Buffer.from((await first)!).toString()).toBe('one');
    sender.close();
    receiver.close();
  });
});

describe('cancelled waits', () => {
  it("wait 'semaphore': a wait after a timed-out one still gets its wake", async () => {
    const name = channelName('semcancel');
    createChannel(name, { capacity: 1024, wait: 'semaphore' });
    const sender = openSender(name);
    const receiver = openReceiver(name, { spinMicros: 0 });
    for (let round = 0; round < 5; round++) {
      await expect(receiver.recv({ timeout: 5 })).rejects.toMatchObject({ code: 'ERR_RINGWIRE_TIMEOUT' });
      const next = receiver.recv({ timeout: 500 }); // the park slice is 1 s: a lost wake times out
      setTimeout(() => sender.trySend(`round ${round}`), 10);
      expect(Buffer.from((await next)!).toString()).toBe(`round ${round}`);
    }
    sender.close();
    receiver.close();
  });
});

describe('blocked threads', () => {
  it('a thread blocked in recvSync on one channel has published what it took from another', async () => {
    const first = channelName('two1');
    const second = channelName('two2');
    createChannel(first, { capacity: 1024 });
    createChannel(second, { capacity: 1024 });
    const sender1 = openSender(first);
    const sender2 = openSender(second);
    while (sender1.trySend(new Uint8Array(8)));
    const worker = new Worker(fixture('worker-two-channels.mjs'), { workerData: { first, second } });
    const exited = once(worker, 'exit'); // listen now: it may exit before we get there
    const reply = once(worker, 'message');
    // Room appears only once the worker's 10 receives are published.
    sender1.sendSync(new Uint8Array(8), { timeout: 10_000 });
    sender2.sendSync(new Uint8Array(3), { timeout: 10_000 });
    expect((await reply)[0]).toBe(3);
    await exited;
    sender1.close();
    sender2.close();
  });
});
