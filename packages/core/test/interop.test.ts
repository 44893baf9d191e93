// Node and a C++ peer (packages/native/test/interop.cc, built here from the header-only
// protocol in packages/native/include/ringwire) on one channel, both directions.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannel, openReceiver, openSender, type Receiver, stats, unlinkChannel } from '../src/index.js';
import { layout } from '../src/native.js';
import { channelName, fixture, holder, runChild, until } from './helpers.js';

const native = fileURLToPath(new URL('../../native/', import.meta.url));
let dir: string;
let program: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ringwire-interop-'));
  program = join(dir, 'interop');
  execFileSync(process.env.CXX ?? 'g++', ['-std=c++17', '-O2', '-Wall', '-Wextra', '-Werror',
    '-I', join(native, 'include'), join(native, 'test/interop.cc'), '-o', program]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The same rule as interop.cc: message i is (i * 37) % 3001 bytes, byte j = (i + j * 7) & 255.
function message(i: number): Uint8Array {
  const bytes = new Uint8Array((i * 37) % 3001);
  for (let j = 0; j < bytes.length; j++) bytes[j] = (i + j * 7) & 255;
  return bytes;
}

function run(args: string[]) {
  const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  // 'close', not 'exit': the output may still be in the pipe when the process exits.
  const done = once(child, 'close').then(([code]) => ({ code, stdout, stderr }));
  /** Resolves once the peer has printed `text` (rejects if it exits first). */
  const printed = (text: string) => new Promise<void>((resolve, reject) => {
    const look = () => {
      if (!stdout.includes(text)) return;
      child.stdout.off('data', look);
      resolve();
    };
    child.stdout.on('data', look);
    void done.then((result) => reject(new Error(`the C++ peer exited before printing '${text}': ${JSON.stringify(result)}`)));
    look();
  });
  return {
    child, done, ready: once(child.stdout, 'data'), output: () => stdout, kill: () => child.kill('SIGKILL'), printed,
    /** A line on its stdin (bcast-recv's stall ends). */
    resume: () => child.stdin.write('\n'),
  };
}

const COUNT = 20_000;

// Each wait mechanism, and a file-backed channel (a path: the C++ peer opens it the same way).
const SPSC_CASES = [
  { wait: 'futex', file: false }, { wait: 'semaphore', file: false }, { wait: 'named-semaphore', file: false },
  { wait: 'futex', file: true },
] as const;

describe('Node and C++ on one channel', () => {
  for (const { wait, file } of SPSC_CASES) {
    const where = file ? ' (file-backed)' : '';
    const nameFor = (tag: string) => (file ? join(dir, `${tag}.ring`) : channelName(tag));
    it(`wait '${wait}'${where}: a C++ sender's messages reach a Node receiver intact, to the end`, async () => {
      const name = nameFor(`cn${wait}`);
      createChannel(name, { capacity: 1 << 14, wait });
      const receiver = openReceiver(name);
      const peer = run(['send', name, String(COUNT)]);
      let i = 0;
      const wrong: number[] = [];
      for await (const got of receiver) {
        if (!Buffer.from(got.buffer, got.byteOffset, got.length).equals(message(i))) wrong.push(i);
        i++;
      }
      expect(wrong).toEqual([]);
      expect(i).toBe(COUNT);
      expect(await peer.done).toEqual({ code: 0, stdout: `sent ${COUNT}\n`, stderr: '' });
      // Both sides keep the same stats counters in the header.
      expect(stats(name)).toMatchObject({ messagesSent: COUNT, messagesReceived: COUNT });
      receiver.close();
      if (file) expect(unlinkChannel(name)).toBe(true);
    });

    it(`wait '${wait}'${where}: a Node sender's messages reach a C++ receiver intact, to the end`, async () => {
      const name = nameFor(`nc${wait}`);
      createChannel(name, { capacity: 1 << 14, wait });
      const peer = run(['recv', name]);
      await peer.ready;
      const sender = openSender(name);
      for (let i = 0; i < COUNT; i++) await sender.send(message(i), { timeout: 10_000 });
      sender.end();
      sender.close();
      expect(await peer.done).toEqual({ code: 0, stdout: `ready\nreceived ${COUNT}\n`, stderr: '' });
      expect(stats(name)).toMatchObject({ messagesSent: COUNT, messagesReceived: COUNT });
      if (file) expect(unlinkChannel(name)).toBe(true);
    });
  }

  it('a C++ receiver resumes where a killed Node receiver stopped (the delivered line)', async () => {
    const name = channelName('resume-nc');
    createChannel(name, { capacity: 1 << 20 });
    const sender = openSender(name);
    for (let i = 0; i < 500; i++) expect(sender.trySend(message(i))).toBe(true);
    sender.end();
    sender.close();
    // A Node receiver takes 10 (its position unpublished) and is killed.
    const victim = runChild('take-then-die.mjs', [name, '10', 'try'], 30_000);
    await until(() => victim.output().includes('took'), 20_000, 'the Node receiver to take 10');
    process.kill(victim.pid, 'SIGKILL');
    await victim;
    const peer = run(['recv', name, '10']);
    expect(await peer.done).toEqual({ code: 0, stdout: 'ready\nreceived 490\n', stderr: '' });
  });

  it('a Node receiver resumes where a killed C++ receiver stopped', async () => {
    const name = channelName('resume-cn');
    createChannel(name, { capacity: 1 << 20 });
    const sender = openSender(name);
    for (let i = 0; i < 500; i++) expect(sender.trySend(message(i))).toBe(true);
    const peer = run(['recv', name, '0', '10']);
    await until(() => peer.output().includes('took 10'), 20_000, 'the C++ receiver to take 10');
    peer.kill();
    await peer.done;
    const receiver = openReceiver(name);
    for (let i = 10; i < 500; i++) expect(receiver.tryRecv()).toEqual(message(i));
    expect(receiver.tryRecv()).toBeUndefined();
    receiver.close();
    sender.close();
  });

  it('a C++ sender whose wait for room times out gets ERR_RINGWIRE_TIMEOUT', async () => {
    const name = channelName('ctimeout');
    createChannel(name, { capacity: 4096 });
    const receiver = openReceiver(name); // open, and never reading
    const peer = run(['send', name, '1000', '200']);
    const result = await peer.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^ERR_RINGWIRE_TIMEOUT: send on channel '.+' timed out after 200 ms/);
    expect(stats(name).messagesSent).toBeGreaterThan(0); // it filled the ring first
    receiver.close();
  });

  it('a C++ peer refuses a second sender with ERR_RINGWIRE_BUSY', async () => {
    const name = channelName('cbusy');
    createChannel(name, { capacity: 4096 });
    const sender = openSender(name);
    const peer = run(['send', name, '1']);
    const result = await peer.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^ERR_RINGWIRE_BUSY/);
    sender.close();
  });
});

