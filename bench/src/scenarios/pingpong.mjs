// S4: round trips of 64 bytes between two processes; p50 / p99 / p99.9 in microseconds.
// ringwire in three variants (spin, park, default; park is the better of its two parking
// paths), Unix socket and TCP, the C floors c-spin / c-futex, and the System V baselines in C
// (sysv-mq: one message queue; sysv-shm: a shared segment, each side parked on a semaphore).
import os from 'node:os';
import { cleanUp } from '../harness/cleanup.mjs';
import { formatValue, percentiles } from '../harness/format.mjs';
import { channel, release, tmpPath } from '../harness/rendezvous.mjs';
import { Mailbox, spawnWorker } from '../harness/spawn.mjs';
import { nativePingPong } from '../systems/native.mjs';

const SIZE = 64;
const TIMEOUT_MS = 120000;

// Every pair runs pinned, ping on CPU 0 and pong on CPU 1 (C and Node alike): where the
// scheduler puts two processes decides a parked round trip (one CPU: ~2 µs; two: ~70 µs on
// these VMs), so unpinned pairs would compare placements, not systems.
const PIN = os.cpus().length >= 2;
const PINNED = PIN ? '; pinned to CPUs 0 and 1' : '';

/**
 * Runs one ping-pong pair; returns the round-trip percentiles (µs). `opened` runs once both
 * sides have their ends open (the names can be removed then).
 */
async function pair(name, worker, config, opened) {
  const mailbox = new Mailbox(name);
  const pong = spawnWorker(worker, { ...config, role: 'pong', cpu: PIN ? 1 : undefined }, `${name}-pong`, mailbox);
  pong.expectedExit = true; // each side leaves by itself once all round trips are done
  const ready = await mailbox.take('pong', 'ready', undefined, 20000);
  const ping = spawnWorker(worker, { ...config, role: 'ping', peer: ready.peer, cpu: PIN ? 0 : undefined }, `${name}-ping`, mailbox);
  ping.expectedExit = true;
  try {
    await mailbox.take('ping', 'ready', undefined, 20000);
    opened();
    const [result, done] = await Promise.all([
      mailbox.take('ping', 'result', undefined, TIMEOUT_MS),
      mailbox.take('pong', 'done', undefined, TIMEOUT_MS),
    ]);
    await Promise.all([ping.exited, pong.exited]);
    if (mailbox.failure) throw mailbox.failure;
    const total = result.warm + config.iterations;
    if (result.received !== total || done.received !== total || result.bad + done.bad !== 0) {
      throw new Error(`${name}: ${total} round trips, ping got ${result.received}, pong got ${done.received}, `
        + `${result.bad + done.bad} out of order or torn`);
    }
    return percentiles(result.samples);
  } finally {
    for (const child of [ping, pong]) if (child.exitCode === null) child.kill('SIGKILL');
  }
}

async function ringwire(variant, warmup, warmupMs, iterations) {
  const channels = { ping: channel(), pong: channel() };
  try {
    const unlink = () => {
      release(channels.ping);
      release(channels.pong);
    };
    return await pair(`ringwire-${variant}`, 'pingpong-ringwire.mjs', { variant, channels, warmup, warmupMs, iterations }, unlink);
  } finally {
    release(channels.ping);
    release(channels.pong);
  }
}

function row(system, stats, extra = {}) {
  const { p50, p99, p999 } = stats;
  return { system, size: SIZE, ...extra, value: p50, p50, p99, p999 };
}

function log(ctx, r) {
  const name = `${r.system}${r.variant ? ` ${r.variant}` : ''}`;
  if (r.value === null) ctx.log(`S4 ${name} … not run: ${r.reason}`);
  else ctx.log(`S4 ${name} … p50 ${formatValue(r.p50, 'us')} µs, p99 ${formatValue(r.p99, 'us')} µs, p99.9 ${formatValue(r.p999, 'us')} µs${r.note ? `  (${r.note})` : ''}`);
}

export async function runPingPong(ctx) {
  const { warmup, warmupMs, iterations, parkIterations } = ctx.timing.pingpong;
  const want = (system) => !ctx.only || ctx.only.has(system);
  const record = (r) => {
    ctx.record('S4', r);
    log(ctx, r);
  };
  if (want('ringwire')) {
    record(row('ringwire', await ringwire('spin', warmup, warmupMs, iterations), {
      variant: 'spin', note: `{ wait: 'spin' }; busy trySend / tryRecv${PINNED}`,
    }));
    const sync = await ringwire('park-sync', warmup, warmupMs, parkIterations);
    const async = await ringwire('park-async', warmup, warmupMs, parkIterations);
    const syncBetter = sync.p50 <= async.p50;
    const f = (s) => `p50 ${formatValue(s.p50, 'us')} / p99 ${formatValue(s.p99, 'us')} µs`;
    record(row('ringwire', syncBetter ? sync : async, {
      variant: 'park',
      note: `{ spinMicros: 0 }, always parks; best of sendSync/recvSync (${f(sync)}) and await send()/recv() `
        + `(${f(async)}): ${syncBetter ? 'sendSync/recvSync' : 'await send()/recv()'}${PINNED}`,
    }));
    record(row('ringwire', await ringwire('default', warmup, warmupMs, iterations), {
      variant: 'default', note: `default options (spin 50 µs, then park); await send() / await recv()${PINNED}`,
    }));
  }
  for (const transport of ['uds', 'tcp']) {
    if (!want(transport)) continue;
    const socketPath = transport === 'uds' ? tmpPath('sock') : undefined;
    try {
      const stats = await pair(transport, 'pingpong-stream.mjs', { transport, path: socketPath, warmup, warmupMs, iterations },
        () => socketPath && cleanUp(socketPath));
      record(row(transport, stats, { note: `${transport === 'tcp' ? '127.0.0.1, setNoDelay(true); ' : ''}write + 'data'${PINNED}` }));
    } finally {
      if (socketPath) cleanUp(socketPath);
    }
  }
  const NATIVE = {
    'c-spin': 'C, two processes, one shared word (spin)',
    'c-futex': 'C, two processes, one shared word (futex)',
    'sysv-mq': 'C, two processes, one System V queue: msgsnd mtype 1, msgrcv mtype 2 (both block in the kernel)',
    'sysv-shm': 'C, two processes, a System V shm segment; each side parks in semop on a System V semaphore until the other posts',
  };
  for (const [system, what] of Object.entries(NATIVE)) {
    if (!want(system)) continue;
    const stats = await nativePingPong(system, system === 'c-spin' ? iterations : parkIterations, PIN);
    record(stats.reason === undefined ? row(system, stats, { note: `${what}${PINNED}` })
      : { system, size: SIZE, value: null, reason: stats.reason });
  }
}
