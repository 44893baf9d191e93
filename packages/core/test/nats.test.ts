// ringwire/nats against real NATS servers (test/nats-server.ts starts them): bridges out of
// and into channels over core NATS and JetStream, through one server and through a cluster of
// two ("two machines"), queue groups, the end of stream, a bridge killed mid-stream, and a
// slow channel behind an 'in' bridge.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, DiscardPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { createChannel, openReceiver, openSender, stats, type Receiver } from '../src/index.js';
import { bridge, bridgeTasks, type BridgeOptions, type BridgeResult } from '../src/nats.js';
import { createTaskChannels, TaskClient, unlinkTaskChannels } from '../src/pool.js';
import { checkMessage, makeMessage } from './fixtures/messages.mjs';
import { channelName, freshName, runChild, until } from './helpers.js';
import { startCluster, startNatsServer, type NatsServer } from './nats-server.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
let server: NatsServer;
let cluster: [NatsServer, NatsServer];
let subjects = 0;
const freshSubject = () => `rwtest.${process.pid}.${subjects++}`;
const freshStream = () => `RWTEST_${process.pid}_${subjects++}`;
const code = (expected: string) => expect.objectContaining({ code: expected });

beforeAll(async () => {
  [server, cluster] = await Promise.all([startNatsServer({ name: 'single' }), startCluster()]);
  // JetStream in a cluster answers once its meta leader is elected.
  for (const node of cluster) await untilJetStream(node.url);
}, 240_000); // on a fresh machine, tools/ensure-nats-server.sh runs apt-get first
afterAll(async () => {
  await Promise.all([server?.stop(), ...(cluster ?? []).map((node) => node.stop())]);
});

