import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createChannel, openReceiver, openSender, stats, unlinkChannel } from '../src/index.js';
import { channelName, fixture, runChild, until } from './helpers.js';

describe('many waiters', () => {
  it('3000 pending recv() calls across 300 channels all resolve from another process', async () => {
    const channels = 300;
    const per = 10;
    const prefix = `${channelName('fan')}.`;
    const names = Array.from({ length: channels }, (_, c) => `${prefix}${c}`);
    try {
      for (const name of names) createChannel(name, { capacity: 4096 });
      const receivers = names.map((name) => openReceiver(name, { spinMicros: 0 }));
      const pending = receivers.map((receiver) =>
        Array.from({ length: per }, () => receiver.recv({ timeout: 60_000 })));
      expect(stats(names[channels - 1]).receiver.waiters).toBe(1);
      const child = runChild('fan-out.mjs', [prefix, String(channels), String(per)], 60_000);
      const results = await Promise.all(pending.map((list) => Promise.all(list)));
      results.forEach((list, c) => {
        expect(list.map((m) => Buffer.from(m!).toString())).toEqual(Array.from({ length: per }, (_, i) => `${c}:${i}`));
      });
      expect((await child).code).toBe(0);
      for (const receiver of receivers) receiver.close();
    } finally {
      for (const name of names) unlinkChannel(name);
    }
  });
});

describe('worker threads', () => {
  it('a worker thread receives with await recv() what the main thread sends', async () => {
    const name = channelName('wrecv');
    createChannel(name, { capacity: 4096 });
    const worker = new Worker(fixture('worker-recv.mjs'), { workerData: { name, count: 500 } });
    const exited = once(worker, 'exit'); // listen now: it may exit before we get there
    const [ready] = await once(worker, 'message');
    expect(ready).toBe('ready');
    const sender = openSender(name);
    for (let i = 0; i < 500; i++) await sender.send(`m${i}`, { timeout: 10_000 });
    const [got] = await once(worker, 'message');
    expect(got).toEqual(Array.from({ length: 500 }, (_, i) => `m${i}`));
    sender.close();
    await exited;
  });

  it('the main thread receives what a worker thread sends, to the end of the stream', async () => {
    const name = channelName('wsend');
    createChannel(name, { capacity: 1024 });
    const receiver = openReceiver(name);
    const worker = new Worker(fixture('worker-send.mjs'), { workerData: { name, count: 2000 } });
    const exited = once(worker, 'exit'); // listen now: it may exit before we get there
    const got: string[] = [];
    for await (const m of receiver) got.push(Buffer.from(m).toString());
    expect(got).toEqual(Array.from({ length: 2000 }, (_, i) => `w${i}`));
    receiver.close();
    await exited;
  });

  it('terminating a worker parked in recv() releases its endpoint and leaves the process healthy', async () => {
    const name = channelName('wterm');
    createChannel(name, { capacity: 4096 });
    for (let round = 0; round < 5; round++) {
      const worker = new Worker(fixture('worker-park.mjs'), { workerData: { name } });
      await once(worker, 'message');
      await until(() => stats(name).receiver.waiters === 1, 5000, 'the worker to park');
      await worker.terminate();
      await until(() => !stats(name).receiver.open, 5000, 'the receiver lock to be released');
    }
    // The role is free again and the channel works.
    const receiver = openReceiver(name);
    const sender = openSender(name);
    sender.trySend('alive');
    expect(Buffer.from((await receiver.recv({ timeout: 1000 }))!).toString()).toBe('alive');
    sender.close();
    receiver.close();
  });
});
