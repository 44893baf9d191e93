// The API contract: what a sender and a receiver do, whatever the channel's mode. The contract
// runs once per mode (describe.each over MODES); what only one mode does, or does its own way,
// is in the mode's own describe at the end, each stating that mode's documented behaviour.
import { describe, expect, it } from 'vitest';
import {
  createChannel, openReceiver, openSender, stats, unlinkChannel, type Receiver, type Sender,
} from '../src/index.js';
import { layout } from '../src/native.js';
import { channelName, until } from './helpers.js';

/**
 * Every mode the contract runs on. A new mode is one more entry here: with one sender and one
 * receiver every mode behaves as these do.
 */
const MODES = ['spsc', 'mpmc', 'broadcast'] as const;
type Mode = typeof MODES[number];

function pair(mode: Mode, tag: string, capacity = 4096): { name: string; sender: Sender; receiver: Receiver } {
  const name = channelName(tag);
  createChannel(name, { capacity, mode });
  return { name, sender: openSender(name), receiver: openReceiver(name) };
}

const text = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes).toString('utf8') : bytes);

/** A record's size in the ring, in every mode (layout.h): the 8-byte header and the payload, to 8 bytes. */
const recordBytes = (length: number) =>
  (layout.RECORD_HEADER_SIZE + length + layout.RECORD_ALIGNMENT - 1) & -layout.RECORD_ALIGNMENT;

/** Resolves once an endpoint of channel `name` is parked, waiting (an event, not a delay). */
const parked = (name: string, which: 'receiversWaiting' | 'sendersWaiting') =>
  until(() => stats(name)[which] === 1, 10_000, `${which} of ${name}`);

describe('channels, whatever the mode', () => {
  const invalidName = expect.objectContaining({ code: 'ERR_RINGWIRE_INVALID_NAME' });

  it('opening a channel that does not exist fails with ERR_RINGWIRE_NOT_FOUND', () => {
    expect(() => openSender('no-such-channel')).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_NOT_FOUND' }));
    expect(() => openReceiver('no-such-channel')).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_NOT_FOUND' }));
  });

  // A name with a '/' is a file's path (backing.test.ts): refused when it names a directory.
  it.each(['', 'a/b/', 'with space', 'x'.repeat(27), 'ünïcode', '../etc/', 'a\0b', 'a/\0b'])('the name %j is refused', (name) => {
    expect(() => createChannel(name)).toThrow(invalidName);
    expect(() => openSender(name)).toThrow(invalidName);
    expect(() => openReceiver(name)).toThrow(invalidName);
    expect(() => unlinkChannel(name)).toThrow(invalidName);
  });

  it('a non-string name is refused', () => {
    expect(() => createChannel(42 as unknown as string)).toThrow(invalidName);
    expect(() => openSender(undefined as unknown as string)).toThrow(invalidName);
  });

  it('an unknown mode is refused with ERR_RINGWIRE_INVALID_ARG', () => {
    expect(() => createChannel(channelName('fifo'), { mode: 'fifo' as 'spsc' }))
      .toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_INVALID_ARG' }));
  });
});