async function untilJetStream(url: string): Promise<void> {
  const nc = await connect({ servers: url });
  try {
    const end = Date.now() + 30_000;
    for (;;) {
      try {
        await (await jetstreamManager(nc)).getAccountInfo();
        return;
      } catch (error) {
        if (Date.now() > end) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  } finally {
    await nc.close();
  }
}

/** Sends messages first..first+count-1 (messages.mjs) into `name`, then ends the stream. */
async function produce(name: string, count: number, first = 0, { receiverMayDie = false } = {}): Promise<void> {
  const sender = openSender(name);
  for (let seq = first; seq < first + count; seq++) {
    const message = makeMessage(seq);
    // trySend takes what one record carries; a 64 KiB message goes in fragments (send).
    if (message.length <= 60_000 && sender.trySend(message)) continue;
    for (;;) {
      try {
        await sender.send(message, { timeout: 60_000 });
        break;
      } catch (error) {
        // The test killed the bridge reading this channel: wait for the next one to open.
        if (!receiverMayDie || (error as { code?: string }).code !== 'ERR_RINGWIRE_PEER_DEAD') throw error;
        await until(() => stats(name).receiver?.open === true, 30_000, 'a new receiver');
      }
    }
  }
  await sender.end();
  sender.close();
}

/** Receives until the stream ends, checking each message is the next (from `first`). */
async function consume(receiver: Receiver, first = 0): Promise<number> {
  let seq = first;
  for (let message = await receiver.recv({ timeout: 60_000 }); message !== null; message = await receiver.recv({ timeout: 60_000 })) {
    const error = checkMessage(message, seq);
    if (error !== null) throw new Error(`message ${seq}: ${error}`);
    seq++;
  }
  return seq - first;
}

/**
 * Subscribes to `subject` (the server has the subscription once this resolves): `got` fills
 * with a copy of each message, and `ended` settles at the end marker.
 */
async function collect(nc: NatsClientConnection, subject: string): Promise<{ got: Uint8Array[]; ended: Promise<void> }> {
  const got: Uint8Array[] = [];
  const subscription = nc.subscribe(subject);
  await nc.flush();
  const ended = (async () => {
    for await (const message of subscription) {
      if (message.headers?.get('Ringwire-End') === '1') return;
      got.push(message.data.slice());
    }
  })();
  return { got, ended };
}
type NatsClientConnection = Awaited<ReturnType<typeof connect>>;

/** A message of `size` bytes: its seq in its first 4, then a pattern of it. */
function seqMessage(seq: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  new DataView(bytes.buffer).setUint32(0, seq, true);
  for (let i = 4; i < size; i++) bytes[i] = (seq + i) & 0xff;
  return bytes;
}
const seqOf = (data: Uint8Array) => new DataView(data.buffer, data.byteOffset).getUint32(0, true);

/** A channel → NATS → channel run: `count` messages, every one checked, in order, then the end. */
async function roundTrip(out: Omit<BridgeOptions, 'channel' | 'direction'>, into: Omit<BridgeOptions, 'channel' | 'direction'>,
  count: number): Promise<void> {
  const source = channelName('nsrc');
  const sink = channelName('nsink');
  createChannel(source, { capacity: 1 << 18 });
  createChannel(sink, { capacity: 1 << 18 });
  const inBridge = await bridge({ ...into, channel: sink, direction: 'in' });
  const outBridge = await bridge({ ...out, channel: source, direction: 'out' });
  const receiver = openReceiver(sink);
  const [received] = await Promise.all([consume(receiver), produce(source, count)]);
  receiver.close();
  expect(received).toBe(count);
  const [outResult, inResult] = await Promise.all([outBridge.done, inBridge.done]);
  expect(outResult).toMatchObject({ reason: 'ended', stats: { messages: count, pendingAcks: 0 } });
  expect(inResult).toMatchObject({ reason: 'ended', stats: { messages: count } });
  expect(stats(sink)).toMatchObject({ ended: true, messagesReceived: count });
}

describe('ringwire/nats bridges', () => {
  it('core NATS: channel → NATS → channel, every message intact and in order, then the end of stream', async () => {
    const subject = freshSubject();
    await roundTrip({ subject, servers: server.url }, { subject, servers: server.url }, 20_000);
  });

  it('core NATS out, SPSC: messages that leave padding at the ring\'s end (40 000 bytes in a 64 KiB ring) all go through', async () => {
    // Each run crosses the half ring after which the bridge flushes, and every message but the
    // first follows padding: the flush's answer may come after that padding was read and
    // freed past its mark (held.test.ts shows that step alone).
    const subject = freshSubject();
    const source = channelName('npad');
    createChannel(source, { capacity: 1 << 16 });
    const nc = await connect({ servers: server.url });
    try {
      const size = 40_000;
      const count = 60;
      const { got, ended: receiving } = await collect(nc, subject);
      const running = await bridge({ channel: source, subject, direction: 'out', servers: server.url });
      const sender = openSender(source);
      for (let seq = 0; seq < count; seq++) await sender.send(seqMessage(seq, size), { timeout: 60_000 });
      await sender.end();
      sender.close();
      expect(await running.done).toMatchObject({ reason: 'ended', stats: { messages: count } });
      await receiving;
      expect(got).toHaveLength(count);
      got.forEach((data, seq) => expect(Buffer.compare(data, seqMessage(seq, size))).toBe(0));
    } finally {
      await nc.close();
    }
  });

  it('core NATS in: what arrives while the ring is full waits in the bridge and reaches the channel intact and in order', async () => {
    // A 64 KiB ring nobody reads for a while: most of the 20 000 messages (about 10 MB) wait in
    // the bridge (copied out of the client's read buffers), in chunks that are used again once
    // the channel takes what they hold; the second wave arrives while the first still waits.
    const subject = freshSubject();
    const sink = channelName('nback');
    createChannel(sink, { capacity: 1 << 16 });
    const inBridge = await bridge({ channel: sink, subject, direction: 'in', servers: server.url });
    const nc = await connect({ servers: server.url });
    const count = 20_000;
    const half = count / 2;
    for (let seq = 0; seq < half; seq++) nc.publish(subject, makeMessage(seq));
    await nc.flush();
    const receiver = openReceiver(sink);
    const take = async (from: number, to: number) => {
      for (let seq = from; seq < to; seq++) {
        const message = await receiver.recv({ timeout: 60_000 });
        const error = message === null ? 'the end of the stream' : checkMessage(message, seq);
        if (error !== null) throw new Error(`message ${seq}: ${error}`);
      }
    };
    await take(0, half / 4);
    for (let seq = half; seq < count; seq++) nc.publish(subject, makeMessage(seq));
    await nc.flush();
    await take(half / 4, count);
    expect(inBridge.stats().messages).toBe(count);
    expect(receiver.tryRecv()).toBeUndefined();
    await inBridge.close();
    receiver.close();
    await nc.close();
  });

  it('JetStream: publishes acked with Nats-Msg-Id; pulled from a durable consumer and acked once in the ring', async () => {
    const subject = freshSubject();
    const stream = freshStream();
    await roundTrip({ subject, servers: server.url, jetstream: { stream } },
      { subject, servers: server.url, jetstream: { stream, durable: 'sink' } }, 20_000);
    // Every message (and the end marker) is in the stream, and the consumer acked them all.
    const nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info(stream)).state.messages).toBe(20_001);
    expect((await jsm.consumers.info(stream, 'sink')).num_ack_pending).toBe(0);
    await nc.close();
  });

  it('two machines: out through server A, in through server B of a cluster, JetStream; nothing lost', async () => {
    const subject = freshSubject();
    const stream = freshStream();
    await roundTrip({ subject, servers: cluster[0].url, jetstream: { stream } },
      { subject, servers: cluster[1].url, jetstream: { stream, durable: 'b' } }, 20_000);
  });

  it('a queue group: two in bridges share the messages, each goes to exactly one', async () => {
    const subject = freshSubject();
    const sink = channelName('nq');
    createChannel(sink, { mode: 'mpmc', capacity: 1 << 18 });
    const bridges = await Promise.all([0, 1].map(() =>
      bridge({ channel: sink, subject, direction: 'in', servers: server.url, queue: 'workers' })));
    const nc = await connect({ servers: server.url });
    const receiver = openReceiver(sink);
    const count = 5000;
    for (let seq = 0; seq < count; seq++) nc.publish(subject, makeMessage(seq));
    await nc.flush();
    const seen = new Uint8Array(count);
    for (let got = 0; got < count; got++) {
      const message = (await receiver.recv({ timeout: 30_000 }))!;
      const seq = message.length >= 8 ? new DataView(message.buffer, message.byteOffset).getUint32(0, true) : -1;
      if (seq >= 0) seen[seq]++;
    }
    expect(receiver.tryRecv()).toBeUndefined();
    expect(seen.every((times, seq) => times === (makeMessage(seq).length >= 8 ? 1 : 0))).toBe(true);
    const moved = bridges.map((b) => b.stats().messages);
    expect(moved[0] + moved[1]).toBe(count);
    await Promise.all(bridges.map((b) => b.close()));
    receiver.close();
    await nc.close();
  });

  it('a broadcast channel: the out bridge is one more subscriber', async () => {
    const subject = freshSubject();
    const source = channelName('nb');
    createChannel(source, { mode: 'broadcast', capacity: 1 << 18 });
    const local = openReceiver(source);
    const nc = await connect({ servers: server.url });
    const subscription = nc.subscribe(subject);
    const out = await bridge({ channel: source, subject, direction: 'out', servers: server.url });
    const [received] = await Promise.all([consume(local), produce(source, 1000)]);
    expect(received).toBe(1000);
    local.close();
    let seq = 0;
    for await (const message of subscription) {
      if (message.headers?.get('Ringwire-End') === '1') break;
      expect(checkMessage(message.data, seq)).toBeNull();
      seq++;
    }
    expect(seq).toBe(1000);
    expect((await out.done).reason).toBe('ended');
    await nc.close();
  });

  it('close() stops an out bridge that its channel keeps busy: what it took is published, nothing more is taken', async () => {
    const subject = freshSubject();
    const source = channelName('nclose');
    createChannel(source, { capacity: 1 << 16 });
    const nc = await connect({ servers: server.url });
    let published = 0;
    const subscription = nc.subscribe(subject, { callback: () => { published++; } });
    await nc.flush();
    const out = await bridge({ channel: source, subject, direction: 'out', servers: server.url });
    const sender = openSender(source);
    let stopping = false;
    const producing = (async () => {
      for (let seq = 1; !stopping; seq++) {
        const message = makeMessage(seq % 1000 + 1);
        if (!sender.trySend(message)) await sender.send(message, { timeout: 30_000 });
      }
    })();
    await until(() => out.stats().messages > 10_000, 30_000, 'the bridge to move 10000 messages');
    const result = await out.close();
    expect(result.reason).toBe('closed');
    stopping = true;
    sender.close(); // a send waiting for room (nobody takes any more) rejects
    await producing.catch((error: unknown) => expect(error).toMatchObject({ code: 'ERR_RINGWIRE_CLOSED' }));
    // Everything it counted reached the server (a subscriber on the same server saw it).
    await nc.flush();
    await until(() => published === result.stats.messages, 10_000, 'the subscriber to see what the bridge published');
    subscription.unsubscribe();
    await nc.close();
  });

  it('refuses bad options with ERR_RINGWIRE_INVALID_ARG, and a channel that is not there with its own error', async () => {
    const base = { channel: 'x', subject: 's', servers: server.url } as const;
    await expect(bridge({ ...base, direction: 'sideways' as 'in' })).rejects.toThrow(code('ERR_RINGWIRE_INVALID_ARG'));
    await expect(bridge({ ...base, direction: 'in', subject: 'a b' })).rejects.toThrow(code('ERR_RINGWIRE_INVALID_ARG'));
    await expect(bridge({ ...base, direction: 'in', servers: [] })).rejects.toThrow(code('ERR_RINGWIRE_INVALID_ARG'));
    await expect(bridge({ ...base, direction: 'out', queue: 'q' })).rejects.toThrow(code('ERR_RINGWIRE_INVALID_ARG'));
    await expect(bridge({ ...base, direction: 'in', jetstream: { stream: 'S' } })).rejects.toThrow(/durable is required/);
    await expect(bridge({ ...base, direction: 'in', window: 0 })).rejects.toThrow(code('ERR_RINGWIRE_INVALID_ARG'));
    await expect(bridge({ ...base, direction: 'out', serverConfirm: 'yes' as unknown as boolean })).rejects.toThrow(code('ERR_RINGWIRE_INVALID_ARG'));
    await expect(bridge({ ...base, direction: 'in', serverConfirm: true })).rejects.toThrow(code('ERR_RINGWIRE_INVALID_ARG'));
    await expect(bridge({ ...base, direction: 'out', spinMicros: -1 })).rejects.toThrow(/spinMicros must be/);
    await expect(bridge({ ...base, direction: 'out', serverConfirm: true, jetstream: { stream: 'S' } }))
      .rejects.toThrow(code('ERR_RINGWIRE_INVALID_ARG'));
    // It holds messages in the ring for the server: only the one receiver of an SPSC channel can.
    const shared = channelName('nmp');
    createChannel(shared, { mode: 'mpmc', capacity: 1 << 16 });
    await expect(bridge({ ...base, channel: shared, direction: 'out', serverConfirm: true }))
      .rejects.toThrow(/serverConfirm needs an SPSC channel.*mpmc/);
    expect(stats(shared).receivers).toHaveLength(0);
    await expect(bridge({ ...base, channel: channelName('absent'), direction: 'in' })).rejects.toThrow(code('ERR_RINGWIRE_NOT_FOUND'));
    // The client's own errors come as ERR_RINGWIRE_SYSTEM, with the client's error as the cause.
    await expect(bridge({ ...base, direction: 'in', servers: 'nats://127.0.0.1:1' })).rejects.toThrow(code('ERR_RINGWIRE_SYSTEM'));
  });
});

