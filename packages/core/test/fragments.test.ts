// Messages larger than the ring (layout.h, "Fragments"): SPSC and broadcast write them in
// fragments that receivers put back together; receivers only ever see whole messages.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, writeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createChannel, openReceiver, openSender, stats, type Receiver, type Sender } from '../src/index.js';
import { layout } from '../src/internal.js';
import { channelName, fixture, runChild, until } from './helpers.js';
import { bigMessage, sha256 } from './fixtures/big-rule.mjs';

const code = (value: string) => expect.objectContaining({ code: value });
const RING = 64 * 1024;
/** What one record carries on a 64 KiB ring, and what one data fragment does. */
const MAX_RECORD = RING - layout.RECORD_HEADER_SIZE;
const FRAGMENT = RING / 4 - layout.RECORD_HEADER_SIZE;

/** Every message length whose fragments end at, just before or just after a boundary. */
const BOUNDARY_SIZES = [
  MAX_RECORD - 1, MAX_RECORD, MAX_RECORD + 1, RING,
  ...[4, 5, 8, 9].flatMap((k) => [k * FRAGMENT - 1, k * FRAGMENT, k * FRAGMENT + 1]),
  2 * RING - 1, 2 * RING, 2 * RING + 1, 1 << 20,
];

function channel(mode: 'spsc' | 'broadcast', tag: string, options: { capacity?: number; maxMessageSize?: number; overflow?: 'drop' } = {}) {
  const name = channelName(tag);
  createChannel(name, { mode, capacity: RING, ...options });
  const receiver = openReceiver(name);
  const sender = openSender(name);
  return { name, sender, receiver };
}

/** Sends each message and receives it in the same process (the sender waits as the receiver frees room). */
async function roundTrip(sender: Sender, receiver: Receiver, messages: Uint8Array[]): Promise<Uint8Array[]> {
  const sending = (async () => {
    for (const message of messages) await sender.send(message, { timeout: 30_000 });
  })();
  const got: Uint8Array[] = [];
  for (let i = 0; i < messages.length; i++) got.push((await receiver.recv({ timeout: 30_000 }))!);
  await sending;
  return got;
}

