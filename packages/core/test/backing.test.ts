// Where a channel lives besides a named POSIX shared-memory object: in a regular file (a name
// with a '/', file-backed, surviving restarts; sync() for crashes of the machine), in an
// anonymous sealed memfd handed to child processes by descriptor, and how named semaphores
// ('named-semaphore') are created, checked and removed.
import { execFileSync } from 'node:child_process';
import {
  chmodSync, chownSync, closeSync, existsSync, ftruncateSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync,
  rmSync, statSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  createAnonymousChannel, createChannel, gc, openReceiver, openSender, stats, unlinkChannel, type AnonymousChannel,
} from '../src/index.js';
import { layout } from '../src/native.js';
import { checkMessage, makeMessage } from './fixtures/messages.mjs';
import { readTagged } from './fixtures/tagged.mjs';
import { channelName, freshName, holder, RUN_PREFIX, runChild, until } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ringwire-files-'));
const paths: string[] = [];
const anonymous: AnonymousChannel[] = [];

/** A fresh file-backed channel path in this run's directory, removed after the test. */
function channelPath(tag: string): string {
  const path = join(dir, `${freshName(tag)}.ring`);
  paths.push(path);
  return path;
}

/** An anonymous channel closed after the test. */
function anonymousChannel(options?: Parameters<typeof createAnonymousChannel>[0]): AnonymousChannel {
  const channel = createAnonymousChannel(options);
  anonymous.push(channel);
  return channel;
}

afterEach(() => {
  for (const path of paths.splice(0)) rmSync(path, { force: true });
  for (const channel of anonymous.splice(0)) channel.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const code = (expected: string) => expect.objectContaining({ code: expected });
const text = (message: Uint8Array | null | undefined) => Buffer.from(message!).toString();

/** Descriptors of this process that lead to an anonymous channel (memfd "ringwire"). */
function memfdsOpen(): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('/memfd:ringwire')) count++;
    } catch {
      // closed while listing
    }
  }
  return count;
}

/** The entries of /dev/shm now. */
const shmEntries = () => new Set(readdirSync('/dev/shm'));