describe('a C++ peer and a Node peer that dies', () => {
  it('a C++ receiver gets ERR_RINGWIRE_PEER_DEAD when its Node sender is killed', async () => {
    const name = channelName('cdeadS');
    createChannel(name, { capacity: 4096 });
    const { kill } = await holder('sender', name, '0');
    const peer = run(['recv', name]);
    await peer.ready;
    await kill();
    const result = await peer.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^ERR_RINGWIRE_PEER_DEAD/);
  });

  it('a C++ receiver gets what a killed Node sender wrote and had not yet published (the written line)', async () => {
    const name = channelName('cwritten');
    createChannel(name, { capacity: 1 << 16 });
    const sender = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/burst.mjs', import.meta.url)), name, '20', 'spin', 'interop'],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = once(sender, 'exit');
    await once(sender.stdout!, 'data'); // all 20 written; most not yet published
    expect(stats(name).messagesSent).toBeLessThan(20);
    sender.kill('SIGKILL');
    await exited;
    const peer = run(['recv', name]);
    const result = await peer.done;
    // It checked each message against the pattern, then found the sender dead.
    expect(result.stderr).toMatch(/^ERR_RINGWIRE_PEER_DEAD/);
    expect(stats(name).messagesReceived).toBe(20);
    expect(stats(name).messagesSent).toBe(20);
  });

  it('a C++ sender blocked on a full ring gets ERR_RINGWIRE_PEER_DEAD when its Node receiver is killed', async () => {
    const name = channelName('cdeadR');
    createChannel(name, { capacity: 4096 });
    const { kill } = await holder('receiver', name);
    const peer = run(['send', name, '1000']);
    await until(() => stats(name).sender.waiters === 1, 10_000, 'the C++ sender to fill the ring and park');
    await kill();
    const result = await peer.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^ERR_RINGWIRE_PEER_DEAD/);
  });
});

