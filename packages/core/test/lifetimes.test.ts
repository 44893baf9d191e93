// Lifetimes, iteration, ending: unref()/ref(), Symbol.dispose/asyncDispose, end()'s promise,
// messages({ signal }), close() ending an iteration, MPMC channels that end with their last
// sender, the one-line inspection and NODE_DEBUG=ringwire.
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { AbortError, createChannel, openReceiver, openSender, RingwireError, stats } from '../src/index.js';
import { channelName, runChild, until } from './helpers.js';

describe('unref() and ref()', () => {
  it("an unref'd receiver's pending recv() does not keep its process alive", async () => {
    const name = channelName('unref-r');
    createChannel(name);
    const child = await runChild('lifetime.mjs', ['unref-recv', name]);
    expect(child.stdout).toBe('waiting\nexit 0\n');
    expect(child.code).toBe(0);
  });

  it("an unref'd sender waiting for room does not keep its process alive", async () => {
    const name = channelName('unref-s');
    createChannel(name, { capacity: 1024 });
    const child = await runChild('lifetime.mjs', ['unref-send', name]);
    expect(child.stdout).toBe('waiting\nexit 0\n');
  });

  it('ref() after unref() keeps the process waiting for the message', async () => {
    const name = channelName('reref');
    createChannel(name);
    const child = runChild('lifetime.mjs', ['reref-recv', name]);
    await until(() => child.output().includes('waiting'), 30_000, 'the child waiting');
    const sender = openSender(name);
    await sender.send('hello');
    sender.close();
    const result = await child;
    expect(result.stdout).toBe('waiting\ngot hello\nexit 0\n');
  });

  it('unref() and ref() return the endpoint, also while a recv() is parked', async () => {
    const name = channelName('unref-chain');
    createChannel(name);
    const receiver = openReceiver(name);
    const sender = openSender(name);
    const pending = receiver.recv();
    expect(receiver.unref()).toBe(receiver);
    expect(receiver.ref()).toBe(receiver);
    await sender.send('after');
    expect(Buffer.from((await pending)!).toString()).toBe('after');
    sender.close();
    receiver.close();
  });
});

