// What every worker shares: its configuration, the control messages to and from the harness
// (run.mjs) and the measurement window.
//
// Control messages are plain objects with a `ctl` field (and `from` / `to` roles). A worker
// process forked by the harness talks to it over its IPC channel; a consumer that its
// producer spawned (pipe, ipc-*, messageport) talks to the producer, which relays.
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';

/**
 * Busy loops hand control back to the event loop this often (ms), so that control messages
 * such as 'stop' get through and the worker notices when the harness is gone.
 */
export const SLICE_MS = 20;

/** The worker's configuration: JSON in argv[2] for a process, workerData for a thread. */
export function config() {
  if (!isMainThread) return workerData;
  const raw = process.argv[2];
  if (!raw) throw new Error('a bench worker takes its configuration as JSON in argv[2]; run it through bench/src/run.mjs');
  const parsed = JSON.parse(raw);
  // { cpu }: pin this process (all its threads) to one CPU, as the ping-pong pairs are.
  if (Number.isInteger(parsed.cpu)) {
    execFileSync('taskset', ['-a', '-p', '-c', String(parsed.cpu), String(process.pid)], { stdio: 'ignore' });
  }
  return parsed;
}

/** Sends a control message to the harness (or to the relaying producer). */
export function tell(message) {
  if (isMainThread) process.send?.(message);
  else parentPort.postMessage(message);
}

/** Calls fn(message) for every control message addressed to this worker. */
export function onControl(fn) {
  const listener = (message) => {
    if (message !== null && typeof message === 'object' && typeof message.ctl === 'string') fn(message);
  };
  if (isMainThread) process.on('message', listener);
  else parentPort.on('message', listener);
}

let finished = false;

/** Last words: sends `message`, then leaves once it is delivered. */
export function finish(message) {
  finished = true;
  if (!isMainThread) {
    parentPort.postMessage(message);
    return;
  }
  if (process.send) process.send(message, () => process.disconnect());
  else process.exit(0);
}

// If the harness (or the relaying producer) dies, the IPC channel closes: leave rather than
// spin on. A clean finish disconnects on purpose.
if (isMainThread) process.on('disconnect', () => process.exit(finished ? 0 : 1));

/** Any failure in a worker is fatal and loud; the harness sees the exit code. */
export function dieOnError(role) {
  const die = (error) => {
    console.error(`bench worker (${role}): ${error?.stack ?? error}`);
    process.exit(1);
  };
  process.on('uncaughtException', die);
  process.on('unhandledRejection', die);
}

export const yieldToEventLoop = () => new Promise((resolve) => setImmediate(resolve));
export const now = () => performance.now();

/**
 * How many messages to take between clock reads: about 64 KiB worth, a power of two, at
 * least 1. Reading the clock costs about as much as moving a small message.
 */
export function sampleEvery(size) {
  let every = 1;
  while (every * 2 * size <= 65536 && every < 1024) every *= 2;
  return every;
}

/**
 * The measurement window, kept by the consumer. Call sample(count) now and then with the
 * running count: the first call starts the warm-up, the first call after it opens the
 * window, and the last call before the window's length is reached closes it. The rate is
 * messages between those two calls over the time between them.
 */
export class Meter {
  constructor(warmupMs, measureMs) {
    this.warmupMs = warmupMs;
    this.measureMs = measureMs;
    this.firstAt = -1;
    this.startAt = -1;
    this.startCount = 0;
    this.endAt = 0;
    this.endCount = 0;
  }

  /** Returns true once the window is complete. */
  sample(count) {
    const at = performance.now();
    if (this.firstAt < 0) {
      this.firstAt = at;
      return false;
    }
    if (this.startAt < 0) {
      if (at - this.firstAt < this.warmupMs) return false;
      this.startAt = this.endAt = at;
      this.startCount = this.endCount = count;
      return false;
    }
    this.endAt = at;
    this.endCount = count;
    return at - this.startAt >= this.measureMs;
  }

  result() {
    const seconds = (this.endAt - this.startAt) / 1000;
    const messages = this.endCount - this.startCount;
    return { messages, seconds, rate: seconds > 0 ? messages / seconds : 0 };
  }
}

/**
 * A consumer's per-phase state: the checker, the meter, and when to sample. `onWindow` is
 * called once, when the window is complete, with the result message for the harness.
 */
export class PhaseState {
  constructor(phase, Checker) {
    this.i = phase.i;
    this.size = phase.size;
    this.checker = new Checker(phase.size);
    this.meter = new Meter(phase.warmupMs, phase.measureMs);
    this.every = sampleEvery(phase.size);
    this.nextSample = 0;
    this.measuring = true;
  }

  /** Samples if enough messages came since the last sample; true when the window closed now. */
  maybeSample() {
    const count = this.checker.count;
    if (count < this.nextSample) return false;
    this.nextSample = count + this.every;
    if (!this.measuring || !this.meter.sample(count)) return false;
    this.measuring = false;
    tell({ ctl: 'result', from: 'consumer', i: this.i, ...this.meter.result(), bad: this.checker.bad });
    return true;
  }

  done() {
    tell({ ctl: 'done', from: 'consumer', i: this.i, received: this.checker.count, bad: this.checker.bad });
  }
}

/**
 * A consumer this producer spawned (a child process or a worker thread): its control
 * messages are relayed to the harness, and forward() passes the harness's on to it. It must
 * not exit before the harness said 'exit'.
 */
export function adoptConsumer(child, label, post) {
  let expected = false;
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      if (!expected || code !== 0) {
        console.error(`${label} consumer exited with ${signal ?? `code ${code}`}`);
        process.exit(1);
      }
      resolve();
    });
  });
  child.on('message', (message) => {
    if (message !== null && typeof message === 'object' && typeof message.ctl === 'string') tell(message);
  });
  return {
    exited,
    forward(message) {
      if (message.ctl === 'exit') expected = true;
      post(message);
    },
  };
}