describe('ringwire/pool across machines (bridgeTasks)', () => {
  // Core NATS drops what is published before a subscriber's interest has reached the server
  // it is published on: across a cluster's route that takes a moment after the pool side
  // subscribes. JetStream keeps the tasks; core NATS is tested through one server.
  for (const viaJetStream of [false, true]) {
    it(viaJetStream
      ? 'a piscina pool "on another machine" (server B) serves a TaskClient (server A), tasks through JetStream: '
        + 'results, TASK_FAILED, WORKER_DIED and timeouts as on one machine'
      : 'core NATS: a piscina pool in another process serves a TaskClient through one server, the same way', async () => {
      const here = freshName('pc', 24);
      const there = freshName('pp', 24);
      createTaskChannels(here, { capacity: 1 << 16 });
      createTaskChannels(there, { capacity: 1 << 16 });
      const subject = freshSubject();
      const stream = viaJetStream ? { jetstream: { stream: freshStream() } } : {};
      try {
        const [clientServer, poolServer] = viaJetStream ? cluster : [server, server];
        const poolSide = await bridgeTasks({ name: there, subject, side: 'pool', servers: poolServer.url, ...stream });
        const clientSide = await bridgeTasks({ name: here, subject, side: 'client', servers: clientServer.url, ...stream });
        const host = runChild('pool-host.mjs', [there, '2'], 60_000);
        const client = new TaskClient(here, { timeout: 20_000 });
        const sums = await Promise.all(Array.from({ length: 500 }, (_, i) => client.run({ op: 'add', a: i, b: 0.5 })));
        expect(sums).toEqual(Array.from({ length: 500 }, (_, i) => i + 0.5));
        await expect(client.run({ op: 'throw', n: 7 })).rejects.toMatchObject({
          code: 'ERR_RINGWIRE_TASK_FAILED', message: expect.stringContaining('TypeError: bad task 7'),
        });
        await expect(client.run({ op: 'die' })).rejects.toMatchObject({ code: 'ERR_RINGWIRE_WORKER_DIED' });
        await expect(client.run({ op: 'slow', ms: 2000, n: 1 }, { timeout: 50 })).rejects.toMatchObject({ code: 'ERR_RINGWIRE_TIMEOUT' });
        expect(await client.run({ op: 'add', a: 1, b: 2 })).toBe(3);
        await client.drain();
        client.close();
        // The "taken" notices stayed on the pool's machine; everything else came back.
        await until(() => clientSide.stats().results.messages === poolSide.stats().results.messages, 30_000,
          'every result the pool side forwarded to reach the client side');
        expect(poolSide.stats().tasks.messages).toBe(500 + 4);
        await Promise.all([clientSide.close(), poolSide.close()]);
        // No end of stream crosses machines: the pool's machine ends its own task channel.
        const ender = openSender(`${there}.t`);
        await ender.end();
        ender.close();
        const done = await host;
        expect(done.code, done.stderr).toBe(0);
      } finally {
        unlinkTaskChannels(here);
        unlinkTaskChannels(there);
      }
    });
  }
});