describe('file-backed channels (a name with a /)', () => {
  it('are created 0600, exclusively, with every page allocated; every name-taking function takes the path', () => {
    const path = channelPath('made');
    createChannel(path, { capacity: 1 << 16 });
    const info = statSync(path);
    expect(info.mode & 0o777).toBe(0o600);
    expect(info.size).toBe(layout.HEADER_SIZE + (1 << 16));
    expect(info.blocks * 512).toBeGreaterThanOrEqual(info.size); // allocated, not sparse
    expect(() => createChannel(path)).toThrow(code('ERR_RINGWIRE_EXISTS'));
    expect(stats(path)).toMatchObject({ name: path, backing: 'file', mode: 'spsc', capacity: 1 << 16, wait: 'futex' });
    const sender = openSender(path);
    const receiver = openReceiver(path);
    expect(sender.trySend('through a file')).toBe(true);
    expect(text(receiver.tryRecv())).toBe('through a file');
    sender.close();
    receiver.close();
    expect(unlinkChannel(path)).toBe(true);
    expect(existsSync(path)).toBe(false);
    expect(unlinkChannel(path)).toBe(false);
    expect(() => openReceiver(path)).toThrow(code('ERR_RINGWIRE_NOT_FOUND'));
  });

  it('refuse a missing directory, a directory path and a path too long', () => {
    expect(() => createChannel(join(dir, 'no-such-dir', 'x.ring'))).toThrow(code('ERR_RINGWIRE_NOT_FOUND'));
    expect(() => createChannel(`${dir}/`)).toThrow(code('ERR_RINGWIRE_INVALID_NAME'));
    expect(() => openSender(`${dir}/${'x'.repeat(4096)}`)).toThrow(code('ERR_RINGWIRE_INVALID_NAME'));
    expect(() => openSender(`${dir}/a\0b`)).toThrow(code('ERR_RINGWIRE_INVALID_NAME'));
  });

  it('keep what was sent and not received while every process exits and restarts, in order', async () => {
    const path = channelPath('restart');
    createChannel(path, { capacity: 1 << 22 });
    // A producer sends 0..2999 and exits without ending the stream; a receiver takes 0..999
    // and exits; a second producer sends 3000..4999 and ends it; this process gets the rest.
    let result = await runChild('producer.mjs', [path, '3000', 'async', '0', 'no-end']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    result = await runChild('take.mjs', [path, '1000', '0']);
    expect(result).toMatchObject({ code: 0, stdout: 'took 1000\n', stderr: '' });
    result = await runChild('producer.mjs', [path, '2000', 'async', '3000']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(stats(path)).toMatchObject({ messagesSent: 5000, messagesReceived: 1000, ended: true });
    const receiver = openReceiver(path);
    let seq = 1000;
    for (let message = await receiver.recv({ timeout: 10_000 }); message !== null; message = await receiver.recv({ timeout: 10_000 })) {
      expect(checkMessage(message, seq)).toBeNull();
      seq++;
    }
    expect(seq).toBe(5000);
    receiver.close();
  }, 120_000);

  it('lose nothing when a sender is killed -9: the next receiver gets all it sent, a new sender carries on', async () => {
    const path = channelPath('kill');
    createChannel(path, { capacity: 1 << 16 });
    const held = await holder('sender', path, '50');
    await held.kill();
    const receiver = openReceiver(path);
    for (let i = 0; i < 50; i++) expect(text(await receiver.recv({ timeout: 10_000 }))).toBe(`before death ${i}`);
    await expect(receiver.recv({ timeout: 10_000 })).rejects.toThrow(code('ERR_RINGWIRE_PEER_DEAD'));
    const sender = openSender(path);
    await sender.send('after the death');
    expect(text(await receiver.recv({ timeout: 10_000 }))).toBe('after the death');
    sender.close();
    receiver.close();
  });

  it('sync() publishes what the endpoint held back, then resolves once msync has; it rejects once closed', async () => {
    const path = channelPath('sync');
    createChannel(path, { capacity: 1 << 16 });
    const sender = openSender(path);
    const receiver = openReceiver(path);
    // Read through the file, not the mapping.
    const producerPosition = () => readFileSync(path).readUInt32LE(layout.OFF_PRODUCER_POSITION);
    // The first message of a task is published at once, the next 31 are held back.
    for (let i = 0; i < 32; i++) expect(sender.trySend(new Uint8Array(24))).toBe(true);
    expect(producerPosition()).toBe(32); // one record of 8 + 24 bytes
    await sender.sync();
    expect(producerPosition()).toBe(32 * 32);
    expect(receiver.tryRecv()).toHaveLength(24);
    await receiver.sync();
    sender.close();
    await expect(sender.sync()).rejects.toThrow(code('ERR_RINGWIRE_CLOSED'));
    receiver.close();
    // Nothing to sync in shared memory: it resolves at once.
    const name = channelName('shm-sync');
    createChannel(name, { capacity: 4096 });
    const shm = openSender(name);
    await shm.sync();
    shm.close();
  });

  it('are checked as strictly as a segment: mode, type, size, header; unlinkChannel removes only channels', () => {
    const path = channelPath('strict');
    createChannel(path, { capacity: 4096 });
    chmodSync(path, 0o644);
    expect(() => openSender(path)).toThrow(code('ERR_RINGWIRE_PERMISSION'));
    expect(() => stats(path)).toThrow(/open to other users \(mode 0644\)/);
    chmodSync(path, 0o600);
    expect(stats(path).capacity).toBe(4096);
    if (process.getuid?.() === 0) {
      // Another user's file (root can make one): refused whatever its mode.
      chownSync(path, 65534, 65534);
      expect(() => openSender(path)).toThrow(code('ERR_RINGWIRE_PERMISSION'));
      expect(() => openSender(path)).toThrow(/belongs to uid 65534/);
      chownSync(path, 0, 0);
    }

    const short = channelPath('short');
    writeFileSync(short, Buffer.alloc(100), { mode: 0o600 });
    expect(() => openReceiver(short)).toThrow(code('ERR_RINGWIRE_CORRUPT'));
    const foreign = channelPath('foreign');
    writeFileSync(foreign, Buffer.alloc(layout.HEADER_SIZE + 4096, 7), { mode: 0o600 });
    expect(() => openReceiver(foreign)).toThrow(code('ERR_RINGWIRE_INCOMPATIBLE'));
    expect(() => unlinkChannel(foreign)).toThrow(code('ERR_RINGWIRE_INCOMPATIBLE'));
    expect(existsSync(foreign)).toBe(true);
    const fifo = channelPath('fifo');
    execFileSync('mkfifo', ['-m', '600', fifo]);
    expect(() => openReceiver(fifo)).toThrow(/is not a regular file/);
  });

  it('gc() judges them only when given their paths, by the same rules; other files are left alone', async () => {
    const dead = channelPath('gc-dead');
    const clean = channelPath('gc-clean');
    const foreign = channelPath('gc-foreign');
    createChannel(dead, { capacity: 4096 });
    createChannel(clean, { capacity: 4096 });
    writeFileSync(foreign, 'not a channel', { mode: 0o600 });
    const held = await holder('sender', dead, '3');
    await held.kill();
    const sender = openSender(clean);
    sender.trySend('kept for a receiver to come');
    sender.close();
    expect(gc({ prefix: RUN_PREFIX })).not.toContain(dead); // /dev/shm only
    expect(existsSync(dead)).toBe(true);
    const paths = [dead, clean, foreign, join(dir, 'missing.ring')];
    const planned = gc({ paths, dryRun: true });
    expect(planned).toEqual([dead]);
    expect(existsSync(dead)).toBe(true);
    expect(gc({ paths })).toEqual([dead]);
    expect([existsSync(dead), existsSync(clean), existsSync(foreign)]).toEqual([false, true, true]);
    expect(() => gc({ paths: ['jobs'] })).toThrow(code('ERR_RINGWIRE_INVALID_ARG'));
    expect(() => gc({ paths: [clean], prefix: 'x' })).toThrow(code('ERR_RINGWIRE_INVALID_ARG'));
  });

  it("work with wait 'semaphore' and 'named-semaphore': a parked receiver wakes for another process", async () => {
    for (const wait of ['semaphore', 'named-semaphore'] as const) {
      const path = channelPath(`w${wait}`);
      createChannel(path, { capacity: 4096, wait });
      const receiver = openReceiver(path, { spinMicros: 0 });
      const pending = receiver.recv({ timeout: 20_000 });
      expect(stats(path)).toMatchObject({ wait, receiversWaiting: 1 });
      const child = runChild('send-after.mjs', [path, '50', 'wake up']);
      expect(text(await pending)).toBe('wake up');
      expect((await child).code).toBe(0);
      receiver.close();
      expect(unlinkChannel(path)).toBe(true);
    }
  });
});

describe('anonymous channels (createAnonymousChannel)', () => {
  it("a child receives through spawn's stdio; nothing appears in /dev/shm; the memory goes with its holders", async () => {
    const before = shmEntries();
    const held = memfdsOpen();
    const channel = createAnonymousChannel({ capacity: 1 << 16 });
    expect(memfdsOpen()).toBe(held + 1);
    const sender = channel.openSender();
    const child = runChild('take.mjs', ['fd:3', 'all'], 120_000, undefined, [channel.fd]);
    channel.close(); // the sender and the child hold it now
    channel.close(); // idempotent
    expect(() => channel.openReceiver()).toThrow(code('ERR_RINGWIRE_CLOSED'));
    for (let seq = 0; seq < 20_000; seq++) await sender.send(makeMessage(seq), { timeout: 30_000 });
    sender.end();
    expect(await child).toMatchObject({ code: 0, stdout: 'took 20000\n', stderr: '' });
    expect([...shmEntries()].filter((entry) => !before.has(entry) && entry.startsWith(`rw.${RUN_PREFIX}`))).toEqual([]);
    sender.close();
    expect(memfdsOpen()).toBe(held);
  }, 120_000);

  it('MPMC: two children send through one anonymous channel, each in order, nothing lost', async () => {
    const channel = anonymousChannel({ mode: 'mpmc', capacity: 1 << 16 });
    const receiver = channel.openReceiver();
    expect(stats({ fd: channel.fd })).toMatchObject({ name: `fd:${channel.fd}`, backing: 'anonymous', mode: 'mpmc' });
    const children = [1, 2].map((id) =>
      runChild('mpmc-send.mjs', ['fd:3', String(id), '3000', 'async'], 120_000, undefined, [channel.fd]));
    const next = new Map([[1, 0], [2, 0]]);
    for (let got = 0; got < 6000; got++) {
      const [id, seq] = readTagged((await receiver.recv({ timeout: 30_000 }))!);
      expect(seq, `sender ${id}`).toBe(next.get(id));
      next.set(id, seq + 1);
    }
    expect([...next.values()]).toEqual([3000, 3000]);
    for (const child of children) expect(await child).toMatchObject({ code: 0, stdout: 'open\ndone 3000\n', stderr: '' });
    receiver.close();
  }, 120_000);

  it('are sealed: nobody can shrink or grow one; an unsealed descriptor is refused', () => {
    const channel = anonymousChannel({ capacity: 4096 });
    expect(() => ftruncateSync(channel.fd, 0)).toThrow(expect.objectContaining({ code: 'EPERM' }));
    expect(() => ftruncateSync(channel.fd, 1 << 20)).toThrow(expect.objectContaining({ code: 'EPERM' }));
    const path = channelPath('unsealed');
    createChannel(path, { capacity: 4096 });
    const fd = openSync(path, 'r+');
    try {
      expect(() => openReceiver({ fd })).toThrow(code('ERR_RINGWIRE_INCOMPATIBLE'));
      expect(() => openReceiver({ fd })).toThrow(/not sealed/);
    } finally {
      closeSync(fd);
    }
  });

  it('refuse bad descriptors and options that need a name', () => {
    for (const bad of [{ fd: -1 }, { fd: 1.5 }, { fd: '3' }, { fd: 3, name: 'x' }, {}, null]) {
      expect(() => openSender(bad as unknown as { fd: number })).toThrow(/ERR_RINGWIRE_INVALID_(ARG|NAME)|must be a string|descriptor/);
    }
    expect(() => openSender({ fd: 1 << 20 })).toThrow(code('ERR_RINGWIRE_INVALID_ARG'));
    expect(() => createAnonymousChannel({ wait: 'named-semaphore' })).toThrow(code('ERR_RINGWIRE_INVALID_ARG'));
    expect(() => createAnonymousChannel({ persistent: true } as object)).toThrow(code('ERR_RINGWIRE_INVALID_ARG'));
    expect(() => createAnonymousChannel({ capacity: 1000 })).toThrow(code('ERR_RINGWIRE_INVALID_ARG'));
  });

  it("each process opens its own description of it: roles are locked across processes as on a named channel", async () => {
    const channel = anonymousChannel({ capacity: 4096 });
    const sender = channel.openSender();
    // The child's fd 3 shares this process's open file description; it must not share its locks.
    const busy = await runChild('producer.mjs', ['fd:3', '1', 'async', '1'], 30_000, undefined, [channel.fd]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/ERR_RINGWIRE_BUSY|already has a sender/);
    sender.close();
    const ok = await runChild('producer.mjs', ['fd:3', '1', 'async', '1'], 30_000, undefined, [channel.fd]); // message 1: 31 B
    expect(ok).toMatchObject({ code: 0, stderr: '' });
    const receiver = channel.openReceiver();
    expect(checkMessage((await receiver.recv({ timeout: 10_000 }))!, 1)).toBeNull();
    expect(await receiver.recv({ timeout: 10_000 })).toBeNull(); // the child ended the stream
    receiver.close();
  });

  it('a child killed -9: the parent receives what it sent, then PEER_DEAD; a new sender carries on', async () => {
    const channel = anonymousChannel({ capacity: 1 << 16 });
    const receiver = channel.openReceiver();
    const child = runChild('hold.mjs', ['sender', 'fd:3', '20'], 60_000, undefined, [channel.fd]);
    await until(() => child.output().includes('ready'), 30_000, 'the child to send');
    process.kill(child.pid, 'SIGKILL');
    expect((await child).signal).toBe('SIGKILL');
    for (let i = 0; i < 20; i++) expect(text(await receiver.recv({ timeout: 10_000 }))).toBe(`before death ${i}`);
    await expect(receiver.recv({ timeout: 10_000 })).rejects.toThrow(code('ERR_RINGWIRE_PEER_DEAD'));
    const sender = channel.openSender();
    await sender.send('next');
    expect(text(await receiver.recv({ timeout: 10_000 }))).toBe('next');
    sender.close();
    receiver.close();
  });
});

describe("wait 'named-semaphore'", () => {
  /**
   * The /dev/shm files of a named-semaphore channel's semaphores, from the key in its header
   * (layout.h, OFF_SEMAPHORE_KEY): other test files make named semaphores meanwhile.
   */
  const semaphoresOf = (name: string): [string, string] => {
    const header = readFileSync(`/dev/shm/rw.${name}`).subarray(0, layout.HEADER_SIZE);
    const key = (BigInt(header.readUInt32LE(layout.OFF_SEMAPHORE_KEY + 4)) << 32n) | BigInt(header.readUInt32LE(layout.OFF_SEMAPHORE_KEY));
    const hex = key.toString(16).padStart(16, '0');
    return [`sem.rws.${hex}.d`, `sem.rws.${hex}.s`];
  };
  const present = (files: readonly string[]) => files.filter((file) => existsSync(`/dev/shm/${file}`));

  it('makes two 0600 semaphores under a random key, removed with the channel by unlinkChannel and gc', async () => {
    const name = channelName('ns');
    createChannel(name, { wait: 'named-semaphore', capacity: 4096 });
    const made = semaphoresOf(name);
    expect(present(made)).toEqual(made);
    for (const entry of made) expect(statSync(`/dev/shm/${entry}`).mode & 0o777).toBe(0o600);
    expect(stats(name).wait).toBe('named-semaphore');
    expect(() => openSender(name, { wait: 'semaphore' })).toThrow(code('ERR_RINGWIRE_INCOMPATIBLE'));
    openSender(name, { wait: 'named-semaphore' }).close();
    expect(unlinkChannel(name)).toBe(true);
    expect(present(made)).toEqual([]);

    // gc removes a dead channel's semaphores with it.
    const dead = channelName('nsgc');
    createChannel(dead, { wait: 'named-semaphore', capacity: 4096 });
    const deadOnes = semaphoresOf(dead);
    const held = await holder('sender', dead, '1');
    await held.kill();
    expect(gc({ prefix: dead })).toEqual([dead]);
    expect(present(deadOnes)).toEqual([]);
  });

  it('opening checks the semaphores: removed by hand is CORRUPT, open to others is PERMISSION', () => {
    const name = channelName('nsx');
    createChannel(name, { wait: 'named-semaphore', capacity: 4096 });
    const [data, space] = semaphoresOf(name);
    chmodSync(`/dev/shm/${space}`, 0o666);
    expect(() => openReceiver(name)).toThrow(code('ERR_RINGWIRE_PERMISSION'));
    rmSync(`/dev/shm/${data}`);
    expect(() => openReceiver(name)).toThrow(code('ERR_RINGWIRE_CORRUPT'));
    expect(unlinkChannel(name)).toBe(true); // and what is left of its semaphores
    expect(present([data, space])).toEqual([]);
  });

  it('nobody can plant a name to block a channel: semaphore names are not the channel name', () => {
    const name = channelName('plant');
    const planted = [`/dev/shm/sem.rwd.${name}`, `/dev/shm/sem.rws.${name}.d`, `/dev/shm/sem.rw.${name}`];
    for (const file of planted) writeFileSync(file, 'planted', { mode: 0o644 });
    try {
      createChannel(name, { wait: 'semaphore', capacity: 4096 });
      expect(unlinkChannel(name)).toBe(true);
      createChannel(name, { wait: 'named-semaphore', capacity: 4096 });
      const receiver = openReceiver(name);
      receiver.close();
    } finally {
      for (const file of planted) rmSync(file, { force: true });
    }
  });
});
