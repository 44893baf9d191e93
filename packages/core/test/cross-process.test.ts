import { describe, expect, it } from 'vitest';
import { createChannel, openReceiver, openSender, stats, type WaitOption } from '../src/index.js';
import { checkMessage } from './fixtures/messages.mjs';
import { channelName, runChild, until } from './helpers.js';

const MESSAGES = 1_000_000;

// Each wait mode moves a million messages of 0 B to 64 KiB from a child process through a
// 256 KiB ring (so it wraps, pads and fills up thousands of times), each receive style once.
const modes: { wait: WaitOption; producer: string; consumer: 'iterate' | 'recv' | 'recvSync' | 'tryRecv' }[] = [
  { wait: 'futex', producer: 'async', consumer: 'iterate' },
  { wait: 'semaphore', producer: 'sync', consumer: 'recv' },
  { wait: 'spin', producer: 'try', consumer: 'tryRecv' },
  { wait: 'futex', producer: 'try', consumer: 'recvSync' },
];

describe('messages cross processes intact and in order', () => {
  for (const { wait, producer, consumer } of modes) {
    it(`wait '${wait}': a child's ${MESSAGES} mixed-size messages (${producer} sends) arrive by ${consumer}`, async () => {
      const name = channelName(`x${wait}`);
      createChannel(name, { capacity: 1 << 18, wait });
      const receiver = openReceiver(name);
      const child = runChild('producer.mjs', [name, String(MESSAGES), producer], 180_000);
      let seq = 0;
      let firstError: string | null = null;
      const check = (message: Uint8Array) => {
        const error = checkMessage(message, seq++);
        if (error !== null && firstError === null) firstError = error;
      };
      if (consumer === 'iterate') {
        for await (const message of receiver) check(message);
      } else if (consumer === 'recv') {
        for (let m = await receiver.recv({ timeout: 30_000 }); m !== null; m = await receiver.recv({ timeout: 30_000 })) check(m);
      } else if (consumer === 'recvSync') {
        for (let m = receiver.recvSync({ timeout: 30_000 }); m !== null; m = receiver.recvSync({ timeout: 30_000 })) check(m);
      } else {
        for (;;) {
          const m = receiver.tryRecv();
          if (m !== undefined) check(m);
          else if (receiver.ended) break;
          else await new Promise(setImmediate);
        }
      }
      receiver.close();
      const result = await child;
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(firstError).toBeNull();
      expect(seq).toBe(MESSAGES);
    });
  }
});

describe('parked endpoints wake across processes', () => {
  for (const wait of ['futex', 'semaphore', 'named-semaphore'] as const) {
    it(`wait '${wait}': a parked receiver wakes for a message sent from another process`, async () => {
      const name = channelName(`pr${wait}`);
      createChannel(name, { capacity: 4096, wait });
      const receiver = openReceiver(name, { spinMicros: 0 });
      const pending = receiver.recv({ timeout: 20_000 });
      expect(stats(name).receiver.waiters).toBe(1);
      const child = runChild('send-after.mjs', [name, '100', 'wake up']);
      const message = await pending;
      expect(Buffer.from(message!).toString()).toBe('wake up');
      expect(stats(name).receiver.waiters).toBe(0);
      expect((await child).code).toBe(0);
      receiver.close();
    });

    it(`wait '${wait}': a parked sender wakes when another process frees space`, async () => {
      const name = channelName(`ps${wait}`);
      createChannel(name, { capacity: 4096, wait });
      const sender = openSender(name, { spinMicros: 0 });
      const chunk = new Uint8Array(1000);
      let queued = 0;
      while (sender.trySend(chunk)) queued++;
      expect(queued).toBe(4);
      const blocked = sender.send(chunk, { timeout: 20_000 });
      expect(stats(name).sender.waiters).toBe(1);
      const child = runChild('recv-after.mjs', [name, '100', String(queued + 1)]);
      await blocked;
      const result = await child;
      expect(result.code).toBe(0);
      expect(result.stdout.trim().split('\n')).toEqual(['1000', '1000', '1000', '1000', '1000']);
      sender.close();
    });

    it(`wait '${wait}': a thread blocked in recvSync wakes for another process`, async () => {
      const name = channelName(`rs${wait}`);
      createChannel(name, { capacity: 4096, wait });
      const receiver = openReceiver(name, { spinMicros: 0 });
      const child = runChild('send-after.mjs', [name, '150', 'sync hello']);
      const message = receiver.recvSync({ timeout: 20_000 });
      expect(Buffer.from(message!).toString()).toBe('sync hello');
      expect((await child).code).toBe(0);
      receiver.close();
    });
  }
});

describe('waiting does not block the event loop', () => {
  it('timers keep firing while recv() awaits a message from another process', async () => {
    const name = channelName('loop');
    createChannel(name, { capacity: 4096 });
    const receiver = openReceiver(name);
    let ticks = 0;
    const timer = setInterval(() => { ticks++; }, 10);
    const pending = receiver.recv({ timeout: 20_000 });
    const child = runChild('send-after.mjs', [name, '500', 'late']);
    await until(() => ticks >= 20, 15_000, 'twenty timer ticks');
    const message = await pending;
    clearInterval(timer);
    expect(Buffer.from(message!).toString()).toBe('late');
    expect(ticks).toBeGreaterThanOrEqual(20);
    expect((await child).code).toBe(0);
    receiver.close();
  });
});
