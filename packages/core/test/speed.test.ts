// The fast paths of issue 10 keep every promise: received copies are the caller's at every
// size, batched publishing loses nothing (not at a task's end, an exit or a kill), and
// waiting adapts to the machine.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { createChannel, openReceiver, openSender, stats } from '../src/index.js';
import { layout, native } from '../src/native.js';
import { channelName, fixture, runChild } from './helpers.js';

const bytesOf = (size: number, seed: number) => Uint8Array.from({ length: size }, (_, i) => (seed * 31 + i * 7) & 0xff);

/** Runs `command args`, waits for it to exit with code 0 and returns the JSON it printed. */
async function jsonOf(command: string, args: string[]) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (chunk) => { out += chunk; });
  const [code] = await once(child, 'exit');
  expect(code).toBe(0);
  return JSON.parse(out);
}

/** fixtures/burst.mjs sends `count` messages in one task, says so and is killed mid-task. */
async function burstThenKilled(name: string, count: number, onSent = () => {}): Promise<void> {
  const child = spawn(process.execPath, [fixture('burst.mjs'), name, String(count), 'spin'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  await once(child.stdout!, 'data'); // 'sent': all written, the task still running
  onSent();
  child.kill('SIGKILL');
  await exited;
}

describe('received copies', () => {
  it('every size from 0 to 5000 bytes arrives whole, and each message stays as it arrived', () => {
    const name = channelName('slab');
    createChannel(name, { capacity: 1 << 16 });
    const sender = openSender(name);
    const receiver = openReceiver(name);
    const kept: Uint8Array[] = [];
    const sizes = [0, 1, 15, 16, 63, 64, 65, 100, 255, 256, 1000, 1024, 4095, 4096, 4097, 5000];
    for (let round = 0; round < 40; round++) {
      for (const size of sizes) {
        expect(sender.trySend(bytesOf(size, round))).toBe(true);
        const got = receiver.tryRecv()!;
        expect(got.length).toBe(size);
        kept.push(got);
      }
    }
    // Later receives never wrote over earlier messages, and writing one touches no other.
    let k = 0;
    for (let round = 0; round < 40; round++) {
      for (const size of sizes) expect(kept[k++]).toEqual(bytesOf(size, round));
    }
    kept[1].fill(0xaa);
    kept[7].fill(0x55);
    expect(kept[2]).toEqual(bytesOf(sizes[2], 0));
    expect(kept[8]).toEqual(bytesOf(sizes[8], 0));
    sender.close();
    receiver.close();
  });

  it("a message's shared ArrayBuffer can be transferred away without breaking later receives", () => {
    const name = channelName('slabxfer');
    createChannel(name, { capacity: 1 << 16 });
    const sender = openSender(name);
    const receiver = openReceiver(name);
    sender.trySend(bytesOf(200, 1));
    const first = receiver.tryRecv()!;
    const moved = structuredClone(first.buffer, { transfer: [first.buffer] });
    expect(first.buffer.byteLength).toBe(0); // detached here: the slab went with `moved`
    expect(new Uint8Array(moved, 0, 200).length).toBe(200);
    for (let i = 0; i < 100; i++) {
      sender.trySend(bytesOf(200, i));
      expect(receiver.tryRecv()).toEqual(bytesOf(200, i));
    }
    sender.close();
    receiver.close();
  });
});

describe('batched publishing', () => {
  it('a receiver in the same thread sees every message at once; stats count them', () => {
    const name = channelName('batch');
    createChannel(name, { capacity: 1 << 16 });
    const sender = openSender(name);
    const receiver = openReceiver(name);
    for (let i = 0; i < 40; i++) expect(sender.trySend(`m${i}`)).toBe(true);
    expect(stats(name).messagesSent).toBe(40);
    for (let i = 0; i < 40; i++) expect(Buffer.from(receiver.tryRecv()!).toString()).toBe(`m${i}`);
    expect(receiver.tryRecv()).toBeUndefined();
    sender.close();
    receiver.close();
  });

  it("the first send of a task is published at once, the next held back; with wait 'spin' every one at once", async () => {
    for (const wait of ['auto', 'spin'] as const) {
      const name = channelName(`first${wait}`);
      createChannel(name, { capacity: 1 << 16, wait: wait === 'spin' ? 'spin' : 'auto' });
      const segment = new native.Segment(name);
      const producer = () => Atomics.load(new Int32Array(segment.buffer), layout.OFF_PRODUCER_POSITION >> 2);
      const sender = openSender(name);
      await Promise.resolve(); // a fresh task
      sender.trySend(new Uint8Array(8)); // a 16-byte record
      expect(producer()).toBe(16);
      sender.trySend(new Uint8Array(8));
      expect(producer()).toBe(wait === 'spin' ? 32 : 16);
      await new Promise((resolve) => setImmediate(resolve)); // the task ends: published
      expect(producer()).toBe(32);
      sender.close();
      segment.close();
    }
  });

  it('messages held back at process.exit() are published on the way out', async () => {
    const name = channelName('bexit');
    createChannel(name, { capacity: 1 << 16 });
    const child = await runChild('burst.mjs', [name, '40', 'exit']);
    expect(child.code).toBe(0);
    // Read before any receiver could repair anything: the exit itself published them.
    expect(stats(name).messagesSent).toBe(40);
    const receiver = openReceiver(name);
    for (let i = 0; i < 40; i++) expect(Buffer.from(receiver.tryRecv()!).toString()).toBe(`burst ${i}`);
    receiver.close();
  });

  it('a sender killed before it published what it wrote loses nothing: the receiver recovers it', async () => {
    const name = channelName('bkill');
    createChannel(name, { capacity: 1 << 16 });
    const receiver = openReceiver(name);
    await burstThenKilled(name, 20, () => expect(stats(name).messagesSent).toBeLessThan(20)); // most held back
    const got: string[] = [];
    await expect((async () => { for await (const m of receiver) got.push(Buffer.from(m).toString()); })())
      .rejects.toMatchObject({ code: 'ERR_RINGWIRE_PEER_DEAD' });
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `burst ${i}`));
    expect(stats(name).messagesSent).toBe(20);
    receiver.close();
  });

  it('a sender opening after one killed before publishing sends after what it wrote', async () => {
    const name = channelName('bkill2');
    createChannel(name, { capacity: 1 << 16 });
    await burstThenKilled(name, 20);
    const sender = openSender(name);
    sender.trySend('after');
    sender.close();
    const receiver = openReceiver(name);
    const got: string[] = [];
    for (let m = receiver.tryRecv(); m !== undefined; m = receiver.tryRecv()) got.push(Buffer.from(m).toString());
    expect(got).toEqual([...Array.from({ length: 20 }, (_, i) => `burst ${i}`), 'after']);
    receiver.close();
  });
});

