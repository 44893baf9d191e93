// The native baselines and ceilings, for the harness:
//
//   cRing({ size, durationMs })         C producer -> C consumer process over a shared ring
//   cPingPong({ mode, iterations })     round-trip floor over a shared word, 'spin' | 'futex'
//   posixMq({ size, durationMs })       Node producer -> Node consumer over a POSIX mq
//   sysvMq({ size, durationMs })        C producer -> C consumer over a System V message queue
//   sysvShm({ size, durationMs })       C producer -> C consumer over a System V shared-memory
//                                       ring, waiting on a System V semaphore set
//   sysvPingPong({ kind, iterations })  round trips over a System V queue or shm + semaphores
//
// Each builds what it needs from source (bench/native/build.mjs), runs in fresh processes,
// and leaves nothing behind: children are killed and the queue unlinked on success, error,
// or when this process exits. The System V helper (sysv-ipc) removes its own queue and
// semaphore set on every way out but SIGKILL, so it is stopped with SIGTERM.
import { execFile, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildNative } from '../native/build.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

const live = new Set(); // child processes still running
// Children that must be stopped with SIGTERM, never SIGKILL: sysv-ipc removes its queue and
// semaphore set (kernel objects no process death removes) in its SIGTERM handler.
const gentle = new WeakSet();
const queues = new Map(); // queue name -> unlink function

process.on('exit', () => {
  for (const child of live) child.kill(gentle.has(child) ? 'SIGTERM' : 'SIGKILL');
  for (const unlink of queues.values()) {
    try { unlink(); } catch { /* exiting anyway */ }
  }
});

function checkSize(size, durationMs) {
  if (!Number.isInteger(size) || size < 1) throw new Error(`size must be a positive integer, not ${size}`);
  if (!(durationMs > 0)) throw new Error(`durationMs must be positive, not ${durationMs}`);
}

/** Runs a built program; resolves with its one-line JSON report, rejects with its stderr. */
async function runProgram(file, args, timeoutMs, killSignal = 'SIGKILL') {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args.map(String), { timeout: timeoutMs, killSignal },
      (error, stdout, stderr) => {
        live.delete(child);
        const name = path.basename(file);
        if (error) {
          const why = error.killed ? `timed out after ${timeoutMs} ms` : `exit ${error.code ?? error.signal}`;
          reject(new Error(`${name} ${args.join(' ')}: ${why}\n${stderr}${stdout}`.trim()));
          return;
        }
        try {
          resolve(JSON.parse(stdout.trim().split('\n').pop()));
        } catch {
          reject(new Error(`${name} ${args.join(' ')}: unreadable output ${JSON.stringify(stdout)}`));
        }
      });
    live.add(child);
    if (killSignal !== 'SIGKILL') gentle.add(child);
  });
}

/**
 * The C ceiling: S-byte messages through a 1 MiB shared ring (4 MiB above 256 KiB) between
 * two C processes, a warm-up of durationMs / 10, then durationMs measured by the consumer.
 * Every byte of every message is written and checked as the JS systems do (frames.mjs).
 * `cpu` is the CPU seconds of each process over the window ({ producer, consumer }).
 * @returns {Promise<{msgPerSec:number, bytesPerSec:number, messages:number, seconds:number, cpu:object}>}
 */
export async function cRing({ size, durationMs }) {
  checkSize(size, durationMs);
  const { cRing: file } = await buildNative(['cRing']);
  const r = await runProgram(file, [size, Math.round(durationMs)], durationMs * 1.1 + 10_000);
  if (r.bad !== 0) throw new Error(`c-ring: ${r.bad} messages out of order or torn`);
  const cpu = r.cpuProducer >= 0 && r.cpuConsumer >= 0 ? { producer: r.cpuProducer, consumer: r.cpuConsumer } : null;
  return { msgPerSec: r.msgPerSec, bytesPerSec: r.bytesPerSec, messages: r.messages, seconds: r.seconds, cpu };
}

/**
 * Round-trip latency between two C processes over one shared word: 'spin' (both busy-wait)
 * or 'futex' (both always park in FUTEX_WAIT). iterations / 10 warm-up rounds are dropped.
 * @returns {Promise<{p50:number, p99:number, p999:number, mean:number}>} microseconds
 */
export async function cPingPong({ mode, iterations, pin = false }) {
  if (mode !== 'spin' && mode !== 'futex') throw new Error(`mode must be 'spin' or 'futex', not ${mode}`);
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error(`iterations must be a positive integer`);
  const { cPingPong: file } = await buildNative(['cPingPong']);
  const r = await runProgram(file, pin ? [mode, iterations, 'pin'] : [mode, iterations], 60_000);
  return { p50: r.p50, p99: r.p99, p999: r.p999, mean: r.mean };
}

