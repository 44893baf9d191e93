// Broadcast channels: every receiver gets every message sent while it is joined, in order,
// once; 'block' waits for the slowest live receiver, 'drop' never waits and counts what a
// lapped receiver missed; dead receivers never hold the sender back; a lag limit cuts off a
// stalled one. (The API contract shared with the other modes is in api.test.ts.)
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { createChannel, gc, openReceiver, openSender, stats, type Receiver } from '../src/index.js';
import { layout, native } from '../src/internal.js';
import { BroadcastReceiverProtocol } from '../src/ring/broadcast.js';
import { channelName, runChild, until } from './helpers.js';
import { check, message } from './fixtures/bcast-rule.mjs';

const ready = (child: { output(): string }, word = 'ready') => until(() => child.output().includes(`${word}\n`), 30_000, word);
const result = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!) as
  { received: number; lost: number; gaps: number; last: number; errors: string[] };
const code = (value: string) => expect.objectContaining({ code: value });

/** Drains what a receiver has now, checking each message; returns their indices. */
function drain(receiver: Receiver): number[] {
  const seen: number[] = [];
  let m: Uint8Array | undefined;
  while ((m = receiver.tryRecv()) !== undefined) seen.push(check(m));
  return seen;
}

/**
 * Opens a receiver (from 'next') that runs `between` after it has taken its slot and before
 * it joins (the constructor's two steps), as a sender racing the join would.
 */
function openReceiverJoiningAfter(name: string, between: () => void): Receiver {
  const proto = BroadcastReceiverProtocol.prototype as unknown as { join: (...args: unknown[]) => number };
  const join = proto.join;
  proto.join = function (this: unknown, ...args: unknown[]) {
    between();
    return join.apply(this, args);
  };
  try {
    return openReceiver(name);
  } finally {
    proto.join = join;
  }
}