describe('a C++ mpmc peer whose only peers, Node processes, die', () => {
  it('a C++ receiver gets ERR_RINGWIRE_PEER_DEAD when its only sender is killed', async () => {
    const name = channelName('mdeadS');
    createChannel(name, { mode: 'mpmc', capacity: 4096 });
    const { kill } = await holder('sender', name, '0');
    const peer = run(['mpmc-recv', name]);
    await peer.ready;
    await kill();
    const result = await peer.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^ERR_RINGWIRE_PEER_DEAD: every sender of channel '.+' is gone and 1 exited without closing/);
  });

  it('a C++ sender waiting for room gets ERR_RINGWIRE_PEER_DEAD when its only receiver is killed', async () => {
    const name = channelName('mdeadR');
    createChannel(name, { mode: 'mpmc', capacity: 4096 });
    const { kill } = await holder('receiver', name);
    const peer = run(['mpmc-send', name, '1000', '1']);
    await until(() => stats(name).sendersWaiting === 1, 10_000, 'the C++ sender to fill the ring and park');
    await kill();
    const result = await peer.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^ERR_RINGWIRE_PEER_DEAD: every receiver of channel '.+' is gone and 1 exited without closing/);
  });
});

describe('Node and C++ on one mpmc channel', () => {
  for (const wait of ['futex', 'semaphore', 'named-semaphore'] as const) {
    it(`wait '${wait}': C++ sender to Node receiver, and Node sender to C++ receiver, in order`, async () => {
      const toNode = channelName(`mn${wait}`);
      const toCpp = channelName(`mc${wait}`);
      createChannel(toNode, { mode: 'mpmc', capacity: 1 << 14, wait });
      createChannel(toCpp, { mode: 'mpmc', capacity: 1 << 14, wait });
      const receiver = openReceiver(toNode);
      const cppSender = run(['mpmc-send', toNode, String(COUNT), '1']);
      const cppReceiver = run(['mpmc-recv', toCpp, '1']);
      await cppReceiver.ready;
      const sender = openSender(toCpp);
      const sending = (async () => {
        for (let i = 0; i < COUNT; i++) await sender.send(message(i), { timeout: 10_000 });
        sender.end();
        sender.close();
      })();
      let i = 0;
      const wrong: number[] = [];
      for await (const got of receiver) {
        if (!Buffer.from(got.buffer, got.byteOffset, got.length).equals(message(i))) wrong.push(i);
        i++;
      }
      await sending;
      expect(wrong).toEqual([]);
      expect(i).toBe(COUNT);
      expect(await cppSender.done).toEqual({ code: 0, stdout: `sent ${COUNT}\n`, stderr: '' });
      expect(await cppReceiver.done).toEqual({ code: 0, stdout: `ready\nreceived ${COUNT}\n`, stderr: '' });
      receiver.close();
      expect(stats(toNode).messagesReceived).toBe(COUNT);
    });
  }

  it("endWhen 'last-sender': C++ and Node senders each end; receivers of both get every message, then the end", async () => {
    const name = channelName('mlast');
    createChannel(name, { mode: 'mpmc', capacity: 1 << 14, endWhen: 'last-sender' });
    const cppReceiver = run(['mpmc-recv', name, '0']);
    await cppReceiver.ready;
    const receiver = openReceiver(name);
    const sender = openSender(name);
    // Two C++ senders end their part (end()); the Node sender's end() comes when it is done.
    const senders = [run(['mpmc-send', name, String(COUNT), '1']), run(['mpmc-send', name, String(COUNT), '1'])];
    let got = 0;
    const receiving = (async () => {
      for await (const m of receiver) {
        expect(m.length === 0 || m.every((b, j) => b === ((m[0] + j * 7) & 255))).toBe(true);
        got++;
      }
    })();
    for (let i = 0; i < COUNT; i++) await sender.send(message(i), { timeout: 10_000 });
    for (const s of senders) expect(await s.done).toEqual({ code: 0, stdout: `sent ${COUNT}\n`, stderr: '' });
    expect(stats(name).ended).toBe(false); // the C++ senders ended; this one has not
    await sender.end();
    await receiving;
    const cpp = await cppReceiver.done;
    expect(cpp.code, cpp.stderr).toBe(0);
    expect(got + Number(/received (\d+)/.exec(cpp.stdout)?.[1])).toBe(3 * COUNT);
    sender.close();
    receiver.close();
  });

  it("endWhen 'last-sender': a C++ sender closing without ending, after the Node sender ended, ends the channel", async () => {
    const name = channelName('mlast2');
    createChannel(name, { mode: 'mpmc', capacity: 1 << 14, endWhen: 'last-sender' });
    const receiver = openReceiver(name);
    const sender = openSender(name);
    const cppSender = run(['mpmc-send', name, String(COUNT), '0']);
    // Drained with tryRecv only: a receiver that never parks never ends the channel itself,
    // so the end must come from the C++ sender's close.
    let got = 0;
    let exited = false;
    void cppSender.done.then(() => { exited = true; });
    let ended = false;
    while (!exited) {
      if (receiver.tryRecv() !== undefined) {
        got++;
        if (got === 1) await sender.end(); // the C++ sender is open and sending: it is the last
      } else {
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    ended = stats(name).ended;
    expect((await cppSender.done).code).toBe(0);
    expect(ended).toBe(true);
    while (receiver.tryRecv() !== undefined) got++;
    expect(got).toBe(COUNT);
    expect(receiver.ended).toBe(true);
    sender.close();
    receiver.close();
  });

  it('C++ and Node senders and receivers mixed: every message once, intact', async () => {
    const name = channelName('mmix');
    createChannel(name, { mode: 'mpmc', capacity: 1 << 14 });
    const cppReceiver = run(['mpmc-recv', name, '0']);
    await cppReceiver.ready;
    const receiver = openReceiver(name);
    const senders = [run(['mpmc-send', name, String(COUNT), '0']), run(['mpmc-send', name, String(COUNT), '0'])];
    const sender = openSender(name);
    const sending = (async () => {
      for (let i = 0; i < COUNT; i++) await sender.send(message(i), { timeout: 10_000 });
    })();
    let got = 0;
    let bad = 0;
    const receiving = (async () => {
      for await (const m of receiver) {
        // Some message of the rule: every byte follows from the first.
        for (let j = 1; j < m.length; j++) if (m[j] !== ((m[0] + j * 7) & 255)) { bad++; break; }
        got++;
      }
    })();
    await sending;
    for (const s of senders) expect((await s.done).code).toBe(0);
    sender.end();
    sender.close();
    await receiving;
    const cpp = await cppReceiver.done;
    expect(cpp.code, cpp.stderr).toBe(0);
    const cppGot = Number(/received (\d+)/.exec(cpp.stdout)?.[1]);
    expect(bad).toBe(0);
    expect(got + cppGot).toBe(3 * COUNT);
    expect(got).toBeGreaterThan(0);
    expect(cppGot).toBeGreaterThan(0);
    receiver.close();
  });

  it('stats stay right when a C++ endpoint takes a slot the other kind used (its count is retired)', async () => {
    const name = channelName('mretire');
    createChannel(name, { mode: 'mpmc', capacity: 1 << 14 });
    // A C++ sender sends 5 from slot 0 and closes.
    expect(await run(['mpmc-send', name, '5', '0']).done).toEqual({ code: 0, stdout: 'sent 5\n', stderr: '' });
    // Node receivers hold every other slot (slots never used go before a sender's old one).
    const fillers = Array.from({ length: layout.MAX_SLOTS - 1 }, () => openReceiver(name));
    // A C++ receiver can only take slot 0, a sender's: the slot's 5 are retired as sent.
    expect(await run(['mpmc-recv', name, '1', '5']).done).toEqual({ code: 0, stdout: 'ready\nreceived 5\n', stderr: '' });
    expect(stats(name)).toMatchObject({ messagesSent: 5, messagesReceived: 5 });
    // A C++ sender takes slot 0 again, now a receiver's: its 5 are retired as received.
    expect(await run(['mpmc-send', name, '3', '1']).done).toEqual({ code: 0, stdout: 'sent 3\n', stderr: '' });
    expect(stats(name)).toMatchObject({ messagesSent: 8, messagesReceived: 5 });
    for (const filler of fillers) filler.close();
    const receiver = openReceiver(name);
    let got = 0;
    for await (const m of receiver) {
      expect(m).toEqual(message(got));
      got++;
    }
    expect(got).toBe(3);
    expect(stats(name)).toMatchObject({ messagesSent: 8, messagesReceived: 8 });
    receiver.close();
  });

  it('a C++ sender repairs the record a killed Node receiver held, and carries on', async () => {
    const name = channelName('mrep');
    createChannel(name, { mode: 'mpmc', capacity: 1 << 14 });
    // A Node receiver that stops for good holding its first message, then is killed.
    const victim = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/mpmc-recv.mjs', import.meta.url)), name, 'async'], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RINGWIRE_TEST_STALL_AFTER_TAKE: '1' },
    });
    let out = '';
    victim.stdout.on('data', (chunk) => { out += chunk; });
    const cppSender = run(['mpmc-send', name, String(COUNT), '1']);
    await until(() => out.includes('stalled'), 10_000, 'the Node receiver to take its first message and stall');
    // Open before the kill: with no receiver alive and one dead, the sender's wait would
    // rightly fail with ERR_RINGWIRE_PEER_DEAD.
    const receiver = openReceiver(name);
    victim.kill('SIGKILL');
    await once(victim, 'exit');
    // The ring fills behind the dead receiver's record; the C++ sender, waiting for space,
    // finds its slot dead and releases it. The message it held is lost (at most once).
    let i = 1;
    const wrong: number[] = [];
    for await (const got of receiver) {
      if (!Buffer.from(got.buffer, got.byteOffset, got.length).equals(message(i))) wrong.push(i);
      i++;
    }
    expect(wrong).toEqual([]);
    expect(i).toBe(COUNT);
    expect((await cppSender.done).code).toBe(0);
    receiver.close();
  });
});