/**
 * Runs fixtures/one-cpu-spin.mjs, under `taskset -c 0` if `pin`: the checks one 20 ms wait
 * made. With `peerCpu`, on a channel whose sender is a process pinned to that CPU.
 */
async function spinChecks(pin: boolean, peerCpu?: number): Promise<{ checks: number; timedOut: boolean }> {
  const name = channelName(pin ? `spin1${peerCpu ?? ''}` : 'spin2');
  let peer: ReturnType<typeof spawn> | undefined;
  if (peerCpu !== undefined) {
    createChannel(name, { capacity: 4096 });
    peer = spawn('taskset', ['-c', String(peerCpu), process.execPath, fixture('hold.mjs'), 'sender', name, '0'],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    await once(peer.stdout!, 'data'); // open
  }
  try {
    const args = [process.execPath, fixture('one-cpu-spin.mjs'), name, ...(peer ? ['existing'] : [])];
    return pin ? await jsonOf('taskset', ['-c', '0', ...args]) : await jsonOf(args[0], args.slice(1));
  } finally {
    if (peer) {
      const exited = once(peer, 'exit');
      peer.kill('SIGKILL');
      await exited;
    }
  }
}

describe('waiting that knows the machine', () => {
  it('with one CPU a wait parks at once (the peer could not run while it spun); with two it spins first', async () => {
    const one = await spinChecks(true);
    expect(one.timedOut).toBe(true);
    expect(one.checks).toBeLessThanOrEqual(8); // before, announce, after: no spin loop
    if (availableParallelism() >= 2) {
      const two = await spinChecks(false);
      expect(two.timedOut).toBe(true);
      expect(two.checks).toBeGreaterThanOrEqual(16); // at least one round of the spin loop
    }
  });

  it('pinned to one CPU, it spins if its peer is pinned to another, and not if to the same', async () => {
    const same = await spinChecks(true, 0);
    expect(same.checks).toBeLessThanOrEqual(8);
    if (availableParallelism() >= 2) {
      const apart = await spinChecks(true, 1);
      expect(apart.checks).toBeGreaterThanOrEqual(16);
    }
  });

  it('with one CPU a sender wakes its parked receiver once per task, not for every publish', async () => {
    const name = channelName('wake1');
    const seen = await jsonOf('taskset', ['-c', '0', process.execPath, fixture('one-cpu-wake.mjs'), name]);
    expect(seen.duringTask).toBe(0); // 100 messages, 4 publishes, no wake while the task ran
    expect(seen.after).toBe(1); // the end of the task woke it
    expect(seen.first).toBe('m0');
    expect(seen.rest).toBe(99);
  });

  it('spins shrink while they keep failing and come back when one pays', () => {
    const name = channelName('adapt');
    createChannel(name, { capacity: 4096 });
    const receiver = openReceiver(name, { spinMicros: 64 });
    const sender = openSender(name);
    const budget = () => (receiver as unknown as { spinBudget: number }).spinBudget;
    expect(budget()).toBe(64);
    for (let i = 0; i < 3; i++) expect(() => receiver.recvSync({ timeout: 1 })).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_TIMEOUT' }));
    if (availableParallelism() >= 2) {
      expect(budget()).toBeLessThanOrEqual(16);
      for (let i = 0; i < 10; i++) expect(() => receiver.recvSync({ timeout: 1 })).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_TIMEOUT' }));
      expect(budget()).toBe(1);
      // A spin that pays (the message is there while it spins) restores the full budget.
      sender.trySend('x');
      const spin = (receiver as unknown as { spin(): boolean }).spin.call(receiver);
      expect(spin).toBe(true);
      expect(budget()).toBe(64);
    }
    sender.close();
    receiver.close();
  });
});

describe('waking a sender parked on a full ring', () => {
  it('happens once a quarter of the ring is free, not for every few records', async () => {
    const name = channelName('hyst');
    createChannel(name, { capacity: 4096 });
    const sender = openSender(name, { spinMicros: 0 });
    const receiver = openReceiver(name);
    const message = new Uint8Array(56); // 64-byte records: 64 fill the ring
    let sent = 0;
    while (sender.trySend(message)) sent++;
    expect(sent).toBe(64);
    const wakes: number[] = [];
    const bell = (receiver.protocol as unknown as { doorbell: { wakePeers(): void } }).doorbell;
    const wakePeers = bell.wakePeers;
    bell.wakePeers = function counted(this: unknown) {
      wakes.push(performance.now());
      wakePeers.call(this);
    };
    const pending = sender.send(message, { timeout: 10_000 });
    // 8 records (512 bytes, an eighth of the ring) taken and published: no wake yet.
    for (let i = 0; i < 8; i++) expect(receiver.tryRecv()).toBeDefined();
    receiver.publishNow();
    expect(wakes).toEqual([]);
    // 16 records: a quarter of the ring is free, and the sender is woken.
    for (let i = 0; i < 8; i++) expect(receiver.tryRecv()).toBeDefined();
    receiver.publishNow();
    expect(wakes.length).toBe(1);
    await pending;
    sender.close();
    receiver.close();
  });
});