/** `ringwire bridge ...` in a child process; resolves once it has started (its first stderr line). */
async function cliBridge(args: string[]) {
  const child = spawn(process.execPath, [CLI, 'bridge', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  const exited = once(child, 'exit');
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (stderr.includes('ringwire bridge')) resolve();
    });
    void exited.then(() => reject(new Error(`ringwire bridge exited: ${stderr}`)));
  });
  return {
    pid: child.pid!,
    stdout: () => stdout,
    stderr: () => stderr,
    exited: exited.then(([exitCode, signal]) => ({ code: exitCode as number | null, signal: signal as string | null })),
    kill: (signal: NodeJS.Signals) => child.kill(signal),
  };
}

/** A new stream on the single server holding `subject`, with messages 0..count-1 published (acked) into it. */
async function filledStream(stream: string, subject: string, count: number, message: (seq: number) => Uint8Array) {
  const nc = await connect({ servers: server.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [subject] });
  const js = jetstream(nc);
  for (let seq = 0; seq < count; seq += 500) {
    await Promise.all(Array.from({ length: Math.min(500, count - seq) }, (_, i) => js.publish(subject, message(seq + i))));
  }
  return { nc, jsm };
}

/** Resident memory of a process, in bytes (VmRSS). */
function rss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) * 1024;
}