describe.each(['spsc', 'broadcast'] as const)('messages larger than the ring on %s channels', (mode) => {
  it('every size around a fragment boundary arrives whole, between small messages that move the ring offset', async () => {
    const { name, sender, receiver } = channel(mode, 'bounds');
    const messages = BOUNDARY_SIZES.flatMap((size, i) => [bigMessage(i, size), bigMessage(1000 + i, (i * 37) % 300)]);
    const got = await roundTrip(sender, receiver, messages);
    for (let i = 0; i < messages.length; i++) {
      expect(got[i].length, `message ${i}`).toBe(messages[i].length);
      expect(sha256(got[i]), `message ${i}`).toBe(sha256(messages[i]));
    }
    // Counted once each, fragments or not.
    expect(stats(name)).toMatchObject({ messagesSent: messages.length, messagesReceived: messages.length });
    sender.close();
    receiver.close();
  });

  it('strings larger than the ring go as their UTF-8 bytes', async () => {
    const { sender, receiver } = channel(mode, 'string');
    const text = 'ringwire ✓ '.repeat(20_000);
    const [got] = await roundTrip(sender, receiver, [text as unknown as Uint8Array]);
    expect(Buffer.from(got).toString('utf8')).toBe(text);
    sender.close();
    receiver.close();
  });

  it('every receive API hands over the message whole: tryRecv, tryRecvInto, poll, recvSync, iteration', async () => {
    const { sender, receiver } = channel(mode, 'apis');
    const big = (i: number) => bigMessage(i, 3 * RING + 5);
    const sending = sender.send(big(0));
    // Nothing is handed out until the last fragment is in: tryRecv takes fragments as they come.
    await until(() => {
      const message = receiver.tryRecv();
      if (message === undefined) return false;
      expect(sha256(message)).toBe(sha256(big(0)));
      return true;
    }, 30_000, 'the first message');
    await sending;

    const target = new Uint8Array(4 * RING);
    const second = sender.send(big(1));
    let length = -1;
    await until(() => {
      // Too small a target: ERR_RINGWIRE_TOO_LARGE once the message is whole, and it stays.
      try {
        receiver.tryRecvInto(new Uint8Array(100));
      } catch (error) {
        expect(error).toMatchObject({ code: 'ERR_RINGWIRE_TOO_LARGE', length: 3 * RING + 5 });
        length = receiver.tryRecvInto(target, 7);
        return true;
      }
      return false;
    }, 30_000, 'the second message');
    await second;
    expect(length).toBe(3 * RING + 5);
    expect(sha256(target.subarray(7, 7 + length))).toBe(sha256(big(1)));

    const third = sender.send(big(2));
    let polled = '';
    await until(() => receiver.poll((bytes, offset, n) => { polled = sha256(bytes.subarray(offset, offset + n)); }) === 1,
      30_000, 'the third message');
    await third;
    expect(polled).toBe(sha256(big(2)));

    const fourth = sender.send(big(3));
    const whole = await receiver.recv({ timeout: 30_000 });
    await fourth;
    expect(sha256(whole!)).toBe(sha256(big(3)));

    void sender.send(big(4)).then(() => sender.end());
    const rest: string[] = [];
    for await (const message of receiver) rest.push(sha256(message));
    expect(rest).toEqual([sha256(big(4))]);
    sender.close();
    receiver.close();
  });

  it('recvInto takes a stream of large messages of changing sizes into one buffer, each whole', async () => {
    const { sender, receiver } = channel(mode, 'rinto');
    const sizes = [5 * RING, 2 * RING + 1, 5 * RING, 9 * RING + 7, 3, 4 * RING];
    const target = new Uint8Array(10 * RING);
    const sending = (async () => {
      for (const [i, size] of sizes.entries()) await sender.send(bigMessage(i, size));
      await sender.end();
    })();
    const got: string[] = [];
    for (let length = await receiver.recvInto(target); length !== null; length = await receiver.recvInto(target)) {
      got.push(`${length} ${sha256(target.subarray(0, length))}`);
    }
    await sending;
    expect(got).toEqual(sizes.map((size, i) => `${size} ${sha256(bigMessage(i, size))}`));
    sender.close();
    receiver.close();
  });

  it("maxMessageSize bounds messages; trySend, trySendMany and tryClaim take one record and say to use send()", async () => {
    const { name, sender, receiver } = channel(mode, 'limit', { maxMessageSize: 200_000 });
    expect(stats(name)).toMatchObject({ maxMessage: 200_000, maxRecord: MAX_RECORD });
    expect(sender.maxMessageBytes).toBe(200_000);
    await expect(sender.send(new Uint8Array(200_001))).rejects.toMatchObject({ code: 'ERR_RINGWIRE_TOO_LARGE' });
    expect(() => sender.sendSync(new Uint8Array(200_001))).toThrow(code('ERR_RINGWIRE_TOO_LARGE'));
    for (const attempt of [() => sender.trySend(new Uint8Array(MAX_RECORD + 1)),
      () => sender.trySendMany([new Uint8Array(MAX_RECORD + 1)]), () => sender.tryClaim(MAX_RECORD + 1)]) {
      expect(attempt).toThrow(code('ERR_RINGWIRE_TOO_LARGE'));
      expect(attempt).toThrow(/send\(\) or sendSync\(\)/);
    }
    // A batch stops before a message it cannot write at once, after the ones it could.
    expect(sender.trySendMany([new Uint8Array(3), new Uint8Array(MAX_RECORD + 1)])).toBe(1);
    expect(receiver.tryRecv()).toHaveLength(3);
    const [got] = await roundTrip(sender, receiver, [bigMessage(5, 200_000)]);
    expect(sha256(got)).toBe(sha256(bigMessage(5, 200_000)));
    sender.close();
    receiver.close();
  });

  it('a send that times out or is aborted mid-message leaves no part of it to receivers; the next message arrives whole', async () => {
    const { name, sender, receiver } = channel(mode, 'giveup');
    const big = bigMessage(1, 5 * RING);
    // Nobody reads: the sender writes the start and what fits, then gives up.
    await expect(sender.send(big, { timeout: 50 })).rejects.toMatchObject({ code: 'ERR_RINGWIRE_TIMEOUT' });
    expect(receiver.tryRecv()).toBeUndefined(); // takes the fragments there: not a message
    const controller = new AbortController();
    const aborted = sender.send(big, { signal: controller.signal });
    await until(() => stats(name).bytesUsed > RING / 2, 10_000, 'part of the message written');
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    expect(receiver.tryRecv()).toBeUndefined();
    expect(() => sender.sendSync(big, { timeout: 20 })).toThrow(code('ERR_RINGWIRE_TIMEOUT'));
    // The same bytes again start afresh (a new start record), and arrive once, whole.
    const got = await roundTrip(sender, receiver, [big, bigMessage(2, 10)]);
    expect(got.map(sha256)).toEqual([sha256(big), sha256(bigMessage(2, 10))]);
    expect(receiver.tryRecv()).toBeUndefined();
    expect(stats(name).messagesSent).toBe(2);
    sender.close();
    receiver.close();
  });

  it('a sender that closes or ends mid-message leaves nothing torn: the stream ends after the messages before it', async () => {
    const { sender, receiver } = channel(mode, 'closemid');
    sender.trySend('before');
    const sending = sender.send(bigMessage(1, 5 * RING));
    sender.close();
    await expect(sending).rejects.toMatchObject({ code: 'ERR_RINGWIRE_CLOSED' });
    expect(Buffer.from((await receiver.recv())!).toString()).toBe('before');
    expect(receiver.tryRecv()).toBeUndefined();
    const next = openSender(receiver.name);
    void next.send(bigMessage(3, 2 * RING)).then(() => next.end());
    const rest: string[] = [];
    for await (const message of receiver) rest.push(sha256(message));
    expect(rest).toEqual([sha256(bigMessage(3, 2 * RING))]);
    next.close();
    receiver.close();
  });

  it('256 MiB through a 64 KiB ring between processes, checksummed', async () => {
    const name = channelName('256m');
    createChannel(name, { mode, capacity: RING });
    const receiver = openReceiver(name);
    const sizes = [256 << 20, 17, 3 * RING + 1];
    const child = runChild('big-send.mjs', [name, sizes.join(','), '1'], 120_000);
    const got: string[] = [];
    for await (const message of receiver) got.push(`${message.length} ${sha256(message)}`);
    const result = await child;
    expect(result.code, result.stderr).toBe(0);
    expect(got).toEqual(result.stdout.trim().split('\n').map((line) => line.split(' ').slice(2).join(' ')));
    expect(got.map((line) => Number(line.split(' ')[0]))).toEqual(sizes);
    receiver.close();
  });

  it('sendSync writes fragments as a receiver in another process frees room', async () => {
    const name = channelName('sync');
    createChannel(name, { mode, capacity: RING });
    const receiver = spawn(process.execPath, [fixture('big-recv.mjs'), name], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    receiver.stdout.on('data', (chunk) => { out += chunk; });
    await until(() => out.includes('ready'), 30_000, 'the receiver');
    const sender = openSender(name);
    const sizes = [4 * RING + 3, 10, 8 << 20];
    for (const [i, size] of sizes.entries()) sender.sendSync(bigMessage(i, size), { timeout: 60_000 });
    await sender.end();
    sender.close();
    await once(receiver, 'close');
    expect(out.trim().split('\n').slice(1)).toEqual([
      ...sizes.map((size, i) => `got ${size} ${sha256(bigMessage(i, size))}`), 'ended',
    ]);
  });

  it('kill -9 of the sender mid-message: the part is dropped, PEER_DEAD, and a new sender\'s messages arrive whole', async () => {
    const name = channelName('killsend');
    createChannel(name, { mode, capacity: RING });
    const receiver = openReceiver(name);
    const child = runChild('big-send.mjs', [name, String(64 << 20), '0'], 60_000);
    // Parked: the ring is full of the start of a message it will never finish.
    await until(() => stats(name).sendersWaiting === 1, 30_000, 'the sender to fill the ring and park');
    process.kill(child.pid, 'SIGKILL');
    expect((await child).signal).toBe('SIGKILL');
    await expect(receiver.recv({ timeout: 30_000 })).rejects.toMatchObject({ code: 'ERR_RINGWIRE_PEER_DEAD' });
    const sender = openSender(name);
    const messages = [bigMessage(7, 3 * RING), bigMessage(8, 100)];
    const got = await roundTrip(sender, receiver, messages);
    expect(got.map(sha256)).toEqual(messages.map(sha256));
    sender.close();
    receiver.close();
  });

  it('kill -9 of a receiver mid-message: the sender goes on; the next receiver never sees part of a message', async () => {
    const name = channelName('killrecv');
    createChannel(name, { mode, capacity: RING });
    const child = spawn(process.execPath, [fixture('big-recv.mjs'), name], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = once(child, 'exit');
    await once(child.stdout, 'data'); // "ready"
    const sender = openSender(name);
    const sending = sender.send(bigMessage(1, 8 << 20));
    // This thread does not yield, so the sender writes no more: the receiver can take at most
    // the ring's worth of the message before it is killed, mid-message.
    const deadline = performance.now() + 30_000;
    while (stats(name).bytesUsed >= RING - 64) if (performance.now() > deadline) throw new Error('the receiver took nothing');
    child.kill('SIGKILL');
    await exited;
    if (mode === 'spsc') {
      // Its one receiver is gone: the send fails (and its message is given up).
      await expect(sending).rejects.toMatchObject({ code: 'ERR_RINGWIRE_PEER_DEAD' });
    } else {
      // A dead receiver never holds a broadcast sender back.
      await sending;
    }
    const receiver = openReceiver(name);
    const messages = [bigMessage(2, 2 * RING + 9), bigMessage(3, 5)];
    const got = await roundTrip(sender, receiver, messages);
    expect(got.map(sha256)).toEqual(messages.map(sha256));
    expect(receiver.tryRecv()).toBeUndefined();
    sender.close();
    receiver.close();
  });
});

describe('fragments on broadcast channels', () => {
  it('every receiver gets the large message whole; one joining mid-message starts with the next and counts nothing lost', async () => {
    const name = channelName('bjoin');
    createChannel(name, { mode: 'broadcast', capacity: RING, overflow: 'drop' });
    const early = openReceiver(name);
    const sender = openSender(name);
    const big = bigMessage(1, 3 * RING);
    // 'drop': the sender never waits, so a receiver that does not keep up loses the message.
    expect(sender.trySend('first')).toBe(true);
    const sending = sender.send(big);
    await sending;
    const late = openReceiver(name, { from: 'oldest' }); // the oldest intact record is mid-message
    sender.trySend('after');
    sender.flush();
    // The early receiver was lapped while the message was written: 'first' and the large
    // message are lost, whole, never torn.
    expect(Buffer.from(early.tryRecv()!).toString()).toBe('after');
    expect(early.lost).toBe(2);
    expect(Buffer.from(late.tryRecv()!).toString()).toBe('after');
    expect(late.lost).toBe(0);
    early.close();
    late.close();
    sender.close();
  });

  it("'block': two receivers take a message of many rings whole, at the pace of the slower", async () => {
    const name = channelName('bblock');
    createChannel(name, { mode: 'broadcast', capacity: RING });
    const a = openReceiver(name);
    const b = openReceiver(name);
    const sender = openSender(name);
    const big = bigMessage(4, 20 * RING + 3);
    const sending = sender.send(big, { timeout: 30_000 });
    const [x, y] = await Promise.all([a.recv({ timeout: 30_000 }), b.recv({ timeout: 30_000 })]);
    await sending;
    expect(sha256(x!)).toBe(sha256(big));
    expect(sha256(y!)).toBe(sha256(big));
    a.close();
    b.close();
    sender.close();
  });
});

describe('MPMC carries no fragments', () => {
  it('maxMessageSize above the record limit is refused with the reason; a larger message is ERR_RINGWIRE_TOO_LARGE', async () => {
    expect(() => createChannel(channelName('mbig'), { mode: 'mpmc', capacity: RING, maxMessageSize: RING }))
      .toThrow(/MPMC carries no fragments/);
    const name = channelName('mpmc');
    createChannel(name, { mode: 'mpmc', capacity: RING });
    expect(stats(name)).toMatchObject({ maxMessage: MAX_RECORD, maxRecord: MAX_RECORD });
    const sender = openSender(name);
    await expect(sender.send(new Uint8Array(MAX_RECORD + 1))).rejects.toMatchObject({ code: 'ERR_RINGWIRE_TOO_LARGE' });
    sender.close();
  });
});

describe('maxMessageSize is checked at creation', () => {
  it.each([0, -1, 1.5, 2 ** 32, layout.MAX_MESSAGE_SIZE_LIMIT + 1, '1m'])('%s: ERR_RINGWIRE_INVALID_ARG', (value) => {
    expect(() => createChannel(channelName('bad'), { maxMessageSize: value as number })).toThrow(code('ERR_RINGWIRE_INVALID_ARG'));
  });

  it('the default is 1 GiB; the largest is 4 GiB − 8 (a uint32 length; a Node 20 Buffer holds at most 4 GiB)', () => {
    const name = channelName('dflt');
    createChannel(name);
    expect(stats(name).maxMessage).toBe(2 ** 30);
    const largest = channelName('lrg');
    createChannel(largest, { maxMessageSize: layout.MAX_MESSAGE_SIZE_LIMIT });
    expect(stats(largest).maxMessage).toBe(2 ** 32 - 8);
  });
});

describe('fragments written by a hostile or broken peer', () => {
  const F = layout.FRAGMENT >>> 0;
  const FIRST = layout.FRAGMENT_FIRST;
  const LAST = layout.FRAGMENT_LAST;
  const START = (F | FIRST | layout.FRAGMENT_START_BYTES) >>> 0;
  type Forged = [word0: number, payload: Uint8Array | number];

  /**
   * An SPSC channel (4 KiB, maxMessageSize 1000) whose ring holds `records`, written into the
   * segment file as a peer would and published; returns its receiver.
   */
  function forged(records: Forged[]): Receiver {
    const name = channelName('forge');
    createChannel(name, { capacity: 4096, maxMessageSize: 1000 });
    const receiver = openReceiver(name);
    const fd = openSync(`/dev/shm/rw.${name}`, 'r+');
    let position = 0;
    for (const [word0, payload] of records) {
      const body = typeof payload === 'number' ? Buffer.alloc(8) : Buffer.from(payload);
      if (typeof payload === 'number') body.writeUInt32LE(payload, 0);
      const record = Buffer.alloc((8 + body.length + 7) & ~7);
      record.writeUInt32LE(word0 >>> 0, 0);
      body.copy(record, 8);
      writeSync(fd, record, 0, record.length, layout.HEADER_SIZE + position);
      position += record.length;
    }
    const word = Buffer.alloc(4);
    word.writeUInt32LE(position);
    writeSync(fd, word, 0, 4, layout.OFF_PRODUCER_POSITION);
    closeSync(fd);
    return receiver;
  }
  const bytes = (text: string) => new TextEncoder().encode(text);
  const text = (message: Uint8Array | undefined) => (message === undefined ? undefined : Buffer.from(message).toString());

  it.each<[string, Forged[]]>([
    ['a start record naming more than maxMessageSize', [[START, 1001]]],
    ['a start record naming 0 bytes', [[START, 0]]],
    ['a start record that is also a last one', [[(START | LAST) >>> 0, 10]]],
    ['a start record of the wrong length', [[(F | FIRST | 16) >>> 0, new Uint8Array(16)]]],
    ['a data record longer than what the total leaves', [[START, 5], [(F | 10) >>> 0, new Uint8Array(10)]]],
    ['a last record that does not complete the message', [[START, 20], [(F | LAST | 10) >>> 0, new Uint8Array(10)]]],
    ['a data record that completes it without being the last', [[START, 20], [(F | 20) >>> 0, new Uint8Array(20)]]],
    ['a fragment longer than the ring', [[START, 900], [(F | LAST | 5000) >>> 0, new Uint8Array(8)]]],
  ])('%s: ERR_RINGWIRE_CORRUPT, never a message', (_, records) => {
    const receiver = forged(records);
    expect(() => receiver.tryRecv()).toThrow(code('ERR_RINGWIRE_CORRUPT'));
    receiver.close();
  });

  it('the rest of a message begun before (no start record) is skipped; a whole record drops a message begun', () => {
    const receiver = forged([
      [(F | 10) >>> 0, bytes('orphan-one')], [(F | LAST | 3) >>> 0, bytes('end')], [2, bytes('ok')],
      [START, 10], [(F | 4) >>> 0, bytes('part')], [1, bytes('x')],
      [START, 6], [(F | 3) >>> 0, bytes('abc')], [(F | LAST | 3) >>> 0, bytes('def')],
    ]);
    expect([text(receiver.tryRecv()), text(receiver.tryRecv()), text(receiver.tryRecv()), receiver.tryRecv()])
      .toEqual(['ok', 'x', 'abcdef', undefined]);
    receiver.close();
  });
});
