// A peer that dies without closing must not leave the other end waiting forever.
import { closeSync, openSync, readSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { createChannel, gc, openReceiver, openSender, stats, unlinkChannel } from '../src/index.js';
import { layout } from '../src/native.js';
import { channelName, holder, runChild, until } from './helpers.js';

const text = (bytes: Uint8Array | null) => Buffer.from(bytes!).toString();

/** A 16-byte message carrying `seq` in its first four bytes. */
function numbered(seq: number): Uint8Array {
  const message = new Uint8Array(16);
  new DataView(message.buffer).setUint32(0, seq, true);
  return message;
}
const seqOf = (message: Uint8Array) => new DataView(message.buffer, message.byteOffset, 4).getUint32(0, true);

describe('a receiver that dies with its position not yet published', () => {
  // The consumer position is published lazily (every 32 records, a quarter ring, the end of a
  // task): the next receiver resumes from what the dead one handed out, so at most the one
  // message it held is lost (taken, not used) or delivered again (a poll() handler that died).
  for (const [how, count, expectFirst] of [['try', 10, 10], ['into', 20, 20], ['poll', 3000, 2999]] as const) {
    it(`taken with ${how === 'try' ? 'tryRecv' : how === 'into' ? 'tryRecvInto' : 'poll'}: the next receiver starts at ${how === 'poll' ? 'the message the handler held' : 'the next message'}`, async () => {
      const name = channelName(`redeliver${how}`);
      createChannel(name, { capacity: 1 << 17 });
      const sender = openSender(name);
      for (let seq = 0; seq < 3500; seq++) expect(sender.trySend(numbered(seq))).toBe(true);
      const victim = runChild('take-then-die.mjs', [name, String(count), how], 30_000);
      await until(() => /(took|holding) \d+/.test(victim.output()), 20_000, 'the receiver to take its messages');
      process.kill(victim.pid, 'SIGKILL');
      expect((await victim).signal).toBe('SIGKILL');
      const last = Number(/(?:took|holding) (\d+)/.exec(victim.output())![1]);
      expect(last).toBe(count - 1);
      const next = openReceiver(name);
      const first = seqOf(next.tryRecv()!);
      expect(first).toBe(expectFirst);
      for (let seq = first + 1; seq < 3500; seq++) expect(seqOf(next.tryRecv()!)).toBe(seq);
      expect(next.tryRecv()).toBeUndefined();
      expect(stats(name).messagesReceived).toBe(3500);
      next.close();
      sender.close();
    });
  }
});

/** A header word of channel `name`, read through its file (not a mapping of this process). */
function headerWord(name: string, offset: number): number {
  const fd = openSync(`/dev/shm/rw.${name}`, 'r');
  try {
    const bytes = Buffer.alloc(4);
    readSync(fd, bytes, 0, 4, offset);
    return bytes.readUInt32LE(0);
  } finally {
    closeSync(fd);
  }
}

describe('a sender that dies with records written and not published', () => {
  it('a new sender adopts them and wakes the parked receiver (it does not wait for its park slice to end)', async () => {
    const name = channelName('adoptwake');
    createChannel(name, { capacity: 4096 });
    const writer = runChild('write-unpublished.mjs', [name, '5']);
    await until(() => writer.output().includes('written'), 30_000, 'the messages written');
    // The premise: one record published, five written.
    expect(headerWord(name, layout.OFF_PRODUCER_POSITION)).toBe(24);
    expect(headerWord(name, layout.OFF_WRITTEN_POSITION)).toBe(5 * 24);
    // A receiver whose park slice is an hour: only a wake gets it going again.
    const receiver = runChild('recv-numbered.mjs', [name], 60_000, { RINGWIRE_TEST_PARK_SLICE_MS: '3600000' });
    await until(() => receiver.output().includes('0\n') && headerWord(name, layout.OFF_RECEIVER_WAITERS) === 1,
      30_000, 'the receiver parked after message 0');
    process.kill(writer.pid, 'SIGKILL');
    await writer.catch(() => undefined);
    const sender = openSender(name);
    await until(() => receiver.output().includes('4\n'), 30_000, 'messages 1 to 4 at the receiver');
    await sender.end();
    sender.close();
    const { code, stdout } = await receiver;
    expect(code).toBe(0);
    expect(stdout).toBe('open\n0\n1\n2\n3\n4\nend\n');
  });
});

describe('a peer that dies', () => {
  it('the receiver drains what a killed sender sent, then recv() rejects with ERR_RINGWIRE_PEER_DEAD', async () => {
    const name = channelName('sdead');
    createChannel(name, { capacity: 4096 });
    const receiver = openReceiver(name);
    const sender = await holder('sender', name, '3');
    await sender.kill();
    const got: string[] = [];
    await expect((async () => { for await (const m of receiver) got.push(text(m)); })())
      .rejects.toMatchObject({ code: 'ERR_RINGWIRE_PEER_DEAD' });
    expect(got).toEqual(['before death 0', 'before death 1', 'before death 2']);
    expect(() => receiver.recvSync({ timeout: 5000 })).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_PEER_DEAD' }));
    receiver.close();
  });

  it('a receiver parked before the sender is killed wakes with ERR_RINGWIRE_PEER_DEAD', async () => {
    const name = channelName('sdead2');
    createChannel(name, { capacity: 4096, wait: 'semaphore' });
    const receiver = openReceiver(name, { spinMicros: 0 });
    const sender = await holder('sender', name, '0');
    const pending = receiver.recv({ timeout: 10_000 });
    await sender.kill();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_RINGWIRE_PEER_DEAD' });
    // A new sender may take over, and the receiver goes on.
    const next = openSender(name);
    next.trySend('new sender');
    expect(text(await receiver.recv({ timeout: 1000 }))).toBe('new sender');
    next.close();
    receiver.close();
  });

  it('a sender parked on a full ring wakes with ERR_RINGWIRE_PEER_DEAD when the receiver is killed', async () => {
    const name = channelName('rdead');
    createChannel(name, { capacity: 4096 });
    const sender = openSender(name, { spinMicros: 0 });
    while (sender.trySend(new Uint8Array(500)));
    const receiver = await holder('receiver', name);
    const pending = sender.send(new Uint8Array(500), { timeout: 10_000 });
    await receiver.kill();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_RINGWIRE_PEER_DEAD' });
    expect(() => sender.sendSync(new Uint8Array(500), { timeout: 5000 })).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_PEER_DEAD' }));
    sender.close();
  });

  it("wait 'spin': a polling receiver notices a killed sender too", async () => {
    const name = channelName('spdead');
    createChannel(name, { capacity: 4096, wait: 'spin' });
    const receiver = openReceiver(name);
    const sender = await holder('sender', name, '1');
    await sender.kill();
    expect(text(await receiver.recv({ timeout: 5000 }))).toBe('before death 0');
    await expect(receiver.recv({ timeout: 5000 })).rejects.toMatchObject({ code: 'ERR_RINGWIRE_PEER_DEAD' });
    receiver.close();
  });

  it('a sender that closed cleanly without end() is not dead: the receiver keeps waiting', async () => {
    const name = channelName('sclean');
    createChannel(name, { capacity: 4096 });
    const receiver = openReceiver(name);
    const sender = await holder('close-sender', name, '1');
    expect(text(await receiver.recv({ timeout: 5000 }))).toBe('before death 0');
    await expect(receiver.recv({ timeout: 1500 })).rejects.toMatchObject({ code: 'ERR_RINGWIRE_TIMEOUT' });
    await sender.kill();
    await expect(receiver.recv({ timeout: 1500 })).rejects.toMatchObject({ code: 'ERR_RINGWIRE_TIMEOUT' });
    receiver.close();
  });
});

const extraNames: string[] = [];
afterEach(() => {
  for (const name of extraNames.splice(0)) unlinkChannel(name);
});

describe('stats and gc', () => {
  it('stats counts messages and shows the pid, thread and liveness of each endpoint', async () => {
    const name = channelName('stat2');
    createChannel(name, { capacity: 4096 });
    const receiver = openReceiver(name);
    const sender = await holder('sender', name, '3');
    expect(receiver.tryRecv()).toBeDefined();
    expect(receiver.tryRecv()).toBeDefined();
    expect(receiver.tryRecv()).toBeDefined();
    expect(receiver.tryRecv()).toBeUndefined(); // finds the ring empty: publishes its count
    let s = stats(name);
    expect(s).toMatchObject({ messagesSent: 3, messagesReceived: 3, persistent: false });
    expect(s.sender).toMatchObject({ open: true, dead: false, thread: 0 });
    expect(s.sender.pid).not.toBe(process.pid);
    expect(s.receiver).toMatchObject({ open: true, dead: false, pid: process.pid, thread: 0 });
    await sender.kill();
    s = stats(name);
    expect(s.sender).toMatchObject({ open: false, dead: true });
    receiver.close();
  });

  it('gc removes channels whose endpoints died, and never-used ones whose creator exited; it keeps the rest', async () => {
    // gc() looks at every channel on the machine; the prefix keeps it to this test's own.
    const prefix = channelName('gc');
    const [died, persistent, clean, live, fresh, revived] = ['d', 'p', 'c', 'l', 'f', 'r'].map((tag) => {
      const name = `${prefix}${tag}`;
      extraNames.push(name);
      return name;
    });
    createChannel(died, { capacity: 4096 });
    createChannel(persistent, { capacity: 4096, persistent: true });
    createChannel(clean, { capacity: 4096 });
    createChannel(live, { capacity: 4096 });
    createChannel(fresh, { capacity: 4096 });
    createChannel(revived, { capacity: 4096 });
    const killed = [await holder('sender', died, '1'), await holder('sender', persistent, '1'),
      await holder('sender', revived, '1')];
    for (const h of killed) await h.kill();
    const successor = openSender(revived); // a new sender took over from the dead one
    const closedCleanly = await holder('close-sender', clean, '1');
    await closedCleanly.kill();
    const receiver = openReceiver(live);
    const removed = gc({ prefix });
    expect(removed).toEqual([died]);
    expect(removed).toContain(died);
    expect(removed).not.toContain(persistent);
    expect(removed).not.toContain(clean); // a receiver may still come for its message
    expect(removed).not.toContain(live);
    expect(removed).not.toContain(fresh); // its creator (this process) is alive
    expect(() => stats(died)).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_NOT_FOUND' }));
    expect(stats(persistent).persistent).toBe(true);
    expect(stats(revived).sender).toMatchObject({ open: true, dead: false, pid: process.pid });
    successor.close();
    receiver.close();
  });
});

describe('an endpoint lost without close()', () => {
  it('is released once garbage-collected (its locks dropped, as a death would), with a warning', async () => {
    setFlagsFromString('--expose-gc');
    const collect = runInNewContext('gc') as () => void;
    const name = channelName('lost');
    createChannel(name, { capacity: 4096 });
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      (() => {
        const sender = openSender(name);
        sender.trySend('sent before it was lost');
      })();
      const receiver = openReceiver(name);
      expect(() => openSender(name)).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_BUSY' }));
      // No event says "collected" but the warning: collect until it comes.
      await until(() => {
        collect();
        return warnings.some((w) => (w as { code?: string }).code === 'RINGWIRE_ENDPOINT_NOT_CLOSED');
      }, 20_000, 'the lost sender to be collected');
      expect(warnings[0].message).toMatch(new RegExp(`a sender of channel '${name}' was garbage-collected without close\\(\\)`));
      // Released as a death: what it sent arrives, then the receiver learns it is gone...
      expect(text(await receiver.recv({ timeout: 5000 }))).toBe('sent before it was lost');
      await expect(receiver.recv({ timeout: 5000 })).rejects.toMatchObject({ code: 'ERR_RINGWIRE_PEER_DEAD' });
      // ...and a new sender can open in its place.
      const next = openSender(name);
      next.trySend('from the next sender');
      expect(text(await receiver.recv({ timeout: 5000 }))).toBe('from the next sender');
      next.close();
      receiver.close();
    } finally {
      process.off('warning', onWarning);
    }
  });
});
