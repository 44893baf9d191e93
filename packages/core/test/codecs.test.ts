// Codecs: openSender/openReceiver({ codec }) send and receive values; ringwire/pool uses the same.
import { unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { createChannel, openReceiver, openSender, RingwireError, type Codec } from '../src/index.js';
import { createTaskChannels, TaskClient, unlinkTaskChannels } from '../src/pool.js';
import { channelName, freshName, runChild } from './helpers.js';

const values = [{ a: 1, b: [true, 'two', 3.5] }, 'text', 42, [], { nested: { deep: ['x'] } }];

describe('codecs on channels', () => {
  for (const mode of ['spsc', 'mpmc'] as const) {
    for (const codec of ['json', 'v8', 'msgpack'] as const) {
      it(`${codec} (${mode}): values go through send/recv, trySend/tryRecv, trySendMany, sendSync/recvSync`, async () => {
        const name = channelName(`${codec}-${mode}`);
        createChannel(name, { mode });
        const sender = openSender<unknown>(name, { codec });
        const receiver = openReceiver<unknown>(name, { codec });
        for (const v of values) await sender.send(v);
        for (const v of values) expect(await receiver.recv()).toEqual(v);
        for (const v of values) expect(sender.trySend(v)).toBe(true);
        for (const v of values) expect(receiver.tryRecv()).toEqual(v);
        expect(sender.trySendMany(values)).toBe(values.length);
        for (const v of values) expect(receiver.recvSync()).toEqual(v);
        sender.sendSync(values[0]);
        expect(receiver.recvSync({ timeout: 1000 })).toEqual(values[0]);
        sender.close();
        receiver.close();
      });
    }
  }

  it('v8 carries what JSON cannot: Maps, Dates, BigInts, typed arrays', async () => {
    const name = channelName('v8-rich');
    createChannel(name);
    const sender = openSender(name, { codec: 'v8' });
    const receiver = openReceiver(name, { codec: 'v8' });
    const value = { m: new Map([[1, 'one']]), d: new Date(5), n: 2n ** 70n, u: new Uint16Array([1, 65535]) };
    await sender.send(value);
    expect(await receiver.recv()).toEqual(value);
    sender.close();
    receiver.close();
  });

  it('msgpack is standard MessagePack: another decoder reads what the sender wrote', async () => {
    const name = channelName('msgpack-std');
    createChannel(name);
    const sender = openSender(name, { codec: 'msgpack' });
    const raw = openReceiver(name);
    await sender.send({ id: 7, tags: ['a', 'b'] });
    const bytes = (await raw.recv())!;
    // Plain MessagePack, no msgpackr record extension: map16 of 2 { fixstr "id": 7, fixstr
    // "tags": fixarray [fixstr "a", fixstr "b"] }, byte for byte.
    expect(Buffer.from(bytes).toString('hex')).toBe('de0002a2696407a474616773' + '92a161a162');
    expect(unpack(bytes)).toEqual({ id: 7, tags: ['a', 'b'] });
    sender.close();
    raw.close();
  });

  it('a custom codec, typed', async () => {
    const name = channelName('custom');
    createChannel(name);
    interface Point { x: number; y: number }
    const points: Codec<Point> = {
      encode: (p) => new Uint8Array(new Float64Array([p.x, p.y]).buffer),
      decode: (bytes) => {
        const f = new Float64Array(bytes.slice().buffer);
        return { x: f[0], y: f[1] };
      },
    };
    const sender = openSender(name, { codec: points });
    const receiver = openReceiver(name, { codec: points });
    await sender.send({ x: 1.5, y: -2 });
    const p: Point | null = await receiver.recv();
    expect(p).toEqual({ x: 1.5, y: -2 });
    sender.close();
    receiver.close();
  });

  it('a message that does not decode rejects with ERR_RINGWIRE_DECODE; the next one is fine', async () => {
    const name = channelName('decode-err');
    createChannel(name);
    const raw = openSender(name);
    const receiver = openReceiver(name, { codec: 'json' });
    await raw.send('{not json');
    await raw.send('{"ok":true}');
    await expect(receiver.recv()).rejects.toMatchObject({ code: 'ERR_RINGWIRE_DECODE' });
    expect(await receiver.recv()).toEqual({ ok: true });
    // Also for a recv() that was waiting when the message came.
    const waiting = receiver.recv();
    await raw.send('\u0000');
    await expect(waiting).rejects.toBeInstanceOf(RingwireError);
    raw.close();
    receiver.close();
  });

  it('null is refused both ways (recv() keeps null for the end of the stream); encode failures are coded', async () => {
    const name = channelName('nulls');
    createChannel(name);
    const sender = openSender(name, { codec: 'json' });
    const receiver = openReceiver(name, { codec: 'json' });
    await expect(sender.send(null)).rejects.toMatchObject({ code: 'ERR_RINGWIRE_INVALID_ARG' });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(sender.send(cyclic)).rejects.toMatchObject({ code: 'ERR_RINGWIRE_INVALID_ARG' });
    expect(() => sender.trySend(undefined)).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_INVALID_ARG' }));
    sender.close();
    const bytes = openSender(name);
    await bytes.send('null');
    await expect(receiver.recv()).rejects.toMatchObject({ code: 'ERR_RINGWIRE_DECODE' });
    bytes.close();
    receiver.close();
  });

  it('undefined is refused both ways too (tryRecv() keeps it for "none now")', async () => {
    const name = channelName('undef');
    createChannel(name);
    const sender = openSender(name, { codec: 'msgpack' });
    expect(() => sender.trySend(undefined)).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_INVALID_ARG' }));
    await expect(sender.send(undefined)).rejects.toMatchObject({ code: 'ERR_RINGWIRE_INVALID_ARG' });
    const nothing: Codec<unknown> = { encode: () => 'x', decode: () => undefined };
    const receiver = openReceiver(name, { codec: nothing });
    await sender.send(1);
    expect(() => receiver.tryRecv()).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_DECODE' }));
    expect(receiver.tryRecv()).toBeUndefined(); // it was taken; nothing else is there
    sender.close();
    receiver.close();
  });

  it('a bad codec option fails before anything opens', () => {
    const name = channelName('bad-codec');
    createChannel(name);
    for (const codec of ['yaml', 7, { encode: () => '' }, null]) {
      expect(() => openSender(name, { codec } as never)).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_INVALID_ARG' }));
    }
    // The sender role is still free.
    openSender(name).close();
  });
});

describe('ringwire/pool uses the same codecs', () => {
  it("msgpack between a TaskClient and a pool in another process", async () => {
    const name = freshName('pool-mp');
    createTaskChannels(name);
    try {
      const host = runChild('pool-host.mjs', [name, '1', 'default', 'msgpack'], 60_000);
      const client = new TaskClient(name, { codec: 'msgpack' });
      const sums = await Promise.all(Array.from({ length: 50 }, (_, i) => client.run({ op: 'add', a: i, b: 1 })));
      expect(sums).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(await client.run({ op: 'echo', v: null })).toEqual({ op: 'echo', v: null });
      await client.drain();
      client.close();
      expect((await host).code).toBe(0);
    } finally {
      unlinkTaskChannels(name);
    }
  });

  it('a custom codec: the client has it, the worker file gives serveTasks its own', async () => {
    const name = freshName('pool-cu');
    createTaskChannels(name);
    try {
      const host = runChild('pool-host.mjs', [name, '1', 'upperCustom', 'json'], 60_000);
      const reversed: Codec<string> = {
        encode: (value) => [...value].reverse().join(''),
        decode: (bytes) => [...Buffer.from(bytes).toString()].reverse().join(''),
      };
      const client = new TaskClient(name, { codec: reversed });
      expect(await client.run('hello')).toBe('HELLO');
      await client.drain();
      client.close();
      expect((await host).code).toBe(0);
    } finally {
      unlinkTaskChannels(name);
    }
  });

  it('a result the client cannot decode (the pool uses another codec) fails that task with ERR_RINGWIRE_DECODE; the client goes on', async () => {
    const name = freshName('pool-mm');
    createTaskChannels(name);
    try {
      const host = runChild('pool-host.mjs', [name, '1', 'default', 'msgpack'], 60_000);
      const client = new TaskClient(name); // json: the pool's msgpack results are not its own
      await expect(client.run({ op: 'add', a: 1, b: 2 })).rejects.toMatchObject({ code: 'ERR_RINGWIRE_DECODE' });
      await expect(client.run({ op: 'add', a: 3, b: 4 })).rejects.toMatchObject({ code: 'ERR_RINGWIRE_DECODE' });
      await client.drain();
      client.close();
      expect((await host).code).toBe(0);
    } finally {
      unlinkTaskChannels(name);
    }
  });

  it('servePool refuses a codec object (it cannot reach worker threads) and a TaskClient an unknown codec', async () => {
    const { servePool } = await import('../src/pool.js');
    await expect(servePool({ run: async () => ({}) } as never, 'x', { codec: { encode: () => '', decode: () => 0 } } as never))
      .rejects.toMatchObject({ code: 'ERR_RINGWIRE_INVALID_ARG' });
    expect(() => new TaskClient('x', { codec: 'yaml' as never })).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_INVALID_ARG' }));
  });
});