/** The kernel's mq limits for processes without CAP_SYS_RESOURCE (root without it too). */
function mqLimits() {
  const read = (name) => Number(readFileSync(`/proc/sys/fs/mqueue/${name}`, 'utf8'));
  try {
    return { msgMax: read('msg_max'), msgsizeMax: read('msgsize_max') };
  } catch {
    return { msgMax: 10, msgsizeMax: 8192 }; // the kernel defaults
  }
}

/**
 * Creates the queue: as deep as 1 MiB of messages (ringwire's default ring) if the kernel
 * lets us (CAP_SYS_RESOURCE lifts msg_max, RLIMIT_MSGQUEUE still caps the bytes), else as
 * deep as msg_max allows. Throws an Error saying why no queue can carry `size`.
 */
function createQueue(mq, name, size) {
  const { msgMax, msgsizeMax } = mqLimits();
  const wanted = Math.max(1, Math.min(65536, Math.floor((1 << 20) / size)));
  for (const depth of new Set([wanted, Math.min(wanted, msgMax)])) {
    try {
      return { fd: mq.open(name, depth, size, true, false), depth };
    } catch (error) {
      if (error.errno !== os.constants.errno.EINVAL && error.errno !== os.constants.errno.EMFILE) throw error;
    }
  }
  const why = size > msgsizeMax
    ? `above /proc/sys/fs/mqueue/msgsize_max (${msgsizeMax} bytes; only CAP_SYS_RESOURCE may exceed it)`
    : `rejected by mq_open (msg_max ${msgMax}, msgsize_max ${msgsizeMax}, RLIMIT_MSGQUEUE)`;
  throw new Error(`POSIX mq cannot carry ${size}-byte messages: ${why}`);
}

let queueCount = 0;

/**
 * The POSIX message queue baseline: a Node producer and a Node consumer process, one
 * mq_send / mq_receive per S-byte message. wait 'spin' (default) retries EAGAIN 100 times
 * and then blocks; 'block' always lets the kernel put the caller to sleep (see
 * posix-mq-worker.mjs for why spin is the default). Warm-up durationMs / 10, then durationMs
 * measured; `depth` is the queue's maxmsg. Throws if no queue can carry `size` bytes.
 * `cpu` is both processes' CPU seconds over the window ({ producer, consumer }).
 * @returns {Promise<{msgPerSec:number, bytesPerSec:number, messages:number, seconds:number, depth:number, cpu:object}>}
 */
export async function posixMq({ size, durationMs, wait = 'spin' }) {
  checkSize(size, durationMs);
  if (wait !== 'block' && wait !== 'spin') throw new Error(`wait must be 'block' or 'spin', not ${wait}`);
  const { posixMq: addon } = await buildNative(['posixMq']);
  const mq = require(addon);
  const name = `/rwbench-mq-${process.pid}-${++queueCount}`;
  mq.unlink(name); // a leftover of a killed run with our pid
  const { fd, depth } = createQueue(mq, name, size);
  queues.set(name, () => mq.unlink(name));
  const children = [];
  try {
    let fail;
    const failed = new Promise((_, reject) => { fail = reject; });
    failed.catch(() => {}); // raced below; the kills in `finally` reject it too, harmlessly
    const start = (role) => {
      const args = [role, addon, name, size, Math.round(durationMs / 10), Math.round(durationMs), wait];
      const child = fork(path.join(here, 'posix-mq-worker.mjs'), args.map(String),
        { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      live.add(child);
      children.push(child);
      const messages = new Map();
      child.on('message', (m) => messages.get(m.type)?.(m));
      child.on('exit', (code, signal) => {
        live.delete(child);
        fail(new Error(`posix-mq ${role} exited with ${signal ?? `code ${code}`} before it reported`));
      });
      child.on('error', fail);
      const next = (type) => new Promise((resolve) => messages.set(type, resolve));
      next.child = child;
      return next;
    };
    const timer = setTimeout(() => fail(new Error('posix-mq: no result in time')), durationMs * 1.1 + 15_000);
    try {
      const consumer = start('consumer');
      const ready = consumer('ready');
      const result = consumer('result');
      await Promise.race([ready, failed]);
      const producer = start('producer');
      // The consumer reads both processes' CPU time over its window (see posix-mq-worker.mjs).
      consumer.child.send({ producerPid: producer.child.pid });
      const r = await Promise.race([result, failed]);
      if (r.bad !== 0) throw new Error(`posix-mq: ${r.bad} messages out of order or torn`);
      const msgPerSec = r.messages / r.seconds;
      return {
        msgPerSec, bytesPerSec: msgPerSec * size, messages: r.messages, seconds: r.seconds, depth, cpu: r.cpu ?? null,
      };
    } finally {
      clearTimeout(timer);
    }
  } finally {
    // Kill both (the producer runs until killed) and wait, so the next run has the CPUs.
    await Promise.all(children.map((child) => new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', resolve);
      child.kill('SIGKILL');
    })));
    mq.close(fd);
    mq.unlink(name);
    queues.delete(name);
  }
}