describe('end() returns a promise', () => {
  it('await end() then close() loses nothing: 40 queued sends all arrive', async () => {
    const name = channelName('end-await');
    createChannel(name, { capacity: 1024 });
    const sender = openSender(name);
    const receiver = openReceiver(name);
    const message = new Uint8Array(100);
    const sends = Array.from({ length: 40 }, (_, i) => sender.send(message.fill(i % 251).slice()));
    const ended = sender.end();
    const got: number[] = [];
    const draining = (async () => {
      for await (const m of receiver) got.push(m[0]);
    })();
    await ended;
    sender.close();
    await Promise.all(sends);
    await draining;
    expect(got).toEqual(Array.from({ length: 40 }, (_, i) => i % 251));
    receiver.close();
  });

  it('end() without await still ends; close() before the queue drains rejects the queued sends and the awaited end()', async () => {
    const name = channelName('end-close');
    createChannel(name, { capacity: 1024 });
    const sender = openSender(name);
    const sends = Array.from({ length: 40 }, () => sender.send(new Uint8Array(100)));
    const settled = Promise.allSettled(sends);
    const ended = sender.end(); // not awaited until after close: must not be an unhandled rejection
    sender.close();
    const outcomes = await settled;
    const rejected = outcomes.filter((o) => o.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    for (const r of rejected) expect((r as PromiseRejectedResult).reason.code).toBe('ERR_RINGWIRE_CLOSED');
    await expect(ended).rejects.toMatchObject({ code: 'ERR_RINGWIRE_CLOSED' });
    expect(stats(name).ended).toBe(true);
  });

  it('end() on a closed sender, or with a claim not committed, rejects (as send() does) rather than throwing', async () => {
    const name = channelName('end-misuse');
    createChannel(name);
    const sender = openSender(name);
    expect(sender.tryClaim(8)).toBeGreaterThanOrEqual(0);
    const early = sender.end();
    expect(early).toBeInstanceOf(Promise);
    await expect(early).rejects.toMatchObject({ code: 'ERR_RINGWIRE_INVALID_ARG' });
    sender.commit();
    sender.close();
    await expect(sender.end()).rejects.toMatchObject({ code: 'ERR_RINGWIRE_CLOSED' });
  });

  it('end() called twice returns the same promise; sending after it fails', async () => {
    const name = channelName('end-twice');
    createChannel(name);
    const sender = openSender(name);
    const first = sender.end();
    expect(sender.end()).toBe(first);
    await first;
    await expect(sender.send('late')).rejects.toMatchObject({ code: 'ERR_RINGWIRE_CLOSED' });
    sender.close();
  });

  it('a queued send that times out makes the awaited end() reject with its error', async () => {
    const name = channelName('end-timeout');
    createChannel(name, { capacity: 1024 });
    const sender = openSender(name);
    while (sender.trySend(new Uint8Array(100)));
    const late = sender.send(new Uint8Array(100), { timeout: 1 });
    const ended = sender.end();
    await expect(late).rejects.toMatchObject({ code: 'ERR_RINGWIRE_TIMEOUT' });
    await expect(ended).rejects.toMatchObject({ code: 'ERR_RINGWIRE_TIMEOUT' });
    sender.close();
  });
});

describe('Symbol.dispose and Symbol.asyncDispose', () => {
  it('using closes the endpoints at the end of the block', () => {
    const name = channelName('using');
    createChannel(name);
    let kept: { isClosed: boolean }[] = [];
    {
      using sender = openSender(name);
      using receiver = openReceiver(name);
      sender.trySend('x');
      expect(receiver.tryRecv()).toBeDefined();
      kept = [sender, receiver];
      expect(kept.every((e) => !e.isClosed)).toBe(true);
    }
    expect(kept.every((e) => e.isClosed)).toBe(true);
    expect(stats(name).sender!.open).toBe(false);
  });

  it("await using a sender ends the stream and waits for what is queued, then closes", async () => {
    const name = channelName('await-using');
    createChannel(name, { capacity: 1024 });
    const receiver = openReceiver(name);
    const got: number[] = [];
    const draining = (async () => {
      for await (const m of receiver) got.push(m.length);
    })();
    let sender: { isClosed: boolean } | undefined;
    {
      await using s = openSender(name);
      sender = s;
      for (let i = 0; i < 30; i++) void s.send(new Uint8Array(90 + i));
    }
    expect(sender!.isClosed).toBe(true);
    await draining;
    expect(got).toEqual(Array.from({ length: 30 }, (_, i) => 90 + i));
    receiver.close();
  });
});

describe('iteration', () => {
  it('close() ends a pending iteration cleanly (the loop finishes)', async () => {
    const name = channelName('iter-close');
    createChannel(name);
    const receiver = openReceiver(name);
    const sender = openSender(name);
    await sender.send('one');
    const got: string[] = [];
    const loop = (async () => {
      for await (const m of receiver) {
        got.push(Buffer.from(m).toString());
        if (got.length === 1) setImmediate(() => receiver.close());
      }
      return 'finished';
    })();
    await expect(loop).resolves.toBe('finished');
    expect(got).toEqual(['one']);
    sender.close();
  });

  it('messages({ signal }) rejects with an AbortError when the signal aborts, and leaves the receiver open', async () => {
    const name = channelName('iter-abort');
    createChannel(name);
    const receiver = openReceiver(name);
    const sender = openSender(name);
    const controller = new AbortController();
    const got: string[] = [];
    const loop = (async () => {
      for await (const m of receiver.messages({ signal: controller.signal })) {
        got.push(Buffer.from(m).toString());
        controller.abort();
      }
    })();
    await sender.send('first');
    await expect(loop).rejects.toBeInstanceOf(AbortError);
    expect(got).toEqual(['first']);
    await sender.send('second');
    expect(Buffer.from((await receiver.recv())!).toString()).toBe('second');
    expect(() => receiver.messages({ timeout: 5 } as never)).toThrow(RingwireError);
    sender.close();
    receiver.close();
  });

  it('messages() ends with the stream', async () => {
    const name = channelName('iter-end');
    createChannel(name);
    const receiver = openReceiver(name, { codec: 'json' });
    const sender = openSender(name, { codec: 'json' });
    for (let i = 0; i < 5; i++) await sender.send({ i });
    await sender.end();
    const got: unknown[] = [];
    for await (const value of receiver.messages()) got.push(value);
    expect(got).toEqual([0, 1, 2, 3, 4].map((i) => ({ i })));
    sender.close();
    receiver.close();
  });
});

describe("MPMC endWhen: 'last-sender'", () => {
  it('ends when the last of several senders ends; receivers drain everything first', async () => {
    const name = channelName('last-end');
    createChannel(name, { mode: 'mpmc', capacity: 4096, endWhen: 'last-sender' });
    expect(stats(name).endWhen).toBe('last-sender');
    const receiver = openReceiver(name, { codec: 'json' });
    const senders = [0, 1, 2].map(() => openSender<{ from: number; seq: number }>(name, { codec: 'json' }));
    const got: { from: number; seq: number }[] = [];
    const draining = (async () => {
      for await (const v of receiver) got.push(v as { from: number; seq: number });
    })();
    for (const [from, s] of senders.entries()) {
      for (let seq = 0; seq < 50; seq++) await s.send({ from, seq });
      await s.end();
      // The others have not ended: the channel goes on.
      expect(stats(name).ended).toBe(from === 2);
      if (from < 2) await expect(s.send({ from, seq: -1 })).rejects.toMatchObject({ code: 'ERR_RINGWIRE_CLOSED' });
    }
    await draining;
    expect(got.length).toBe(150);
    for (let from = 0; from < 3; from++) {
      expect(got.filter((v) => v.from === from).map((v) => v.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    }
    for (const s of senders) s.close();
    receiver.close();
  });

  it("by default (endWhen 'any-sender') the first end() ends the channel for every sender", async () => {
    const name = channelName('any-end');
    createChannel(name, { mode: 'mpmc' });
    expect(stats(name).endWhen).toBe('any-sender');
    const a = openSender(name);
    const b = openSender(name);
    await a.end();
    expect(stats(name).ended).toBe(true);
    await expect(b.send('x')).rejects.toMatchObject({ code: 'ERR_RINGWIRE_CLOSED' });
    a.close();
    b.close();
  });

  it('a sender that dies counts as ended: a waiting receiver sees the end once the others have ended', async () => {
    const name = channelName('last-died');
    createChannel(name, { mode: 'mpmc', endWhen: 'last-sender' });
    const receiver = openReceiver(name);
    const ending = openSender(name);
    const holder = runChild('hold.mjs', ['sender', name, '3']);
    await until(() => holder.output().includes('ready'), 30_000, 'the holding sender');
    await ending.send('mine');
    await ending.end();
    expect(stats(name).ended).toBe(false); // the holder is alive and has not ended
    const got: string[] = [];
    const draining = (async () => {
      for await (const m of receiver) got.push(Buffer.from(m).toString());
    })();
    await until(() => got.length === 4, 30_000, 'the four messages');
    process.kill(holder.pid, 'SIGKILL');
    await holder;
    await draining; // ends: the receiver found the holder dead and no live sender left
    expect(got.sort()).toEqual(['before death 0', 'before death 1', 'before death 2', 'mine']);
    ending.close();
    receiver.close();
  });

  it('a sender closing without ending, after the others ended, ends the channel', async () => {
    const name = channelName('last-close');
    createChannel(name, { mode: 'mpmc', endWhen: 'last-sender' });
    const a = openSender(name);
    const b = openSender(name);
    await a.end();
    expect(stats(name).ended).toBe(false);
    b.close();
    expect(stats(name).ended).toBe(true);
    a.close();
  });

  it("is refused for spsc channels", () => {
    expect(() => createChannel(channelName('last-spsc'), { endWhen: 'last-sender' })).toThrow(
      expect.objectContaining({ code: 'ERR_RINGWIRE_INVALID_ARG' }));
    expect(() => createChannel(channelName('last-bad'), { mode: 'mpmc', endWhen: 'never' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_RINGWIRE_INVALID_ARG' }));
  });
});

describe('inspection and debugging', () => {
  it('util.inspect gives a one-line summary', () => {
    const name = channelName('inspect');
    createChannel(name, { mode: 'mpmc' });
    const sender = openSender(name, { codec: 'msgpack' });
    const receiver = openReceiver(name).unref();
    const lines = [inspect(sender), inspect(receiver), inspect({ sender }, { breakLength: Infinity })];
    for (const line of lines) {
      expect(line).not.toContain('\n');
      expect(line.length).toBeLessThan(200);
      expect(line).toContain(name);
    }
    expect(lines[0]).toBe(`Sender { channel: '${name}', mode: 'mpmc', state: 'open', pending: 0, codec: 'msgpack' }`);
    expect(lines[1]).toBe(`Receiver { channel: '${name}', mode: 'mpmc', state: 'open', pending: 0, unref }`);
    sender.close();
    receiver.close();
    expect(inspect(receiver)).toContain("state: 'closed'");
  });

  it('NODE_DEBUG=ringwire logs opens and closes to stderr', async () => {
    const name = channelName('debug');
    createChannel(name);
    const child = await runChild('lifetime.mjs', ['debug', name], 60_000, { NODE_DEBUG: 'ringwire' });
    expect(child.code).toBe(0);
    expect(child.stderr).toMatch(new RegExp(`RINGWIRE \\d+: sender of ${name.replace(/\./g, '\\.')} opened`));
    expect(child.stderr).toMatch(/RINGWIRE \d+: receiver of .* closed/);
    const quiet = await runChild('lifetime.mjs', ['debug', name], 60_000, { NODE_DEBUG: '' });
    expect(quiet.stderr).toBe('');
  });
});