describe.each(MODES)('the contract on %s channels (one sender, one receiver)', (mode) => {
  describe('channel lifecycle', () => {
    it('a second createChannel of the same name fails with ERR_RINGWIRE_EXISTS', () => {
      const name = channelName('dup');
      createChannel(name, { mode });
      expect(() => createChannel(name, { mode })).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_EXISTS' }));
    });

    it('unlinkChannel says whether the channel existed, and open endpoints keep working', () => {
      const { name, sender, receiver } = pair(mode, 'unlink');
      expect(unlinkChannel(name)).toBe(true);
      expect(unlinkChannel(name)).toBe(false);
      expect(sender.trySend('still here')).toBe(true);
      expect(text(receiver.tryRecv())).toBe('still here');
      sender.close();
      receiver.close();
    });

    it('a new receiver continues where a closed one stopped (broadcast: joins at the next message, or the oldest)', () => {
      const { name, sender, receiver } = pair(mode, 'resume');
      for (let i = 0; i < 5; i++) sender.trySend(`m${i}`);
      expect(text(receiver.tryRecv())).toBe('m0');
      expect(text(receiver.tryRecv())).toBe('m1');
      receiver.close();
      const next = openReceiver(name);
      if (mode === 'broadcast') {
        // Every receiver reads every message: a new one starts at the next message sent...
        expect(next.tryRecv()).toBeUndefined();
        sender.trySend('m5');
        expect(text(next.tryRecv())).toBe('m5');
        // ...or, from: 'oldest', at the oldest still in the ring.
        const oldest = openReceiver(name, { from: 'oldest' });
        expect([0, 1, 2, 3, 4, 5].map(() => text(oldest.tryRecv()))).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
        oldest.close();
      } else {
        expect([1, 2, 3].map(() => text(next.tryRecv()))).toEqual(['m2', 'm3', 'm4']);
      }
      expect(next.tryRecv()).toBeUndefined();
      next.close();
      sender.close();
    });

    it('stats reports capacity, bytes used, endpoints and end of stream', () => {
      const { name, sender, receiver } = pair(mode, 'stats');
      sender.trySend(new Uint8Array(100));
      const s = stats(name);
      const here = { open: true, pid: process.pid, waiters: 0 };
      expect(s).toMatchObject({
        name, mode, wait: 'futex', capacity: 4096, bytesUsed: recordBytes(100), ended: false,
        senders: [here], receivers: [here],
      });
      expect(recordBytes(100)).toBe(112);
      // The largest message: what the sender enforces; MPMC, at most the ring minus one header
      // (no fragments); SPSC and broadcast, 1 GiB by default, above one record in fragments.
      expect(s.maxMessage).toBe(sender.maxMessageBytes);
      expect(s.maxRecord).toBeGreaterThan(0);
      expect(s.maxRecord).toBeLessThanOrEqual(4096 - layout.RECORD_HEADER_SIZE);
      expect(s.maxMessage).toBe(mode === 'mpmc' ? s.maxRecord : 1 << 30);
      // `sender` and `receiver` (the roles) are SPSC's alone.
      if (mode === 'spsc') {
        expect(s).toMatchObject({ maxRecord: 4088, sender: here, receiver: here });
      } else {
        expect(s.sender).toBeUndefined();
        expect(s.receiver).toBeUndefined();
      }
      sender.end();
      sender.close();
      const after = stats(name);
      expect(after).toMatchObject({ ended: true, receivers: [here] });
      expect(after.senders).toEqual([]);
      if (mode === 'spsc') expect(after).toMatchObject({ sender: { open: false, pid: 0 } });
      receiver.close();
    });
  });

  describe('messages', () => {
    it('copies bytes in and out; the received Uint8Array is the caller\'s own', () => {
      const { sender, receiver } = pair(mode, 'copy');
      const data = new Uint8Array([1, 2, 3, 4, 5]);
      expect(sender.trySend(data)).toBe(true);
      data.fill(9);
      const got = receiver.tryRecv()!;
      expect(got).toBeInstanceOf(Uint8Array);
      expect([...got]).toEqual([1, 2, 3, 4, 5]);
      expect(got.buffer.byteLength).toBe(5);
      sender.close();
      receiver.close();
      expect([...got]).toEqual([1, 2, 3, 4, 5]);
    });

    it('sends strings as UTF-8 and zero-length messages', () => {
      const { sender, receiver } = pair(mode, 'utf8');
      sender.trySend('héllo, wörld — 你好 🎉');
      sender.trySend('');
      sender.trySend(new Uint8Array(0));
      expect(text(receiver.tryRecv())).toBe('héllo, wörld — 你好 🎉');
      expect(receiver.tryRecv()!.length).toBe(0);
      expect(receiver.tryRecv()!.length).toBe(0);
      expect(receiver.tryRecv()).toBeUndefined();
      sender.close();
      receiver.close();
    });

    it('the largest record (stats().maxRecord) fits, after what pads the end of the ring; one byte more is ERR_RINGWIRE_TOO_LARGE for trySend, and for send() too on mpmc (spsc, broadcast: fragments)', async () => {
      const { name, sender, receiver } = pair(mode, 'max');
      const max = stats(name).maxRecord;
      sender.trySend('shift the ring off offset 0');
      receiver.tryRecv();
      // The largest record does not fit in what is left before the end of the ring.
      expect(recordBytes(max)).toBeGreaterThan(4096 - recordBytes('shift the ring off offset 0'.length));
      const largest = new Uint8Array(max).map((_, i) => i & 255);
      expect(sender.trySend(largest)).toBe(false); // needs the padding (MPMC: a skip record) consumed first
      const sent = sender.send(largest, { timeout: 5000 });
      expect(receiver.tryRecv()).toBeUndefined(); // consumes the padding, frees the ring
      await sent;
      expect(receiver.tryRecv()).toEqual(largest);
      expect(() => sender.trySend(new Uint8Array(max + 1))).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_TOO_LARGE' }));
      expect(() => sender.trySend('x'.repeat(max + 1))).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_TOO_LARGE' }));
      expect(() => sender.trySendMany([new Uint8Array(max + 1)])).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_TOO_LARGE' }));
      const big = new Uint8Array(5000).map((_, i) => (i * 7) & 255);
      if (mode === 'mpmc') {
        await expect(sender.send(big)).rejects.toMatchObject({ code: 'ERR_RINGWIRE_TOO_LARGE' });
        expect(() => sender.sendSync(big)).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_TOO_LARGE' }));
      } else {
        // Larger than the ring: written in fragments as the receiver frees room, received whole.
        const sending = sender.send(big);
        const got = await receiver.recv({ timeout: 10_000 });
        await sending;
        expect(got).toEqual(big);
      }
      sender.close();
      receiver.close();
    });

    it('trySend returns false when the ring is full and true again once the receiver has emptied it', () => {
      const { sender, receiver } = pair(mode, 'full');
      const chunk = new Uint8Array(500);
      let sent = 0;
      while (sender.trySend(chunk)) sent++;
      expect(sent).toBe(4096 / recordBytes(500)); // 8 records of 512 bytes fill the ring exactly
      expect(sent).toBe(8);
      for (let i = 0; i < sent; i++) expect(receiver.tryRecv()).toHaveLength(500);
      expect(receiver.tryRecv()).toBeUndefined();
      expect(sender.trySend(chunk)).toBe(true);
      expect(receiver.tryRecv()).toHaveLength(500);
      sender.close();
      receiver.close();
    });

    it('messages survive thousands of wrap-arounds with padding', () => {
      const { sender, receiver } = pair(mode, 'wrap', 1024);
      let next = 0;
      let expected = 0;
      while (expected < 20_000) {
        while (next < 20_000 && sender.trySend(`message ${next} `.padEnd(next % 300, '.'))) next++;
        for (let m = receiver.tryRecv(); m !== undefined; m = receiver.tryRecv()) {
          expect(text(m)).toBe(`message ${expected} `.padEnd(expected % 300, '.'));
          expected++;
        }
      }
      sender.close();
      receiver.close();
    });
  });

  describe('end of stream', () => {
    it('the receiver drains what was sent, then gets null and the iterator ends', async () => {
      const { sender, receiver } = pair(mode, 'end');
      sender.trySend('a');
      sender.trySend('b');
      sender.end();
      expect(() => sender.trySend('c')).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_CLOSED' }));
      const got: string[] = [];
      expect(receiver.ended).toBe(false);
      for await (const m of receiver) got.push(text(m)!);
      expect(got).toEqual(['a', 'b']);
      expect(receiver.ended).toBe(true);
      expect(receiver.tryRecv()).toBeUndefined();
      expect(await receiver.recv()).toBeNull();
      expect(receiver.recvSync()).toBeNull();
      sender.close();
      receiver.close();
    });

    it('a pending recv resolves with null when the sender ends', async () => {
      const { name, sender, receiver } = pair(mode, 'endwait');
      const pending = receiver.recv({ timeout: 5000 });
      await parked(name, 'receiversWaiting');
      sender.end();
      expect(await pending).toBeNull();
      sender.close();
      receiver.close();
    });

    it('end() waits for queued sends: the receiver gets them all before the end', async () => {
      const { sender, receiver } = pair(mode, 'endq', 1024);
      const sends = Array.from({ length: 20 }, (_, i) => sender.send(`queued ${i}`.padEnd(100, '.')));
      sender.end();
      const got: string[] = [];
      for await (const m of receiver) got.push(text(m)!.split('.')[0]);
      await Promise.all(sends);
      expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `queued ${i}`));
      sender.close();
      receiver.close();
    });

    it('a sender cannot open a channel that has ended', () => {
      const { name, sender, receiver } = pair(mode, 'ended');
      sender.end();
      sender.close();
      expect(() => openSender(name)).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_CLOSED' }));
      receiver.close();
    });
  });

  describe('timeouts and abort', () => {
    it('recv rejects with ERR_RINGWIRE_TIMEOUT and the channel stays usable', async () => {
      const { name, sender, receiver } = pair(mode, 'rto');
      await expect(receiver.recv({ timeout: 30 })).rejects.toMatchObject({ code: 'ERR_RINGWIRE_TIMEOUT' });
      expect(stats(name)).toMatchObject({ receiversWaiting: 0, receivers: [{ waiters: 0 }] });
      sender.trySend('after timeout');
      expect(text(await receiver.recv({ timeout: 1000 }))).toBe('after timeout');
      sender.close();
      receiver.close();
    });

    it('recv rejects with an AbortError when its signal aborts, before or while waiting', async () => {
      const { name, sender, receiver } = pair(mode, 'abort');
      const controller = new AbortController();
      const pending = receiver.recv({ signal: controller.signal });
      await parked(name, 'receiversWaiting');
      controller.abort(new Error('stop'));
      await expect(pending).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
      await expect(receiver.recv({ signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
      expect(stats(name)).toMatchObject({ receiversWaiting: 0, receivers: [{ waiters: 0 }] });
      sender.trySend('after abort');
      expect(text(await receiver.recv())).toBe('after abort');
      sender.close();
      receiver.close();
    });

    it('an aborted recv in the middle of the queue leaves the others in order', async () => {
      const { sender, receiver } = pair(mode, 'abortmid');
      const controller = new AbortController();
      const first = receiver.recv();
      const second = receiver.recv({ signal: controller.signal });
      const third = receiver.recv();
      controller.abort();
      await expect(second).rejects.toMatchObject({ name: 'AbortError' });
      sender.trySend('one');
      sender.trySend('two');
      expect(text(await first)).toBe('one');
      expect(text(await third)).toBe('two');
      sender.close();
      receiver.close();
    });

    it('send on a full ring rejects with ERR_RINGWIRE_TIMEOUT or AbortError and sending resumes after', async () => {
      const { name, sender, receiver } = pair(mode, 'sto');
      while (sender.trySend(new Uint8Array(1000)));
      await expect(sender.send(new Uint8Array(1000), { timeout: 30 })).rejects.toMatchObject({ code: 'ERR_RINGWIRE_TIMEOUT' });
      await expect(sender.send(new Uint8Array(1000), { signal: AbortSignal.timeout(30) })).rejects.toMatchObject({ name: 'AbortError' });
      expect(stats(name)).toMatchObject({ sendersWaiting: 0, senders: [{ waiters: 0 }] });
      while (receiver.tryRecv());
      await sender.send('resumed', { timeout: 1000 });
      expect(text(receiver.tryRecv())).toBe('resumed');
      sender.close();
      receiver.close();
    });

    it('sendSync and recvSync time out with ERR_RINGWIRE_TIMEOUT', () => {
      const { sender, receiver } = pair(mode, 'syncto');
      expect(() => receiver.recvSync({ timeout: 20 })).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_TIMEOUT' }));
      while (sender.trySend(new Uint8Array(1000)));
      expect(() => sender.sendSync(new Uint8Array(1000), { timeout: 20 })).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_TIMEOUT' }));
      expect(receiver.recvSync({ timeout: 20 })).toHaveLength(1000);
      sender.close();
      receiver.close();
    });
  });

  describe('closing', () => {
    it('a pending recv or send rejects with ERR_RINGWIRE_CLOSED when its endpoint closes', async () => {
      const { name, sender, receiver } = pair(mode, 'closewait');
      // Broadcast: a sender with no receiver joined never waits; one that does not read fills it.
      const holder = mode === 'broadcast' ? openReceiver(name) : undefined;
      const pending = receiver.recv();
      receiver.close();
      await expect(pending).rejects.toMatchObject({ code: 'ERR_RINGWIRE_CLOSED' });
      while (sender.trySend(new Uint8Array(1000)));
      const blocked = sender.send(new Uint8Array(1000));
      sender.close();
      await expect(blocked).rejects.toMatchObject({ code: 'ERR_RINGWIRE_CLOSED' });
      holder?.close();
    });

    it('every use after close throws ERR_RINGWIRE_CLOSED; close is idempotent', async () => {
      const { sender, receiver } = pair(mode, 'closed');
      sender.close();
      receiver.close();
      sender.close();
      receiver.close();
      const closedError = expect.objectContaining({ code: 'ERR_RINGWIRE_CLOSED' });
      expect(() => sender.trySend('x')).toThrow(closedError);
      expect(() => sender.sendSync('x')).toThrow(closedError);
      await expect(sender.end()).rejects.toMatchObject({ code: 'ERR_RINGWIRE_CLOSED' }); // a promise, as send()'s
      await expect(sender.send('x')).rejects.toMatchObject({ code: 'ERR_RINGWIRE_CLOSED' });
      expect(() => receiver.tryRecv()).toThrow(closedError);
      expect(() => receiver.recvSync()).toThrow(closedError);
      await expect(receiver.recv()).rejects.toMatchObject({ code: 'ERR_RINGWIRE_CLOSED' });
    });
  });

  describe('bad input', () => {
    const invalidArg = expect.objectContaining({ code: 'ERR_RINGWIRE_INVALID_ARG' });

    it('a 26-character name with every allowed character class works', () => {
      const name = `Az09._-${'k'.repeat(19)}`;
      expect(name).toHaveLength(layout.MAX_NAME_LENGTH);
      createChannel(name, { capacity: 1024, mode });
      try {
        const sender = openSender(name);
        sender.close();
      } finally {
        unlinkChannel(name);
      }
    });

    it.each([0, 1000, 512, 3.5, -4096, 2 ** 31, NaN, '4096'])('capacity %j is refused', (capacity) => {
      expect(() => createChannel(channelName('cap'), { capacity: capacity as number, mode })).toThrow(invalidArg);
    });

    it('bad options are refused with ERR_RINGWIRE_INVALID_ARG', () => {
      const name = channelName('opts');
      expect(() => createChannel(name, { mode, wait: 'sleep' as 'spin' })).toThrow(invalidArg);
      expect(() => createChannel(name, { mode, capacty: 4096 } as object)).toThrow(invalidArg);
      expect(() => createChannel(name, 'big' as unknown as object)).toThrow(invalidArg);
      createChannel(name, { capacity: 4096, mode });
      expect(() => openSender(name, { wait: 'nap' as 'spin' })).toThrow(invalidArg);
      expect(() => openSender(name, { spinMicros: -1 })).toThrow(invalidArg);
      expect(() => openSender(name, { wait: 'semaphore' })).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_INCOMPATIBLE' }));
      const sender = openSender(name);
      const receiver = openReceiver(name);
      expect(() => sender.trySend(42 as unknown as string)).toThrow(invalidArg);
      expect(() => sender.trySend([1, 2] as unknown as Uint8Array)).toThrow(invalidArg);
      expect(() => receiver.recvSync({ timeout: -1 })).toThrow(invalidArg);
      expect(() => sender.sendSync('x', { timeout: NaN })).toThrow(invalidArg);
      return Promise.all([
        expect(receiver.recv({ timeout: 'soon' as unknown as number })).rejects.toMatchObject({ code: 'ERR_RINGWIRE_INVALID_ARG' }),
        expect(receiver.recv({ signal: {} as AbortSignal })).rejects.toMatchObject({ code: 'ERR_RINGWIRE_INVALID_ARG' }),
        expect(sender.send(null as unknown as string)).rejects.toMatchObject({ code: 'ERR_RINGWIRE_INVALID_ARG' }),
      ]).finally(() => {
        sender.close();
        receiver.close();
      });
    });
  });

  describe('batches', () => {
    it('trySendMany writes as many as fit, in order, and says how many', () => {
      const { name, sender, receiver } = pair(mode, 'many', 1024);
      const messages = Array.from({ length: 20 }, (_, i) => `batch ${i}`.padEnd(100, '.'));
      const record = recordBytes(100); // 112
      const fit = Math.floor(1024 / record); // 9
      const first = sender.trySendMany(messages);
      expect(first).toBe(fit);
      expect(first).toBe(9);
      // 9 records of 112 bytes, then the 16 bytes left at the end of the ring went to padding
      // (MPMC: a skip record) for the tenth, which must start over at offset 0.
      expect(stats(name).bytesUsed).toBe(fit * record + (1024 - fit * record));
      const got: string[] = [];
      for (let m = receiver.tryRecv(); m !== undefined; m = receiver.tryRecv()) got.push(text(m)!);
      expect(sender.trySendMany(messages, first, 12)).toBe(3);
      for (let m = receiver.tryRecv(); m !== undefined; m = receiver.tryRecv()) got.push(text(m)!);
      expect(got).toEqual(messages.slice(0, 12));
      expect(sender.trySendMany([])).toBe(0);
      sender.close();
      receiver.close();
    });

    it('trySendMany stops before a message that can never fit; the next call throws ERR_RINGWIRE_TOO_LARGE', () => {
      const { sender, receiver } = pair(mode, 'manybig', 1024);
      const batch = [new Uint8Array(8), new Uint8Array(2000), new Uint8Array(8)];
      expect(sender.trySendMany(batch)).toBe(1);
      expect(() => sender.trySendMany(batch, 1)).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_TOO_LARGE' }));
      expect(() => sender.trySendMany(batch, 0, 4)).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_INVALID_ARG' }));
      expect(() => sender.trySendMany('abc' as unknown as string[])).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_INVALID_ARG' }));
      expect(receiver.tryRecv()).toHaveLength(8);
      sender.close();
      receiver.close();
    });

    it('poll hands out views of the ring in order, up to the limit, without copying (broadcast: checked copies)', () => {
      const { sender, receiver } = pair(mode, 'poll');
      for (let i = 0; i < 10; i++) sender.trySend(`polled ${i}`);
      const seen: string[] = [];
      let view: Uint8Array | undefined;
      const handled = receiver.poll((bytes, offset, length) => {
        view = bytes;
        seen.push(Buffer.from(bytes.buffer, bytes.byteOffset + offset, length).toString());
      }, 4);
      expect(handled).toBe(4);
      // The mapping itself, not a copy; broadcast hands out a copy of each message, checked
      // whole (the sender may overwrite a record under a view: README, "Broadcast").
      if (mode === 'broadcast') expect(view!.length).toBe('polled 3'.length);
      else expect(view!.length).toBeGreaterThan(4096);
      expect(receiver.poll((bytes, offset, length) => {
        seen.push(Buffer.from(bytes.buffer, bytes.byteOffset + offset, length).toString());
      })).toBe(6);
      expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => `polled ${i}`));
      expect(receiver.poll(() => {})).toBe(0);
      sender.close();
      receiver.close();
    });

    it('a poll handler that throws consumes its message; receiving inside a handler is refused', () => {
      const { sender, receiver } = pair(mode, 'pollthrow');
      sender.trySendMany(['a', 'b', 'c']);
      expect(() => receiver.poll(() => { throw new Error('boom'); })).toThrow('boom');
      expect(() => receiver.poll(() => { receiver.tryRecv(); })).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_INVALID_ARG' }));
      expect(text(receiver.tryRecv())).toBe('c');
      receiver.close();
      expect(() => receiver.poll(() => {})).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_CLOSED' }));
      sender.close();
    });
  });

  describe('zero-copy sends', () => {
    it('tryClaim hands out room in the mapping; nothing is visible until commit()', async () => {
      const { sender, receiver } = pair(mode, 'claim', 1024);
      const got: (string | undefined | null)[] = [];
      for (let i = 0; i < 3; i++) {
        const offset = sender.tryClaim(5);
        expect(offset).toBeGreaterThanOrEqual(0);
        sender.buffer.set(new TextEncoder().encode(`msg ${i}`), offset);
        expect(receiver.tryRecv()).toBeUndefined();
        expect(() => sender.trySend('x')).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_INVALID_ARG' }));
        await expect(sender.end()).rejects.toMatchObject({ code: 'ERR_RINGWIRE_INVALID_ARG' });
        sender.commit();
        got.push(text(receiver.tryRecv()));
      }
      expect(got).toEqual(['msg 0', 'msg 1', 'msg 2']);
      expect(receiver.tryRecv()).toBeUndefined();
      sender.close();
      receiver.close();
    });

    // Found on MPMC: its claim moves the claim position at once, so stats() counts an
    // uncommitted claim in bytesUsed (16 here), where SPSC counts nothing until commit(); the
    // documentation states no difference between the modes here.
    it('stats().bytesUsed counts a claim once committed (MPMC: from the claim, which takes the space at once)', () => {
      const { name, sender, receiver } = pair(mode, 'claimused', 1024);
      expect(sender.tryClaim(5)).toBeGreaterThanOrEqual(0);
      expect(stats(name).bytesUsed).toBe(mode === 'mpmc' ? recordBytes(5) : 0);
      sender.commit();
      expect(stats(name).bytesUsed).toBe(recordBytes(5));
      sender.close();
      receiver.close();
    });

    it('tryClaim returns -1 when full, pads across the end of the ring, and checks its length', () => {
      const { name, sender, receiver } = pair(mode, 'claimfull', 1024);
      const max = stats(name).maxRecord;
      let claimed = 0;
      for (let offset = sender.tryClaim(100); offset >= 0; offset = sender.tryClaim(100)) {
        sender.commit();
        claimed++;
      }
      expect(claimed).toBe(Math.floor(1024 / recordBytes(100)));
      expect(claimed).toBe(9);
      for (let i = 0; i < 9; i++) expect(receiver.tryRecv()).toHaveLength(100);
      expect(receiver.tryRecv()).toBeUndefined();
      // The ring now starts 16 bytes before its end: the next claim pads and goes to offset 0.
      const offset = sender.tryClaim(100);
      expect(offset).toBeGreaterThanOrEqual(0);
      sender.buffer.fill(7, offset, offset + 100);
      sender.commit();
      expect([...receiver.tryRecv()!]).toEqual(new Array(100).fill(7));
      expect(() => sender.tryClaim(max + 1)).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_TOO_LARGE' }));
      expect(() => sender.tryClaim(-1)).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_INVALID_ARG' }));
      expect(() => sender.tryClaim(1.5)).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_INVALID_ARG' }));
      sender.close();
      receiver.close();
    });

    it('claims never committed are dropped when the sender closes', () => {
      const { name, sender, receiver } = pair(mode, 'claimdrop');
      sender.trySend('kept');
      sender.tryClaim(10);
      sender.close();
      const next = openSender(name);
      next.trySend('after');
      expect(text(receiver.tryRecv())).toBe('kept');
      expect(text(receiver.tryRecv())).toBe('after');
      expect(receiver.tryRecv()).toBeUndefined();
      next.close();
      receiver.close();
    });
  });

  describe('receiving into the caller\'s memory', () => {
    it('tryRecvInto copies the next message into a buffer the caller reuses, and says how long it is', () => {
      const { sender, receiver } = pair(mode, 'into');
      sender.trySend('first');
      sender.trySend(new Uint8Array([9, 8, 7]));
      sender.trySend('');
      const target = new Uint8Array(16).fill(0xee);
      expect(receiver.tryRecvInto(target)).toBe(5);
      expect(Buffer.from(target.subarray(0, 5)).toString()).toBe('first');
      expect(receiver.tryRecvInto(target, 10)).toBe(3);
      expect([...target.subarray(10, 13)]).toEqual([9, 8, 7]);
      expect(receiver.tryRecvInto(target)).toBe(0);
      expect(receiver.tryRecvInto(target)).toBe(-1);
      sender.close();
      receiver.close();
    });

    it('a message longer than the room left throws ERR_RINGWIRE_TOO_LARGE and stays in the channel', () => {
      const { sender, receiver } = pair(mode, 'intobig');
      sender.trySend('twelve bytes');
      expect(() => receiver.tryRecvInto(new Uint8Array(16), 8)).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_TOO_LARGE', length: 12 }));
      expect(() => receiver.tryRecvInto(new Uint8Array(4), 5)).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_INVALID_ARG' }));
      expect(() => receiver.tryRecvInto([] as unknown as Uint8Array)).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_INVALID_ARG' }));
      expect(text(receiver.tryRecv())).toBe('twelve bytes');
      sender.close();
      receiver.close();
    });

    it('recvInto waits for a message and copies it into the caller\'s buffer, in turn with recv(); null once ended', async () => {
      const { sender, receiver } = pair(mode, 'rinto');
      const target = new Uint8Array(32).fill(0xee);
      const first = receiver.recvInto(target, 4);
      const second = receiver.recv();
      const third = receiver.recvInto(target, 20);
      sender.trySend('one');
      sender.trySend('two');
      sender.trySend('three');
      expect(await first).toBe(3);
      expect(text(await second)).toBe('two');
      expect(await third).toBe(5);
      expect(text(target.subarray(4, 7))).toBe('one');
      expect(text(target.subarray(20, 25))).toBe('three');
      // Already there: resolves at once.
      sender.trySend('four');
      expect(await receiver.recvInto(target)).toBe(4);
      const last = receiver.recvInto(target);
      await sender.end();
      expect(await last).toBeNull();
      expect(await receiver.recvInto(target)).toBeNull();
      sender.close();
      receiver.close();
    });

    it('recvInto: too little room rejects with ERR_RINGWIRE_TOO_LARGE and leaves the message; timeouts and aborts take nothing', async () => {
      const { sender, receiver } = pair(mode, 'rintobad');
      await expect(receiver.recvInto(new Uint8Array(8), 0, { timeout: 20 })).rejects.toMatchObject({ code: 'ERR_RINGWIRE_TIMEOUT' });
      const controller = new AbortController();
      const aborted = receiver.recvInto(new Uint8Array(8), 0, { signal: controller.signal });
      controller.abort();
      await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
      const small = receiver.recvInto(new Uint8Array(8), 2);
      const big = receiver.recvInto(new Uint8Array(16));
      sender.trySend('twelve bytes');
      await expect(small).rejects.toMatchObject({ code: 'ERR_RINGWIRE_TOO_LARGE', length: 12 });
      expect(await big).toBe(12);
      await expect(receiver.recvInto(new Uint8Array(4), 5)).rejects.toMatchObject({ code: 'ERR_RINGWIRE_INVALID_ARG' });
      sender.close();
      receiver.close();
    });
  });
});