/** Receives to the end of the stream: how many came, and which were not message i (the i-th). */
async function collect(receiver: Receiver): Promise<{ count: number, wrong: number[] }> {
  let count = 0;
  const wrong: number[] = [];
  for await (const got of receiver) {
    if (!Buffer.from(got.buffer, got.byteOffset, got.length).equals(message(count))) wrong.push(count);
    count++;
  }
  return { count, wrong };
}

describe('Node and C++ on one broadcast channel', () => {
  it('a Node sender reaches 3 C++ receivers and a Node receiver, every message in order (one joined from the oldest)', async () => {
    const name = channelName('bnc');
    createChannel(name, { mode: 'broadcast', capacity: 1 << 14 });
    const early = [run(['bcast-recv', name]), run(['bcast-recv', name, 'next'])];
    await Promise.all(early.map((peer) => peer.ready));
    const receiver = openReceiver(name);
    const receiving = collect(receiver);
    const sender = openSender(name);
    for (let i = 0; i < 5; i++) expect(sender.trySend(message(i))).toBe(true);
    sender.flush();
    // Joins after the first 5, from the oldest message still in the ring: message 0.
    const late = run(['bcast-recv', name, 'oldest']);
    await late.ready;
    for (let i = 5; i < COUNT; i++) await sender.send(message(i), { timeout: 10_000 });
    sender.end();
    sender.close();
    for (const peer of [...early, late]) {
      expect(await peer.done).toEqual({ code: 0, stdout: `ready\nreceived ${COUNT} lost 0\n`, stderr: '' });
    }
    expect(await receiving).toEqual({ count: COUNT, wrong: [] });
    receiver.close();
    // Each receiver's count in its slot, C++ and Node alike.
    expect(stats(name)).toMatchObject({ messagesSent: COUNT, messagesReceived: 4 * COUNT });
  });

  it('a C++ sender reaches Node receivers, one of them in a worker thread, every message in order', async () => {
    const name = channelName('bcn');
    createChannel(name, { mode: 'broadcast', capacity: 1 << 14 });
    const worker = new Worker(fixture('bcast-worker.mjs'), { workerData: { name } });
    try {
      expect((await once(worker, 'message'))[0]).toBe('ready');
      const receivers = [openReceiver(name), openReceiver(name, { from: 'oldest' })];
      const fromWorker = once(worker, 'message');
      const peer = run(['bcast-send', name, String(COUNT), '1']);
      const results = await Promise.all(receivers.map(collect));
      expect(await peer.done).toEqual({ code: 0, stdout: `sent ${COUNT}\n`, stderr: '' });
      expect(results).toEqual([{ count: COUNT, wrong: [] }, { count: COUNT, wrong: [] }]);
      expect((await fromWorker)[0]).toEqual({ count: COUNT, wrong: [] });
      for (const receiver of receivers) receiver.close();
      expect(stats(name)).toMatchObject({ messagesSent: COUNT, messagesReceived: 3 * COUNT });
    } finally {
      await worker.terminate();
    }
  });

  it("'drop': a C++ receiver that stops reading loses messages, and counts them (lost + received = sent)", async () => {
    const name = channelName('bdrop');
    // Room for the first 20 messages (about 7 KiB): the peer must get 10 of them before it
    // stalls, however slowly it runs (a loaded machine), so none may be overwritten yet.
    createChannel(name, { mode: 'broadcast', overflow: 'drop', capacity: 16384 });
    const peer = run(['bcast-recv', name, 'next', '10']);
    await peer.ready;
    const sender = openSender(name);
    for (let i = 0; i < 20; i++) expect(sender.trySend(message(i))).toBe(true);
    sender.flush();
    await peer.printed('stalled');
    // Many rings' worth while it reads nothing: the sender never waits.
    const sent = 2000;
    for (let i = 20; i < sent; i++) expect(sender.trySend(message(i))).toBe(true);
    sender.end();
    peer.resume();
    const result = await peer.done;
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const [, received, lost] = /^ready\nstalled\nreceived (\d+) lost (\d+)\n$/.exec(result.stdout)!.map(Number);
    expect(received + lost).toBe(sent);
    expect(lost).toBeGreaterThan(1000);
    expect(received).toBeGreaterThanOrEqual(11); // 10 before it stalled, then at least the last
    sender.close();
  });

  it("kill -9 of a C++ receiver does not hold a Node 'block' sender back (it is cut off)", async () => {
    const name = channelName('bkillc');
    createChannel(name, { mode: 'broadcast', capacity: 4096 });
    // The Node receiver opens first and holds slot 0: with slot 0 free, the TypeScript
    // sender's cleanup of dead parked bits (slots.ts) takes bit 0 of its own waiter count for
    // slot 0's parked bit, and each of its waits then lasts a whole park slice.
    const receiver = openReceiver(name);
    const receiving = collect(receiver);
    const peer = run(['bcast-recv', name, 'next', '1']);
    await peer.ready;
    const sender = openSender(name);
    await sender.send(message(0));
    await peer.printed('stalled'); // took message 0 and holds the rest back
    peer.kill();
    await peer.done;
    // Far more than a ring: the sender must get past the dead receiver's cursor.
    for (let i = 1; i < 500; i++) await sender.send(message(i), { timeout: 10_000 });
    sender.end();
    expect(await receiving).toEqual({ count: 500, wrong: [] });
    expect(stats(name).receivers.filter((r) => r.dead)).toMatchObject([{ pid: peer.child.pid, cutOff: true }]);
    sender.close();
    receiver.close();
  });

  it("kill -9 of a Node receiver does not hold a C++ 'block' sender back", async () => {
    const name = channelName('bkilln');
    createChannel(name, { mode: 'broadcast', capacity: 4096 });
    const { kill } = await holder('receiver', name); // joined, and never reads
    const peer = run(['bcast-send', name, '500', '1']);
    await until(() => stats(name).senders[0]?.waiters === 1, 10_000, 'the C++ sender to fill the ring and park');
    await kill();
    expect(await peer.done).toEqual({ code: 0, stdout: 'sent 500\n', stderr: '' });
    expect(stats(name).receivers).toMatchObject([{ dead: true, cutOff: true }]);
  });
});