describe('broadcast: every receiver gets every message', () => {
  it('four receiver processes and one in a worker thread each get all 20000 messages, whole and in order', async () => {
    const name = channelName('fan');
    createChannel(name, { mode: 'broadcast', capacity: 1 << 16 });
    const children = [0, 1, 2, 3].map(() => runChild('bcast-recv.mjs', [name, 'next'], 120_000));
    await Promise.all(children.map((child) => ready(child)));
    const worker = new Worker(`
      const { workerData, parentPort } = require('node:worker_threads');
      import(workerData.dist).then(async ({ openReceiver }) => {
        const { check } = await import(workerData.rule);
        const receiver = openReceiver(workerData.name);
        parentPort.postMessage('ready');
        let received = 0, ordered = true;
        for await (const m of receiver) { if (check(m) !== received) ordered = false; received++; }
        receiver.close();
        parentPort.postMessage({ received, ordered });
      });`, { eval: true, workerData: {
      name, dist: new URL('../dist/index.js', import.meta.url).href, rule: new URL('./fixtures/bcast-rule.mjs', import.meta.url).href,
    } });
    const fromWorker = new Promise<{ received: number; ordered: boolean }>((resolve, reject) => {
      worker.on('message', (m) => { if (m !== 'ready') resolve(m); });
      worker.on('error', reject);
    });
    const joined = new Promise((resolve) => worker.once('message', resolve));
    await joined;
    const sender = openSender(name);
    const N = 20_000;
    for (let i = 0; i < N; i++) {
      const m = message(i);
      if (!sender.trySend(m)) await sender.send(m);
    }
    await sender.end();
    sender.close();
    for (const child of children) {
      const { code: exit, stdout } = await child;
      expect(exit).toBe(0);
      expect(result(stdout)).toEqual({ received: N, lost: 0, gaps: 0, last: N - 1, errors: [] });
    }
    expect(await fromWorker).toEqual({ received: N, ordered: true });
    await worker.terminate();
    expect(stats(name)).toMatchObject({ mode: 'broadcast', overflow: 'block', messagesSent: N, ended: true });
  });

  it('48 receivers, as many as the slot table holds, each get every message; a 49th is ERR_RINGWIRE_BUSY', () => {
    const name = channelName('many');
    createChannel(name, { mode: 'broadcast', capacity: 1 << 20 });
    const receivers = Array.from({ length: layout.MAX_SLOTS }, () => openReceiver(name));
    expect(layout.MAX_SLOTS).toBeGreaterThanOrEqual(48);
    expect(() => openReceiver(name)).toThrow(code('ERR_RINGWIRE_BUSY'));
    const sender = openSender(name);
    for (let i = 0; i < 100; i++) expect(sender.trySend(message(i))).toBe(true);
    sender.flush();
    for (const receiver of receivers) expect(drain(receiver)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    const s = stats(name);
    expect(s.receivers).toHaveLength(layout.MAX_SLOTS);
    expect(s.receivers.every((r) => r.messages === 100 && r.lag === 0 && r.lost === 0 && !r.cutOff)).toBe(true);
    expect(s.messagesReceived).toBe(100 * layout.MAX_SLOTS);
    sender.close();
    for (const receiver of receivers) receiver.close();
  });

  it('receivers join and leave at any time: from next, what is sent after; from oldest, what is still in the ring', () => {
    const name = channelName('join');
    createChannel(name, { mode: 'broadcast', capacity: 4096 });
    const sender = openSender(name);
    for (let i = 0; i < 3; i++) sender.trySend(message(i)); // nobody joined: nobody waits
    sender.flush();
    const next = openReceiver(name);
    const oldest = openReceiver(name, { from: 'oldest' });
    expect(drain(next)).toEqual([]);
    expect(drain(oldest)).toEqual([0, 1, 2]);
    for (let i = 3; i < 6; i++) sender.trySend(message(i));
    sender.flush();
    expect(drain(next)).toEqual([3, 4, 5]);
    next.close(); // leaves; the others go on
    for (let i = 6; i < 8; i++) sender.trySend(message(i));
    sender.flush();
    expect(drain(oldest)).toEqual([3, 4, 5, 6, 7]);
    const late = openReceiver(name, { from: 'oldest' });
    expect(drain(late)[0]).toBe(0); // nothing was overwritten yet: the ring still holds message 0
    late.close();
    oldest.close();
    sender.close();
  });

  for (const overflow of ['block', 'drop'] as const) {
    it(`'${overflow}', from 'next': a receiver stats() lists gets what is sent from then on, even before its join settles`, () => {
      const name = channelName('joinrace');
      createChannel(name, { mode: 'broadcast', capacity: 4096, overflow });
      const sender = openSender(name);
      for (let i = 0; i < 3; i++) sender.trySend(message(i)); // nobody joined: nobody waits
      sender.flush();
      // The constructor takes the slot (it counts from then: stats() lists it, a 'block'
      // sender waits for it), then joins: send in between, as a publisher that waited for its
      // receivers to show up would.
      let listed = 0;
      const receiver = openReceiverJoiningAfter(name, () => {
        listed = stats(name).receivers.length;
        for (let i = 3; i < 5; i++) expect(sender.trySend(message(i))).toBe(true);
        sender.flush();
      });
      expect(listed).toBe(1);
      sender.trySend(message(5));
      sender.flush();
      expect(drain(receiver)).toEqual([3, 4, 5]);
      expect(receiver.lost).toBe(0);
      receiver.close();
      sender.close();
    });
  }

  it("'drop', from 'next': a receiver lapped at its slot's first cursor before its join settles starts at the oldest message still there", () => {
    const name = channelName('joinlap');
    createChannel(name, { mode: 'broadcast', capacity: 4096, overflow: 'drop' });
    const sender = openSender(name);
    sender.trySend(message(0));
    sender.flush();
    const receiver = openReceiverJoiningAfter(name, () => {
      for (let i = 1; i < 400; i++) sender.trySend(message(i)); // more than a ring past its first cursor
      sender.flush();
    });
    const oldest = openReceiver(name, { from: 'oldest' });
    const first = drain(oldest)[0]!;
    oldest.close();
    expect(first).toBeGreaterThan(0);
    expect(drain(receiver)).toEqual(Array.from({ length: 400 - first }, (_, k) => first + k));
    sender.trySend(message(400));
    sender.flush();
    expect(drain(receiver)).toEqual([400]);
    expect(receiver.lost).toBe(0);
    receiver.close();
    sender.close();
  });

  it('one sender at a time: a second is ERR_RINGWIRE_BUSY', () => {
    const name = channelName('busy');
    createChannel(name, { mode: 'broadcast' });
    const sender = openSender(name);
    expect(() => openSender(name)).toThrow(code('ERR_RINGWIRE_BUSY'));
    sender.close();
    openSender(name).close();
  });

  it('options that are not for this mode or role are ERR_RINGWIRE_INVALID_ARG', () => {
    const name = channelName('opts');
    expect(() => createChannel(name, { overflow: 'drop' })).toThrow(code('ERR_RINGWIRE_INVALID_ARG'));
    expect(() => createChannel(name, { mode: 'broadcast', overflow: 'sometimes' as 'drop' })).toThrow(code('ERR_RINGWIRE_INVALID_ARG'));
    createChannel(name, { mode: 'broadcast' });
    expect(() => openReceiver(name, { lagLimit: 10 })).toThrow(code('ERR_RINGWIRE_INVALID_ARG'));
    expect(() => openSender(name, { from: 'oldest' })).toThrow(code('ERR_RINGWIRE_INVALID_ARG'));
    expect(() => openReceiver(name, { from: 'newest' as 'next' })).toThrow(code('ERR_RINGWIRE_INVALID_ARG'));
    expect(() => openSender(name, { lagLimit: 0 })).toThrow(code('ERR_RINGWIRE_INVALID_ARG'));
    const spsc = channelName('opts2');
    createChannel(spsc);
    expect(() => openReceiver(spsc, { from: 'oldest' })).toThrow(code('ERR_RINGWIRE_INVALID_ARG'));
  });
});

describe("broadcast 'block': the sender waits for the slowest live receiver", () => {
  it('a stalled receiver holds the sender; killed with SIGKILL, it no longer does', async () => {
    const name = channelName('stall');
    createChannel(name, { mode: 'broadcast', capacity: 1 << 14 });
    const stalled = runChild('bcast-recv.mjs', [name, 'next', '10'], 60_000);
    await ready(stalled);
    const reader = openReceiver(name);
    const sender = openSender(name);
    let sent = 0;
    while (sender.trySend(message(sent))) sent++;
    await ready(stalled, 'stalled');
    // Once the stalled receiver stopped for good, the ring fills behind it, though `reader`
    // takes everything.
    let taken = drain(reader).length;
    while (sender.trySend(message(sent))) {
      sent++;
      taken += drain(reader).length;
    }
    taken += drain(reader).length;
    expect(taken).toBe(sent);
    expect(sender.trySend(message(sent))).toBe(false);
    await expect(sender.send(message(sent), { timeout: 50 })).rejects.toMatchObject({ code: 'ERR_RINGWIRE_TIMEOUT' });
    const waiting = sender.send(message(sent));
    process.kill(stalled.pid, 'SIGKILL');
    await waiting; // its death let the sender go on
    sent++;
    expect(stats(name).receivers.find((r) => r.pid === stalled.pid)).toMatchObject({ dead: true, cutOff: true });
    for (let i = 0; i < 200; i++, sent++) {
      if (!sender.trySend(message(sent))) await sender.send(message(sent));
      drain(reader);
    }
    sender.close();
    reader.close();
    await stalled.catch(() => undefined);
  });

  it("a receiver joining leaves the parked sender's waiter count alone (it is a count, not a parked mask)", async () => {
    const name = channelName('count');
    createChannel(name, { mode: 'broadcast', capacity: 4096 });
    const first = openReceiver(name); // slot 0
    const slow = openReceiver(name); // slot 1
    first.close(); // slot 0 is free again
    const sender = openSender(name);
    let sent = 0;
    while (sender.trySend(message(sent % 3))) sent++;
    const pending = sender.send(message(0)); // parks, waiting for `slow`
    await until(() => stats(name).sendersWaiting === 1, 10_000, 'the sender to park');
    const joined = openReceiver(name); // takes slot 0, whose bit in a mask would be bit 0
    expect(stats(name).sendersWaiting).toBe(1);
    while (slow.tryRecv() !== undefined); // frees the ring and wakes the sender
    await pending;
    joined.close();
    slow.close();
    sender.close();
  });

  it('lagLimit cuts off a live receiver that holds the sender back that long: ERR_RINGWIRE_CUT_OFF', async () => {
    const name = channelName('lag');
    createChannel(name, { mode: 'broadcast', capacity: 4096 });
    const slow = openReceiver(name);
    const sender = openSender(name, { lagLimit: 30 });
    let sent = 0;
    while (sender.trySend(message(sent % 50))) sent++;
    await sender.send(message(0)); // waits ~30 ms, then cuts `slow` off and goes on
    for (let i = 0; i < 20; i++) await sender.send(message(i)); // over what `slow` had not read
    expect(stats(name).receivers[0]).toMatchObject({ cutOff: true, dead: false });
    expect(() => { while (slow.tryRecv() !== undefined); }).toThrow(code('ERR_RINGWIRE_CUT_OFF'));
    await expect(slow.recv()).rejects.toMatchObject({ code: 'ERR_RINGWIRE_CUT_OFF' });
    slow.close();
    const again = openReceiver(name); // a new receiver may join
    sender.trySend('after');
    expect(Buffer.from(again.tryRecv()!).toString()).toBe('after');
    again.close();
    sender.close();
  });
});

describe("broadcast 'drop': the sender never waits", () => {
  it('a receiver that falls a ring behind skips to the oldest message, counts what it missed, never sees a torn one', async () => {
    const name = channelName('drop');
    createChannel(name, { mode: 'broadcast', capacity: 1 << 13, overflow: 'drop' });
    const receiver = openReceiver(name);
    const N = 20_000;
    const child = runChild('bcast-send.mjs', [name, String(N), '1'], 120_000);
    let expected = 0;
    let received = 0;
    let lostSeen = 0;
    const gaps: number[] = [];
    for (;;) {
      const m = await receiver.recv();
      if (m === null) break;
      const index = check(m); // a torn or mixed copy would not check out
      expect(index).toBeGreaterThanOrEqual(expected);
      if (receiver.lost !== lostSeen) {
        // The gap is just before this message, and exactly as long as `lost` grew.
        expect(index - expected).toBe(receiver.lost - lostSeen);
        gaps.push(index);
        lostSeen = receiver.lost;
      } else {
        expect(index).toBe(expected);
      }
      expected = index + 1;
      received++;
      // A slow reader: every message costs it a little work, so the sender laps it.
      if (received % 64 === 0) for (let spin = performance.now() + 1; performance.now() < spin;);
    }
    expect((await child).code).toBe(0);
    expect(received + receiver.lost).toBe(N);
    expect(expected).toBe(N);
    expect(receiver.lost).toBeGreaterThan(0);
    expect(stats(name).receivers[0]).toMatchObject({ lost: receiver.lost });
    receiver.close();
  });

  it('the largest record is capacity − 16 bytes there (a record and the next header must fit)', () => {
    const name = channelName('dropmax');
    createChannel(name, { mode: 'broadcast', capacity: 4096, overflow: 'drop' });
    expect(stats(name).maxRecord).toBe(4096 - 16);
    const receiver = openReceiver(name);
    const sender = openSender(name);
    for (let i = 0; i < 3; i++) expect(sender.trySend(new Uint8Array(4096 - 16).fill(i))).toBe(true);
    expect(() => sender.trySend(new Uint8Array(4096 - 15))).toThrow(code('ERR_RINGWIRE_TOO_LARGE'));
    sender.flush();
    const got = receiver.tryRecv()!; // the last one: each overwrote the one before
    expect(got.length).toBe(4096 - 16);
    expect(got[0]).toBe(2);
    expect(receiver.lost).toBe(2);
    receiver.close();
    sender.close();
  });

  it('poll() hands out checked copies there (the ring may be overwritten under a view)', () => {
    const name = channelName('droppoll');
    createChannel(name, { mode: 'broadcast', capacity: 4096, overflow: 'drop' });
    const receiver = openReceiver(name);
    const sender = openSender(name);
    for (let i = 0; i < 10; i++) sender.trySend(message(i));
    sender.flush();
    const seen: number[] = [];
    receiver.poll((bytes, offset, length) => {
      expect(bytes.length).toBe(length); // a copy of the message, not the mapping
      seen.push(check(bytes.subarray(offset, offset + length)));
    });
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    receiver.close();
    sender.close();
  });

  it('poll() copies a record longer than its scratch buffer whatever its length (not only whole words)', () => {
    const name = channelName('pollodd');
    createChannel(name, { mode: 'broadcast', capacity: 1 << 16 });
    const receiver = openReceiver(name);
    const sender = openSender(name);
    // Longer than twice the 4 KiB scratch buffer, and not a multiple of 4; then a short one,
    // which is copied word by word into the grown buffer.
    const long = Uint8Array.from({ length: 10_001 }, (_, i) => (i * 7) & 255);
    expect(sender.trySend(long)).toBe(true);
    expect(sender.trySend('short')).toBe(true);
    sender.flush();
    const seen: Uint8Array[] = [];
    receiver.poll((bytes, offset, length) => { seen.push(bytes.slice(offset, offset + length)); });
    expect(seen.map((m) => m.length)).toEqual([10_001, 5]);
    expect(Buffer.from(seen[0]).equals(Buffer.from(long))).toBe(true);
    expect(Buffer.from(seen[1]).toString()).toBe('short');
    receiver.close();
    sender.close();
  });
});

describe('broadcast and dead senders', () => {
  it('a sender killed with SIGKILL: receivers get everything it wrote, then ERR_RINGWIRE_PEER_DEAD', async () => {
    const name = channelName('sdead');
    createChannel(name, { mode: 'broadcast', capacity: 1 << 20 });
    const receivers = [openReceiver(name), openReceiver(name)];
    const child = runChild('bcast-send.mjs', [name, '100', '0']);
    await ready(child, 'sent');
    process.kill(child.pid, 'SIGKILL');
    await child.catch(() => undefined);
    for (const receiver of receivers) {
      const got: number[] = [];
      for (let i = 0; i < 100; i++) got.push(check((await receiver.recv())!));
      expect(got).toEqual(Array.from({ length: 100 }, (_, i) => i));
      await expect(receiver.recv()).rejects.toMatchObject({ code: 'ERR_RINGWIRE_PEER_DEAD' });
      receiver.close();
    }
    // A new sender may open and carry on.
    const sender = openSender(name);
    sender.close();
  });

  it('gc removes a broadcast channel whose endpoints all died', async () => {
    const name = channelName('bgc');
    createChannel(name, { mode: 'broadcast' });
    const child = runChild('bcast-send.mjs', [name, '3', '0']);
    await ready(child, 'sent');
    process.kill(child.pid, 'SIGKILL');
    await child.catch(() => undefined);
    expect(gc({ prefix: name, dryRun: true })).toEqual([name]);
    expect(gc({ prefix: name })).toEqual([name]);
    expect(() => stats(name)).toThrow(code('ERR_RINGWIRE_NOT_FOUND'));
  });
});

describe('broadcast and a hostile segment', () => {
  const word = (name: string) => {
    const segment = new native.Segment(name);
    return { i32: new Int32Array(segment.buffer), close: () => segment.close() };
  };

  it("'drop': an intent behind the tail is ERR_RINGWIRE_CORRUPT, never a lap that moves the receiver back", () => {
    const name = channelName('ibehind');
    createChannel(name, { mode: 'broadcast', capacity: 4096, overflow: 'drop' });
    const receiver = openReceiver(name);
    const sender = openSender(name);
    for (let i = 0; i < 3; i++) sender.trySend(message(i));
    sender.flush();
    expect(check(receiver.tryRecv()!)).toBe(0);
    // I behind the receiver (and the tail): it looks lapped, and O (0) is behind it.
    const raw = word(name);
    Atomics.store(raw.i32, layout.OFF_INTENT_POSITION >> 2, 0);
    expect(() => receiver.tryRecv()).toThrow(code('ERR_RINGWIRE_CORRUPT'));
    raw.close();
    receiver.close();
    sender.close();
  });

  it('an intent past a receiver the sender must wait for, or an impossible tail, is ERR_RINGWIRE_CORRUPT', () => {
    const name = channelName('hint');
    createChannel(name, { mode: 'broadcast', capacity: 4096 });
    const receiver = openReceiver(name);
    const sender = openSender(name);
    sender.trySend(message(1));
    sender.flush();
    const raw = word(name);
    const intent = Atomics.load(raw.i32, layout.OFF_INTENT_POSITION >> 2);
    Atomics.store(raw.i32, layout.OFF_INTENT_POSITION >> 2, 3 * 4096); // "overwritten" without a cut
    expect(() => receiver.tryRecv()).toThrow(code('ERR_RINGWIRE_CORRUPT'));
    expect(() => openReceiver(name, { from: 'oldest' })).toThrow(code('ERR_RINGWIRE_CORRUPT'));
    Atomics.store(raw.i32, layout.OFF_INTENT_POSITION >> 2, intent);
    const again = openReceiver(name, { from: 'oldest' });
    Atomics.store(raw.i32, layout.OFF_PRODUCER_POSITION >> 2, 12); // misaligned
    expect(() => again.tryRecv()).toThrow(code('ERR_RINGWIRE_CORRUPT'));
    raw.close();
    again.close();
    receiver.close();
    sender.close();
  });

  it('an intent a dead sender left raised past a receiver is lowered by the receiver that finds it dead', async () => {
    const name = channelName('hdead');
    createChannel(name, { mode: 'broadcast', capacity: 1 << 16 });
    const receiver = openReceiver(name);
    const child = runChild('bcast-send.mjs', [name, '3', '0']);
    await ready(child, 'sent');
    process.kill(child.pid, 'SIGKILL');
    await child.catch(() => undefined);
    const raw = word(name);
    // As if it died between raising I past our cursor (0) and lowering it again.
    Atomics.store(raw.i32, layout.OFF_INTENT_POSITION >> 2, (1 << 16) + 64);
    expect([0, 1, 2].map(() => check(receiver.tryRecv()!))).toEqual([0, 1, 2]);
    expect(Atomics.load(raw.i32, layout.OFF_INTENT_POSITION >> 2)).toBe(1 << 16); // our cursor + capacity
    raw.close();
    receiver.close();
  });

  it("a receiver slot with an impossible cursor does not hold a 'block' sender back", () => {
    const name = channelName('hcur');
    createChannel(name, { mode: 'broadcast', capacity: 4096 });
    const receiver = openReceiver(name);
    const sender = openSender(name);
    const raw = word(name);
    const cursor = (layout.OFF_SLOTS + layout.SLOT_CURSOR) >> 2; // the receiver took slot 0
    Atomics.store(raw.i32, cursor, 1 << 30); // far ahead of the tail: no real receiver is there
    let sent = 0;
    for (; sent < 200; sent++) if (!sender.trySend(message(sent % 10))) break;
    expect(sent).toBe(200);
    raw.close();
    receiver.close();
    sender.close();
  });
});

describe('broadcast: repairs after a sender died between two of its stores (models/broadcast.pml, FINDINGS)', () => {
  // No process has this pid (Linux pids stay below 2^22): the sender that "died".
  const NO_SUCH_PID = 1 << 22;
  const TAIL = layout.OFF_PRODUCER_POSITION >> 2;
  type Raw = { i32: Int32Array; close(): void };
  const raw = (name: string): Raw => {
    const segment = new native.Segment(name);
    return { i32: new Int32Array(segment.buffer), close: () => segment.close() };
  };
  /** What the endpoint does to the ring (white-box). */
  const inside = (endpoint: unknown) => (endpoint as { protocol: {
    checkLiveness(): void; view: { segment: { lock(role: number): boolean; unlock(role: number): void } } } }).protocol;

  /**
   * Sends messages 0 .. count - 1 and leaves the channel as a sender does that dies in the
   * publish of the last one: written, ('drop') the stamp and the sent count (count) stored, the
   * tail not yet (it still ends at the one before).
   */
  function diesBeforeTheTail(name: string, count: number, r: Raw): void {
    const sender = openSender(name);
    for (let i = 0; i < count - 1; i++) expect(sender.trySend(message(i))).toBe(true);
    sender.flush();
    const before = Atomics.load(r.i32, TAIL);
    expect(sender.trySend(message(count - 1))).toBe(true);
    sender.flush();
    sender.close();
    expect(stats(name).messagesSent).toBe(count);
    Atomics.store(r.i32, TAIL, before);
    Atomics.store(r.i32, layout.OFF_SENDER_PID >> 2, NO_SUCH_PID);
  }

  it("'drop': a sender opening adopts the last message without counting it twice; the next one is numbered on, and nothing counts as lost", () => {
    const name = channelName('rcount');
    createChannel(name, { mode: 'broadcast', capacity: 4096, overflow: 'drop' });
    const receiver = openReceiver(name);
    const r = raw(name);
    diesBeforeTheTail(name, 3, r);
    expect(drain(receiver)).toEqual([0, 1]);
    const next = openSender(name); // holds the dead sender's lock: adopts message 2
    expect(stats(name).messagesSent).toBe(3);
    const joiner = openReceiver(name); // at the new tail: the stamp there is the next number
    expect(next.trySend(message(3))).toBe(true);
    next.flush();
    expect(drain(receiver)).toEqual([2, 3]);
    expect(drain(joiner)).toEqual([3]);
    expect([receiver.lost, joiner.lost]).toEqual([0, 0]);
    expect(stats(name).messagesSent).toBe(4);
    r.close();
    joiner.close();
    receiver.close();
    next.close();
  });

  it("'block': a receiver that finds the sender dead adopts its last message without counting it twice, then ERR_RINGWIRE_PEER_DEAD", async () => {
    const name = channelName('rcountb');
    createChannel(name, { mode: 'broadcast', capacity: 4096 });
    const receiver = openReceiver(name);
    const r = raw(name);
    diesBeforeTheTail(name, 3, r);
    const got: number[] = [];
    for (let i = 0; i < 3; i++) got.push(check((await receiver.recv())!));
    expect(got).toEqual([0, 1, 2]);
    expect(stats(name).messagesSent).toBe(3);
    await expect(receiver.recv()).rejects.toMatchObject({ code: 'ERR_RINGWIRE_PEER_DEAD' });
    const next = openSender(name);
    expect(stats(name).messagesSent).toBe(3);
    next.close();
    r.close();
    receiver.close();
  });

  it('a receiver that loses the dead sender\'s lock to another one repairing gets what that one adopts, and ERR_RINGWIRE_PEER_DEAD only after a repair of its own', async () => {
    const name = channelName('rrace');
    createChannel(name, { mode: 'broadcast', capacity: 4096 });
    const a = openReceiver(name);
    const b = openReceiver(name);
    const r = raw(name);
    diesBeforeTheTail(name, 2, r);
    expect(drain(a)).toEqual([0]);
    // A has found the sender dead (its lock free); just as A tries to take the lock, B takes
    // it and begins its repair. B stores the tail only after A has looked at it (a microtask:
    // once A's liveness check is over, and A parked).
    const lockA = inside(a).view.segment;
    const lockB = inside(b).view.segment;
    const take = lockA.lock.bind(lockA);
    let raced = 0;
    let repaired!: () => void;
    const bRepaired = new Promise<void>((resolve) => { repaired = resolve; });
    Object.defineProperty(lockA, 'lock', { configurable: true, value: (role: number) => {
      if (role !== layout.ROLE_SENDER || raced++ !== 0) return take(role);
      expect(lockB.lock(layout.ROLE_SENDER)).toBe(true);
      const took = take(role);
      queueMicrotask(() => {
        lockB.unlock(layout.ROLE_SENDER);
        inside(b).checkLiveness(); // B's repair goes on (under the lock again): stores the tail, wakes A
        repaired();
      });
      return took;
    } });
    expect(check((await a.recv())!)).toBe(1);
    await bRepaired;
    await expect(a.recv()).rejects.toMatchObject({ code: 'ERR_RINGWIRE_PEER_DEAD' });
    expect(raced).toBe(2); // it gave up after a repair of its own
    expect(drain(b)).toEqual([0, 1]);
    await expect(b.recv()).rejects.toMatchObject({ code: 'ERR_RINGWIRE_PEER_DEAD' });
    r.close();
    a.close();
    b.close();
  });
});