// What SPSC does its own way: one endpoint per role, a receiver that publishes the space it
// frees in batches, and a sender that may hold several claims and commit them at once.
describe('spsc only', () => {
  it('a second sender or receiver on an spsc channel gets ERR_RINGWIRE_BUSY until the first closes', () => {
    const { name, sender, receiver } = pair('spsc', 'busy');
    expect(() => openSender(name)).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_BUSY' }));
    expect(() => openReceiver(name)).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_BUSY' }));
    sender.close();
    receiver.close();
    const again = openSender(name);
    const receiverAgain = openReceiver(name);
    expect(again.trySend('x')).toBe(true);
    expect(text(receiverAgain.tryRecv())).toBe('x');
    again.close();
    receiverAgain.close();
  });

  it('the space a receiver frees reaches the sender when it publishes: here, once it finds the ring empty', () => {
    const { sender, receiver } = pair('spsc', 'full');
    const chunk = new Uint8Array(500);
    let sent = 0;
    while (sender.trySend(chunk)) sent++;
    expect(sent).toBe(8);
    expect(receiver.tryRecv()).toHaveLength(500);
    expect(sender.trySend(chunk)).toBe(false); // the receiver has not published yet...
    receiver.tryRecv();
    for (let i = 0; i < 7; i++) receiver.tryRecv(); // ...until it finds the ring empty
    expect(receiver.tryRecv()).toBeUndefined();
    expect(sender.trySend(chunk)).toBe(true);
    sender.close();
    receiver.close();
  });

  it('a sender holds several claims and commit() publishes them all; nothing is visible before', async () => {
    const { name, sender, receiver } = pair('spsc', 'claim', 1024);
    const offsets: number[] = [];
    for (let i = 0; i < 3; i++) {
      const offset = sender.tryClaim(5);
      expect(offset).toBeGreaterThanOrEqual(0);
      sender.buffer.set(new TextEncoder().encode(`msg ${i}`), offset);
      offsets.push(offset);
    }
    expect(receiver.tryRecv()).toBeUndefined();
    expect(stats(name).bytesUsed).toBe(0);
    expect(() => sender.trySend('x')).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_INVALID_ARG' }));
    await expect(sender.end()).rejects.toMatchObject({ code: 'ERR_RINGWIRE_INVALID_ARG' });
    sender.commit();
    expect([0, 1, 2].map(() => text(receiver.tryRecv()))).toEqual(['msg 0', 'msg 1', 'msg 2']);
    sender.close();
    receiver.close();
  });

  it('claims held together fill the ring; the padding across its end waits for their commit', () => {
    const { sender, receiver } = pair('spsc', 'claimfull', 1024);
    let claimed = 0;
    while (sender.tryClaim(100) >= 0) claimed++;
    expect(claimed).toBe(9);
    sender.commit();
    for (let i = 0; i < 9; i++) expect(receiver.tryRecv()).toHaveLength(100);
    expect(receiver.tryRecv()).toBeUndefined();
    // The ring now starts 16 bytes before its end: the next claim pads and goes to offset 0.
    const offset = sender.tryClaim(100);
    expect(offset).toBeGreaterThanOrEqual(0);
    sender.buffer.fill(7, offset, offset + 100);
    sender.commit();
    expect([...receiver.tryRecv()!]).toEqual(new Array(100).fill(7));
    sender.close();
    receiver.close();
  });
});