// Messages larger than the ring (layout.h, "Fragments") both ways: big-send and big-recv of
// interop.cc, whose message i of size s is byte j = (i * 131 + j * 7) & 255.
function big(i: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let j = 0; j < size; j++) bytes[j] = (i * 131 + j * 7) & 255;
  return bytes;
}

describe('messages larger than the ring, in fragments, between Node and C++', () => {
  const capacity = 1 << 16;
  const record = capacity - layout.RECORD_HEADER_SIZE; // the most one record carries
  const fragment = capacity / 4 - layout.RECORD_HEADER_SIZE; // the most a data fragment carries
  // Either side of one record, of multiples of a data fragment (4 of them still fit a record),
  // of the ring, and 16 MiB; small ones between, which must not be taken for fragments.
  const sizes = [1, record - 1, record, record + 1, 100, capacity, 4 * fragment - 1, 4 * fragment, 4 * fragment + 1,
    5 * fragment - 1, 5 * fragment, 5 * fragment + 1, 6 * fragment + 1, 8 * fragment - 1, 3 * capacity + 5, 7,
    16 << 20, record + 1];
  const total = sizes.reduce((sum, size) => sum + size, 0);

  for (const mode of ['spsc', 'broadcast'] as const) {
    it(`${mode}: a Node sender's messages up to 16 MiB reach a C++ receiver whole, every byte checked`, async () => {
      const name = channelName(`fnc${mode}`);
      createChannel(name, { capacity, mode });
      const peer = run(['big-recv', name, String(sizes.length)]);
      await peer.ready; // open (broadcast: joined) before the first message
      const sender = openSender(name);
      for (const [i, size] of sizes.entries()) await sender.send(big(i, size), { timeout: 30_000 });
      sender.end();
      sender.close();
      expect(await peer.done).toEqual({
        code: 0, stdout: `ready\nreceived ${sizes.length} bytes ${total} sizes ${sizes.join(',')}\n`, stderr: '',
      });
      expect(stats(name)).toMatchObject({ messagesSent: sizes.length, messagesReceived: sizes.length });
    });

    it(`${mode}: a C++ sender's messages up to 16 MiB reach a Node receiver whole, every byte checked`, async () => {
      const name = channelName(`fcn${mode}`);
      createChannel(name, { capacity, mode });
      const receiver = openReceiver(name);
      const peer = run(['big-send', name, sizes.join(','), '1']);
      const got: number[] = [];
      const wrong: number[] = [];
      for await (const message of receiver) {
        const i = got.length;
        got.push(message.length);
        if (i >= sizes.length || !Buffer.from(message.buffer, message.byteOffset, message.length).equals(big(i, sizes[i]))) {
          wrong.push(i);
        }
      }
      expect(await peer.done).toEqual({ code: 0, stdout: `sent ${sizes.length}\n`, stderr: '' });
      expect(got).toEqual(sizes);
      expect(wrong).toEqual([]);
      receiver.close();
      expect(stats(name)).toMatchObject({ messagesSent: sizes.length, messagesReceived: sizes.length });
    });
  }
});