/** The kernel's System V message size limit (msgsnd refuses larger messages with EINVAL). */
function msgMax() {
  try {
    return Number(readFileSync('/proc/sys/kernel/msgmax', 'utf8'));
  } catch {
    return 8192; // the kernel default
  }
}

/**
 * The System V message queue baseline: a C producer and a C consumer process (sysv-ipc.c),
 * one msgsnd / msgrcv per S-byte message (mtype 1) through a private queue (IPC_PRIVATE,
 * 0600) as deep as msg_qbytes allows (`qbytes`: msgmnb, 16 KiB by default, or 1 MiB where
 * CAP_SYS_RESOURCE lets it be raised). Warm-up durationMs / 10, then durationMs measured.
 * Throws if `size` is above msgmax. The queue is removed (IPC_RMID) on every way out.
 * @returns {Promise<{msgPerSec:number, bytesPerSec:number, messages:number, seconds:number, qbytes:number, cpu:object}>}
 */
export async function sysvMq({ size, durationMs }) {
  checkSize(size, durationMs);
  const max = msgMax();
  if (size > max) {
    throw new Error(`System V mq cannot carry ${size}-byte messages: above /proc/sys/kernel/msgmax (${max} bytes; msgsnd refuses larger ones)`);
  }
  const { sysvIpc: file } = await buildNative(['sysvIpc']);
  const r = await runProgram(file, ['mq', size, Math.round(durationMs)], durationMs * 1.1 + 10_000, 'SIGTERM');
  if (r.bad !== 0) throw new Error(`sysv-mq: ${r.bad} messages out of order or torn`);
  const cpu = r.cpuProducer >= 0 && r.cpuConsumer >= 0 ? { producer: r.cpuProducer, consumer: r.cpuConsumer } : null;
  return { msgPerSec: r.msgPerSec, bytesPerSec: r.bytesPerSec, messages: r.messages, seconds: r.seconds, qbytes: r.qbytes, cpu };
}

/**
 * The System V shared-memory baseline: a C producer and a C consumer process (sysv-ipc.c)
 * around a ring of fixed slots in a private segment (shmget / shmat; IPC_RMID once both
 * are attached) as large as c-ring's ring (1 MiB, 4 MiB above 256 KiB; at most 16384
 * slots), each side waiting on a semaphore of a private set (data, space): one semop before
 * and one after every message, on both sides. Warm-up durationMs / 10, then durationMs.
 * @returns {Promise<{msgPerSec:number, bytesPerSec:number, messages:number, seconds:number, slots:number, cpu:object}>}
 */
export async function sysvShm({ size, durationMs }) {
  checkSize(size, durationMs);
  const { sysvIpc: file } = await buildNative(['sysvIpc']);
  const r = await runProgram(file, ['shm', size, Math.round(durationMs)], durationMs * 1.1 + 10_000, 'SIGTERM');
  if (r.bad !== 0) throw new Error(`sysv-shm: ${r.bad} messages out of order or torn`);
  const cpu = r.cpuProducer >= 0 && r.cpuConsumer >= 0 ? { producer: r.cpuProducer, consumer: r.cpuConsumer } : null;
  return { msgPerSec: r.msgPerSec, bytesPerSec: r.bytesPerSec, messages: r.messages, seconds: r.seconds, slots: r.slots, cpu };
}

/**
 * 64-byte round trips between two C processes: kind 'mq' (one System V queue, ping sends
 * mtype 1 and waits in msgrcv for mtype 2) or 'shm' (a System V segment; each side parks in
 * semop until the other posts). iterations / 10 warm-up rounds are dropped.
 * @returns {Promise<{p50:number, p99:number, p999:number, mean:number}>} microseconds
 */
export async function sysvPingPong({ kind, iterations, pin = false }) {
  if (kind !== 'mq' && kind !== 'shm') throw new Error(`kind must be 'mq' or 'shm', not ${kind}`);
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error('iterations must be a positive integer');
  const { sysvIpc: file } = await buildNative(['sysvIpc']);
  const args = [`${kind}-pingpong`, iterations, ...(pin ? ['pin'] : [])];
  const r = await runProgram(file, args, 60_000, 'SIGTERM');
  return { p50: r.p50, p99: r.p99, p999: r.p999, mean: r.mean };
}