// What MPMC does its own way (README, "MPMC"; ring/mpmc.ts): any number of senders and
// receivers, one claim per sender at a time, and space released as each record is taken.
describe('mpmc only', () => {
  it('a second sender and receiver open beside the first; each message goes to one receiver', () => {
    const { name, sender, receiver } = pair('mpmc', 'many');
    const sender2 = openSender(name);
    const receiver2 = openReceiver(name);
    sender.trySend('one');
    sender2.trySend('two');
    expect(text(receiver2.tryRecv())).toBe('one');
    expect(text(receiver.tryRecv())).toBe('two');
    expect(receiver.tryRecv()).toBeUndefined();
    expect(receiver2.tryRecv()).toBeUndefined();
    expect(stats(name)).toMatchObject({ senders: [{ open: true }, { open: true }], receivers: [{ open: true }, { open: true }] });
    for (const endpoint of [sender, sender2, receiver, receiver2]) endpoint.close();
  });

  it('a sender holds one claim at a time: a second tryClaim before commit() is ERR_RINGWIRE_INVALID_ARG', () => {
    const { sender, receiver } = pair('mpmc', 'claim1', 1024);
    const offset = sender.tryClaim(5);
    expect(offset).toBeGreaterThanOrEqual(0);
    expect(() => sender.tryClaim(5)).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_INVALID_ARG' }));
    sender.buffer.set(new TextEncoder().encode('msg 0'), offset);
    sender.commit();
    expect(text(receiver.tryRecv())).toBe('msg 0');
    expect(sender.tryClaim(5)).toBeGreaterThanOrEqual(0); // committed: the next claim is allowed
    sender.commit();
    sender.close();
    receiver.close();
  });

  it('the space of a record comes back to the senders as soon as it is taken', () => {
    const { sender, receiver } = pair('mpmc', 'full');
    const chunk = new Uint8Array(500);
    let sent = 0;
    while (sender.trySend(chunk)) sent++;
    expect(sent).toBe(8);
    expect(receiver.tryRecv()).toHaveLength(500);
    expect(sender.trySend(chunk)).toBe(true);
    expect(sender.trySend(chunk)).toBe(false);
    sender.close();
    receiver.close();
  });
});