describe('ringwire bridge (the CLI) when things go wrong', () => {
  it('out, JetStream, SPSC: killed -9 while publishes wait for acks, then restarted: the stream gets every message once, in order', async () => {
    const subject = freshSubject();
    const stream = freshStream();
    const source = channelName('nko');
    createChannel(source, { capacity: 1 << 18 });
    const nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    // The stream refuses more than 3000 messages for now: the publishes after those wait (the
    // bridge retries them), taken from the channel and not acked, when the bridge is killed.
    await jsm.streams.add({ name: stream, subjects: [subject], max_msgs: 3000, discard: DiscardPolicy.New });
    const count = 20_000;
    const producing = produce(source, count, 0, { receiverMayDie: true });
    const args = ['out', source, subject, '--server', server.url, '--jetstream', stream, '--json'];
    const stored = async () => (await jsm.streams.info(stream)).state.messages;
    const first = await cliBridge(args);
    for (const end = Date.now() + 30_000; await stored() < 3000;) {
      if (Date.now() > end) throw new Error('the bridge did not publish 3000 messages');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    first.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    await jsm.streams.update(stream, { max_msgs: -1 });
    // What it took and JetStream had not acked is still in the ring for the next bridge.
    const second = await cliBridge(args);
    await producing;
    expect(await second.exited).toEqual({ code: 0, signal: null });
    expect(JSON.parse(second.stdout())).toMatchObject({ reason: 'ended' });
    // Repeats of what the first published and was acked too late were dropped by the duplicate window.
    expect(await stored()).toBe(count + 1); // and the end marker
    const consumer = await jetstream(nc).consumers.get(stream);
    let seq = 0;
    for await (const message of await consumer.consume()) {
      if (message.headers?.get('Ringwire-End') === '1') break;
      expect(checkMessage(message.data, seq)).toBeNull();
      seq++;
    }
    expect(seq).toBe(count);
    expect(stats(source)).toMatchObject({ messagesReceived: count, bytesUsed: 0 });
    await nc.close();
  });

  it('out, core NATS, SPSC: a message\'s room goes back once the client has copied it, before the server answers; a stopped server stops the bridge within two runs, and nothing is lost when it goes on', async () => {
    const paused = await startNatsServer({ name: 'copied' });
    const subject = freshSubject();
    const source = channelName('ncp');
    const capacity = 1 << 18;
    createChannel(source, { capacity });
    const nc = await connect({ servers: paused.url });
    let stopped = false;
    try {
      const { got, ended: receiving } = await collect(nc, subject);
      const running = await bridge({ channel: source, subject, direction: 'out', servers: paused.url });
      process.kill(paused.pid, 'SIGSTOP');
      stopped = true;
      const sender = openSender(source);
      // One run, sent in one task: the bridge publishes it as views of the ring, nats.js copies
      // it for the socket, and its room goes back though the server answers nothing.
      for (let seq = 0; seq < 3; seq++) expect(sender.trySend(seqMessage(seq, 1000))).toBe(true);
      await until(() => stats(source).messagesReceived === 3 && stats(source).bytesUsed === 0, 30_000,
        'the run\'s room back while the server is stopped');
      expect(running.stats().messages).toBe(3);
      // Now more than the bridge may buffer: while the server does not answer, it takes at
      // most two flushes' worth (one flush after every half ring, each with the run that
      // crossed it, at most a ring), then the sender waits for room.
      const size = 60_000;
      const count = 200;
      let sent = 3;
      const producing = (async () => {
        for (; sent < 3 + count; sent++) await sender.send(seqMessage(sent, size), { timeout: 60_000 });
        await sender.end();
      })();
      await until(() => stats(source).sendersWaiting > 0 && stats(source).bytesUsed > capacity - size - 16, 30_000,
        'the sender waiting for room');
      const taken = stats(source).messagesReceived - 3;
      expect(taken).toBeLessThanOrEqual(3 * Math.ceil(capacity / size));
      expect(sent).toBeLessThan(3 + count);
      process.kill(paused.pid, 'SIGCONT');
      stopped = false;
      await producing;
      sender.close();
      expect(await running.done).toMatchObject({ reason: 'ended', stats: { messages: 3 + count } });
      await receiving;
      expect(got).toHaveLength(3 + count);
      got.forEach((data, seq) => expect(Buffer.compare(data, seqMessage(seq, seq < 3 ? 1000 : size))).toBe(0));
    } finally {
      if (stopped) process.kill(paused.pid, 'SIGCONT');
      await nc.close();
      await paused.stop();
    }
  });

  /**
   * A server killed mid-stream (SIGKILL) and a new one started on its port, under a
   * subscriber and an out bridge on `source` (both clients reconnect), while a producer sends
   * numbered messages until finish() (or close()). Resolves once the new server is up.
   */
  async function acrossRestart(name: string, source: string, bridgeOptions: Partial<BridgeOptions>) {
    let current = await startNatsServer({ name });
    const port = Number(new URL(current.url).port);
    const subject = freshSubject();
    const nc = await connect({ servers: current.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    const { got, ended: receiving } = await collect(nc, subject);
    const first = await bridge({ channel: source, subject, direction: 'out', servers: current.url, ...bridgeOptions });
    let stop = false;
    let sent = 0;
    const producing = (async () => {
      const sender = openSender(source);
      for (; !stop; sent++) {
        const message = seqMessage(sent, 1000);
        if (!sender.trySend(message)) await sender.send(message, { timeout: 60_000 });
        if (sent % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      await sender.end();
      sender.close();
    })();
    try {
      await until(() => got.length >= 2000, 30_000, '2000 messages before the restart');
      process.kill(current.pid, 'SIGKILL');
      await current.stop();
      current = await startNatsServer({ name: `${name}-again`, port });
      const restarted = got.length;
      return {
        first, subject, nc, got, restarted, server: () => current,
        /**
         * Once 2000 more messages came, ends the stream, waits for `done` (the bridge's) and
         * checks what came: every message intact, the last one sent among them, the channel
         * drained. Resolves with the bridge's result and the seqs received.
         */
        async finish(done: Promise<BridgeResult>) {
          await until(() => got.length >= restarted + 2000, 60_000, '2000 messages after the restart');
          stop = true;
          await producing;
          const result = await done;
          await receiving;
          const seqs = got.map(seqOf);
          got.forEach((data, i) => expect(Buffer.compare(data, seqMessage(seqs[i], 1000))).toBe(0));
          expect(seqs.at(-1)).toBe(sent - 1);
          expect(stats(source)).toMatchObject({ messagesReceived: sent, bytesUsed: 0 });
          return { result, seqs, sent };
        },
        async close() {
          stop = true;
          await nc.close();
          await current.stop();
        },
      };
    } catch (error) {
      stop = true;
      await nc.close();
      await current.stop();
      throw error;
    }
  }

  it('out, core NATS, SPSC: the server restarted mid-stream: the bridge rides through the client\'s reconnect, losing at most what the client dropped, and the stream ends', async () => {
    const source = channelName('nrs');
    createChannel(source, { capacity: 1 << 18 });
    const run = await acrossRestart('restart', source, {});
    try {
      const { result, seqs, sent } = await run.finish(run.first.done);
      expect(result).toMatchObject({ reason: 'ended', stats: { messages: sent } });
      // In order, none twice; a gap only around the restart.
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
    } finally {
      await run.close();
    }
  });

  it('out, core NATS, SPSC, serverConfirm: the server restarted mid-stream: the bridge stops with ERR_RINGWIRE_SYSTEM, and the next one publishes everything the server had not answered for', async () => {
    const source = channelName('nrc');
    createChannel(source, { capacity: 1 << 18 });
    const run = await acrossRestart('restart-confirm', source, { serverConfirm: true });
    try {
      await expect(run.first.done).rejects.toMatchObject({ code: 'ERR_RINGWIRE_SYSTEM' });
      // What the first server answered for; everything after it is still in the ring.
      const answered = stats(source).messagesReceived;
      // The subscriber's client is back (it subscribes again as it reconnects) before the next bridge publishes.
      for (const end = Date.now() + 30_000; ;) {
        try {
          await run.nc.flush();
          break;
        } catch (error) {
          if (Date.now() > end) throw error;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      const second = await bridge({ channel: source, subject: run.subject, direction: 'out', servers: run.server().url, serverConfirm: true });
      const { result, seqs, sent } = await run.finish(second.done);
      expect(result).toMatchObject({ reason: 'ended' });
      // From the first the server had not answered for to the last, each one came after the restart.
      const after = new Set(seqs.slice(run.restarted));
      const missing = [];
      for (let seq = answered; seq < sent; seq++) if (!after.has(seq)) missing.push(seq);
      expect(missing).toEqual([]);
    } finally {
      await run.close();
    }
  });

  it('out, core NATS, SPSC, --server-confirm: a message stays in the ring until the server answered for it: killed -9 while the server is stopped, then restarted, nothing is lost', async () => {
    // A server of its own, stopped (SIGSTOP) mid-stream: nothing the bridge publishes then is
    // answered for, and the bridge publishes views of the ring. Held, those messages are still
    // in the ring when it is killed, and the next bridge publishes them again, intact. (Taken
    // at once, as the bridge did before it published from the ring, what nats.js had not yet
    // written to the socket when it was killed was lost: 73 messages in one run.)
    const paused = await startNatsServer({ name: 'paused' });
    const subject = freshSubject();
    const source = channelName('nkc');
    const capacity = 1 << 18; // more than the largest message (64 KiB): none goes in fragments
    createChannel(source, { capacity });
    const nc = await connect({ servers: paused.url });
    let stopped = false;
    try {
      const { got, ended: receiving } = await collect(nc, subject);
      const count = 20_000;
      let produced = false;
      const producing = produce(source, count, 0, { receiverMayDie: true }).then(() => { produced = true; });
      const args = ['out', source, subject, '--server', paused.url, '--server-confirm', '--json'];
      const first = await cliBridge(args);
      await until(() => got.length >= 1000, 30_000, 'a thousand messages through the first bridge');
      process.kill(paused.pid, 'SIGSTOP');
      stopped = true;
      // The ring fills with what the server has not answered for, and the producer waits for room.
      await until(() => produced || (stats(source).sendersWaiting > 0 && stats(source).bytesUsed >= capacity / 2),
        30_000, 'the ring full of what the stopped server has not answered for');
      // The bridge stopped taking (it waits for the answer to its flush): the producer could not finish.
      expect(produced).toBe(false);
      expect(stats(source).messagesReceived).toBeLessThan(count);
      first.kill('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');
      process.kill(paused.pid, 'SIGCONT');
      stopped = false;
      const second = await cliBridge(args);
      await producing;
      expect(await second.exited).toEqual({ code: 0, signal: null });
      await receiving;
      // Each message's seq: in its first 4 bytes from 8 bytes on; a shorter one is the next
      // after the one before it, or (the first after the restart's step back) counted back
      // from the next that carries its seq. checkMessage confirms it either way.
      const seen: number[] = [];
      got.forEach((data, i) => {
        let seq = data.length >= 8 ? seqOf(data) : (seen.at(-1) ?? -1) + 1;
        if (data.length < 8 && checkMessage(data, seq) !== null) {
          const k = got.findIndex((later, j) => j > i && later.length >= 8);
          if (k > i) seq = seqOf(got[k]) - (k - i);
        }
        const error = checkMessage(data, seq);
        if (error !== null) throw new Error(`message ${seq} (after ${seen.at(-1)}): ${error}`);
        seen.push(seq);
      });
      // Every message arrived; a repeat goes back only to where the server had stopped answering.
      let next = 0;
      let repeats = 0;
      for (const seq of seen) {
        if (seq > next) throw new Error(`messages ${next} to ${seq - 1} were lost`);
        if (seq < next) repeats++;
        next = Math.max(next, seq + 1);
      }
      expect(next).toBe(count);
      expect(seen.length - repeats).toBe(count);
      expect(stats(source)).toMatchObject({ messagesReceived: count, bytesUsed: 0 });
    } finally {
      if (stopped) process.kill(paused.pid, 'SIGCONT');
      await nc.close();
      await paused.stop();
    }
  });

  it('out, core NATS, SPSC, serverConfirm: a bridge stopped by its channel\'s dead sender while a flush waits for the server leaves the closed channel alone when the answer comes', async () => {
    const paused = await startNatsServer({ name: 'late-answer' });
    const source = channelName('nla');
    createChannel(source, { capacity: 1 << 16 });
    let stopped = false;
    try {
      const running = await bridge({ channel: source, subject: freshSubject(), direction: 'out', servers: paused.url, serverConfirm: true });
      process.kill(paused.pid, 'SIGSTOP');
      stopped = true;
      // The flush after it waits for the stopped server; the sender dies meanwhile. (One
      // message: one flush. After a second run the bridge would wait for the first flush's
      // answer, not for the channel, and never see the sender die.)
      const sender = runChild('hold.mjs', ['sender', source, '1']);
      await until(() => sender.output().includes('ready') && running.stats().messages === 1, 30_000, 'the message published');
      process.kill(sender.pid, 'SIGKILL');
      await sender;
      await until(() => stats(source).receiver?.open !== true, 30_000, 'the bridge to close its receiver');
      process.kill(paused.pid, 'SIGCONT');
      stopped = false;
      await expect(running.done).rejects.toMatchObject({ code: 'ERR_RINGWIRE_PEER_DEAD' });
      // Nothing was confirmed after the close: the message is still in the ring for the next receiver.
      const receiver = openReceiver(source);
      let count = 0;
      while (receiver.tryRecv() !== undefined) count++;
      receiver.close();
      expect(count).toBe(1);
    } finally {
      if (stopped) process.kill(paused.pid, 'SIGCONT');
      await paused.stop();
    }
  });

  it('in, JetStream: killed -9 mid-stream and restarted, nothing is lost; repeats are only what it put in the ring unacked', async () => {
    const subject = freshSubject();
    const stream = freshStream();
    const sink = channelName('nk');
    createChannel(sink, { capacity: 1 << 20 });
    const count = 20_000;
    const { nc, jsm } = await filledStream(stream, subject, count, makeMessage);
    // Redelivery of what the killed bridge held unacked comes after the ack wait: 2 s here.
    await jsm.consumers.add(stream, { durable_name: 'killed', ack_policy: AckPolicy.Explicit, ack_wait: 2e9, max_ack_pending: 256 });
    const args = ['in', subject, sink, '--server', server.url, '--jetstream', stream, '--durable', 'killed'];
    const receiver = openReceiver(sink);
    // Each message's sequence number (messages of 8 bytes or more carry it): a repeat is a
    // message seen again, never one out of place beyond the repeats.
    const seen = new Uint8Array(count);
    let repeats = 0;
    let taken = 0;
    const take = (message: Uint8Array) => {
      taken++;
      if (message.length < 8) return;
      const seq = new DataView(message.buffer, message.byteOffset).getUint32(0, true);
      expect(checkMessage(message, seq)).toBeNull();
      if (seen[seq]++ > 0) repeats++;
    };
    const first = await cliBridge(args);
    await until(() => { for (let m = receiver.tryRecv(); m !== undefined; m = receiver.tryRecv()) take(m); return taken > 2000; },
      30_000, 'the bridge to move 2000 messages');
    first.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    // What it had pulled and not acked is redelivered to the next bridge on the same durable.
    const second = await cliBridge(args);
    await until(() => {
      for (let m = receiver.tryRecv(); m !== undefined; m = receiver.tryRecv()) take(m);
      return seen.every((times, seq) => times > 0 || makeMessage(seq).length < 8);
    }, 60_000, 'every message');
    second.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
    receiver.close();
    // At most the window (256 pulled ahead) can be repeated.
    expect(repeats).toBeLessThanOrEqual(256);
    await nc.close();
  });

  it('ringwire ls and stat show running bridges: rates, lag, acks pending; a bridge gone is gone from them', async () => {
    const subject = freshSubject();
    const stream = freshStream();
    const source = channelName('nls');
    createChannel(source, { capacity: 1 << 16 });
    const running = await cliBridge(['out', source, subject, '--server', server.url, '--jetstream', stream]);
    const sender = openSender(source);
    for (let seq = 1; seq <= 1000; seq++) await sender.send(makeMessage(seq), { timeout: 30_000 });
    const cli = (args: string[]) => new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk) => { out += chunk; });
      child.on('error', reject);
      child.on('close', () => resolve(out));
    });
    // The status is rewritten every second: wait for one that has seen all 1000 go.
    let shown = '';
    for (const end = Date.now() + 30_000; !/ 1000 moved, lag 0, 0 acks pending/.test(shown);) {
      if (Date.now() > end) throw new Error(`ringwire stat never showed the bridge done: ${shown}`);
      shown = await cli(['stat', source]);
    }
    expect(shown).toMatch(new RegExp(`^bridge: +out ${source.replace(/\./g, '\\.')} → ${subject.replace(/\./g, '\\.')} \\(JetStream ${stream}\\) pid ${running.pid}: `, 'm'));
    const listed = await cli(['ls', '--prefix', source]);
    expect(listed).toContain(`bridge out ${source} → ${subject}`);
    const json = JSON.parse(await cli(['stat', source, '--json']));
    expect(json.bridges).toEqual([expect.objectContaining({ pid: running.pid, direction: 'out', messages: 1000, pendingAcks: 0, lag: 0 })]);
    running.kill('SIGKILL');
    await running.exited;
    expect(await cli(['ls', '--prefix', source])).not.toContain('bridge');
    sender.close();
  });

  it('in, JetStream: a channel nobody reads keeps the bridge\'s memory bounded (it stops pulling)', async () => {
    const subject = freshSubject();
    const stream = freshStream();
    const sink = channelName('nr');
    createChannel(sink, { capacity: 1 << 16 });
    const payload = new Uint8Array(16 * 1024);
    const count = 8000; // 128 MiB waiting in the stream
    const { nc, jsm } = await filledStream(stream, subject, count, () => payload);
    const running = await cliBridge(['in', subject, sink, '--server', server.url, '--jetstream', stream, '--durable', 'slow']);
    // The ring fills (64 KiB: a few messages) and the bridge waits for room.
    await until(() => stats(sink).sendersWaiting === 1, 30_000, 'the bridge to fill the ring and wait');
    const samples: number[] = [];
    for (let i = 0; i < 10; i++) {
      samples.push(rss(running.pid));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const info = await jsm.consumers.info(stream, 'slow');
    // It pulled at most its window ahead (256 messages, 4 MiB), not the 128 MiB waiting.
    expect(info.num_ack_pending + info.num_pending).toBeGreaterThan(count - 300);
    expect(Math.max(...samples)).toBeLessThan(150 * 1024 * 1024);
    running.kill('SIGTERM');
    expect((await running.exited).code).toBe(0);
    await nc.close();
  });
});
