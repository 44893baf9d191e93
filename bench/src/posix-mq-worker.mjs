// One end of the POSIX message queue baseline, forked by posixMq() in native-baselines.mjs,
// which creates the queue, starts the consumer, then the producer, and kills both (and
// unlinks the queue) once the consumer reports its measurement.
//
//   posix-mq-worker.mjs producer|consumer <addon> <queue> <size> <warmupMs> <measureMs> <wait>
//
// One mq_send / mq_receive per message, never longer than SLICE_MS in one call, and the loop
// yields to the event loop that often, so a worker whose parent died notices and exits.
//   wait = 'spin' (the default): up to SPIN_TRIES nonblocking calls, then one blocking call —
//     ringwire's own "spin briefly, then park". Measured on the 2-core VM: ~1.0 M msg/s at
//     64 B when idle (pure spinning: about the same), and no collapse when another process
//     takes a core (pure spinning fell to ~1 k msg/s: both ends burned whole time slices).
//   wait = 'block': every call may sleep in the kernel; ~0.25 M msg/s idle (each wake-up
//     crosses cores), but the best choice on a loaded machine (~0.9 M msg/s).
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { cpuBetween, groupCpu } from './harness/cputime.mjs';
import { Checker, writeMessage } from './workers/frames.mjs';

const SLICE_MS = 20;
const SPIN_TRIES = 100; // ~50 us of retries: a consumer that is running catches up by then
const [role, addon, queue, sizeArg, warmupArg, measureArg, wait] = process.argv.slice(2);
const size = Number(sizeArg);
const warmupMs = Number(warmupArg);
const measureMs = Number(measureArg);
const mq = createRequire(import.meta.url)(addon);

// 'block' uses one blocking descriptor; 'spin' tries a nonblocking descriptor SPIN_TRIES
// times, then parks on a blocking descriptor of the same queue.
const fd = mq.open(queue, 0, 0, false, wait === 'spin');
const parkFd = wait === 'spin' ? mq.open(queue, 0, 0, false, false) : fd;

function send(message) {
  if (wait === 'spin') for (let i = 0; i < SPIN_TRIES; i++) if (mq.send(fd, message)) return true;
  return mq.send(parkFd, message, SLICE_MS);
}

function receive(target) {
  if (wait === 'spin') {
    for (let i = 0; i < SPIN_TRIES; i++) {
      const length = mq.receive(fd, target);
      if (length >= 0) return length;
    }
  }
  return mq.receive(parkFd, target, SLICE_MS);
}

process.on('disconnect', () => process.exit(1)); // the parent is gone
const yieldToEventLoop = () => new Promise((resolve) => setImmediate(resolve));

// Every byte of every message written and checked as every system does (workers/frames.mjs).
const checker = new Checker(size);

async function produce() {
  const message = new Uint8Array(size); // mq_send copies it into the kernel: reuse it
  let seq = 0;
  writeMessage(message, 0, size, seq);
  process.send({ type: 'ready' });
  for (;;) { // until the parent kills us
    const sliceEnd = performance.now() + SLICE_MS;
    for (let calls = 1; ; calls++) {
      const sent = send(message);
      if (sent) writeMessage(message, 0, size, ++seq);
      if ((!sent || (calls & 63) === 0) && performance.now() >= sliceEnd) break;
    }
    await yieldToEventLoop();
  }
}

// The CPU time of both processes over the window: posixMq() sends the producer's pid.
let producerPid;
let cpuAtStart = null;
const pids = () => (producerPid === undefined ? null : { producer: producerPid, consumer: process.pid });
process.on('message', (m) => {
  if (Number.isInteger(m?.producerPid)) producerPid = m.producerPid;
});

async function consume() {
  const own = new Uint8Array(size); // mq_receive copies each message straight into it
  let firstAt = -1;
  let startAt = -1;
  let startCount = 0;
  process.send({ type: 'ready' });
  for (;;) {
    const sliceEnd = performance.now() + SLICE_MS;
    for (let calls = 1; ; calls++) {
      const length = receive(own);
      if (length >= 0) {
        checker.check(own, 0, length);
      }
      const count = checker.count;
      // The clock costs little next to a system call, but not nothing: every 64 calls, and
      // after a call that found nothing (which may have waited SLICE_MS).
      if (length >= 0 && (calls & 63) !== 0) continue;
      const now = performance.now();
      if (count > 0 && firstAt < 0) firstAt = now; // the warm-up starts with the first message
      if (firstAt >= 0 && startAt < 0 && now - firstAt >= warmupMs) {
        startAt = now;
        startCount = count;
        cpuAtStart = groupCpu(pids());
      }
      if (startAt >= 0 && now - startAt >= measureMs) {
        const seconds = (now - startAt) / 1000;
        const messages = count - startCount;
        // Stay until killed: exiting now could race the message to the parent.
        const cpu = cpuBetween(cpuAtStart, groupCpu(pids()));
        process.send({ type: 'result', messages, seconds, bad: checker.bad, cpu });
        return;
      }
      if (now >= sliceEnd) break;
    }
    await yieldToEventLoop();
  }
}

await (role === 'producer' ? produce() : consume());
