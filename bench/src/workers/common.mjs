// What every worker shares: its configuration, the control messages to and from the harness
// (run.mjs) and the measurement window.
//
// Control messages are plain objects with a `ctl` field (and `from` / `to` roles). A worker
// process forked by the harness talks to it over its IPC channel; a consumer that its
// producer spawned (pipe, ipc-*, messageport) talks to the producer, which relays.
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { cpuBetween, groupCpu } from '../harness/cputime.mjs';

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
 * messages between those two calls over the time between them. `onOpen`, if set, runs when
 * the window opens (after the clock read that opens it). With `minMessages`, the warm-up also
 * lasts until that many messages came after the first, and the window stays open until that
 * many came inside it (S11: messages of tens of ms each, the first ones paying for fresh pages).
 */
export class Meter {
  constructor(warmupMs, measureMs, minMessages = 0) {
    this.warmupMs = warmupMs;
    this.measureMs = measureMs;
    this.minMessages = minMessages;
    this.onOpen = null;
    this.firstAt = -1;
    this.firstCount = 0;
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
      this.firstCount = count;
      return false;
    }
    if (this.startAt < 0) {
      if (at - this.firstAt < this.warmupMs || count - this.firstCount < this.minMessages) return false;
      this.startAt = this.endAt = at;
      this.startCount = this.endCount = count;
      this.onOpen?.();
      return false;
    }
    this.endAt = at;
    this.endCount = count;
    return at - this.startAt >= this.measureMs && count - this.startCount >= this.minMessages;
  }

  result() {
    const seconds = (this.endAt - this.startAt) / 1000;
    const messages = this.endCount - this.startCount;
    return { messages, seconds, rate: seconds > 0 ? messages / seconds : 0 };
  }
}

/**
 * A consumer's per-phase state: the checker, the meter, and when to sample. When the window
 * closes it tells the harness the result: the rate, and the CPU time every process of the
 * group (phase.pids, { role: pid }, from the harness) spent inside the window, read from
 * /proc at the window's open and close (see harness/cputime.mjs).
 */
export class PhaseState {
  constructor(phase, Checker) {
    this.i = phase.i;
    this.size = phase.size;
    this.checker = new Checker(phase.size);
    this.meter = new Meter(phase.warmupMs, phase.measureMs, phase.minMessages ?? 0);
    this.every = sampleEvery(phase.size);
    this.nextSample = 0;
    this.measuring = true;
    this.pids = phase.pids ?? null;
    this.cpuAtOpen = null;
    this.meter.onOpen = () => {
      this.cpuAtOpen = groupCpu(this.pids);
    };
  }

  /** Samples if enough messages came since the last sample; true when the window closed now. */
  maybeSample() {
    const count = this.checker.count;
    if (count < this.nextSample) return false;
    this.nextSample = count + this.every;
    if (!this.measuring || !this.meter.sample(count)) return false;
    this.measuring = false;
    const cpu = cpuBetween(this.cpuAtOpen, groupCpu(this.pids));
    tell({ ctl: 'result', from: 'consumer', i: this.i, ...this.meter.result(), bad: this.checker.bad, cpu });
    return true;
  }

  /** The end: what was received, for the harness's checks (and `extra` to report). */
  done(extra = {}) {
    tell({ ctl: 'done', from: 'consumer', i: this.i, received: this.checker.count, bad: this.checker.bad, ...extra });
  }
}

/**
 * The control loop of a worker that is a producer or a consumer: each 'phase' runs
 * produce(phase, isStopped) or consume(phase) (the harness sends one phase at a time; each runs
 * to its end before the next), 'stop' ends the producer's stream, 'exit' says goodbye (once
 * `beforeExit()` settled, if given). Then tells the harness this worker is ready.
 */
export function servePhases(role, { produce, consume, beforeExit }) {
  let stopped = false;
  onControl((message) => {
    if (message.ctl === 'phase') {
      stopped = false;
      if (role === 'producer') produce(message, () => stopped);
      else consume(message);
    } else if (message.ctl === 'stop') {
      stopped = true;
    } else if (message.ctl === 'exit') {
      if (beforeExit) beforeExit().then(() => finish({ ctl: 'bye', from: role }));
      else finish({ ctl: 'bye', from: role });
    }
  });
  tell({ ctl: 'ready', from: role });
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

/** Wall-clock milliseconds, with performance.now()'s resolution: comparable across processes. */
export const wallNow = () => performance.timeOrigin + performance.now();

/**
 * A measurement window fixed in wall-clock time by the harness (set(start, end)), the same
 * for every consumer of a group, so that their rates add up to an aggregate over one period.
 * Call sample(count) now and then: the first sample at or after `start` opens the window,
 * the first at or after `end` closes it; the rate is the messages between the two over the
 * time between them (a late sample moves the edge, not the honesty of the rate).
 */
export class WindowMeter {
  constructor() {
    this.start = Infinity;
    this.end = Infinity;
    this.startAt = -1;
    this.startCount = 0;
    this.endAt = -1;
    this.endCount = 0;
  }

  set(start, end) {
    this.start = start;
    this.end = end;
  }

  get closed() {
    return this.endAt >= 0;
  }

  /** Returns true when this sample closed the window. */
  sample(count) {
    if (this.endAt >= 0) return false;
    const at = wallNow();
    if (this.startAt < 0) {
      if (at < this.start) return false;
      this.startAt = at;
      this.startCount = count;
      return false;
    }
    if (at < this.end) return false;
    this.endAt = at;
    this.endCount = count;
    return true;
  }

  result() {
    const seconds = (this.endAt - this.startAt) / 1000;
    const messages = this.endCount - this.startCount;
    return { messages, seconds, rate: seconds > 0 ? messages / seconds : 0 };
  }
}

/**
 * An S5 consumer's state (one of several consumers of several producers): its checker (a
 * FanInChecker), the harness's window and when to sample. Timers also sample at the
 * window's edges, for a consumer that is parked (or starved) when they pass. S10's
 * receivers use it too, once per phase: with a Checker (every message, in order) and the
 * phase's index `i`, which their 'result' and 'done' carry.
 */
export class FanInState {
  constructor(who, checker, i = undefined) {
    this.who = who;
    this.checker = checker;
    this.i = i;
    this.meter = new WindowMeter();
    this.every = sampleEvery(checker.size);
    this.nextSample = 0;
    this.timers = [];
  }

  /** The window, in wallNow() time, from the harness. */
  window(start, end) {
    this.meter.set(start, end);
    for (const at of [start, end]) {
      this.timers.push(setTimeout(() => this.sample(), Math.max(0, at - wallNow()) + 1));
    }
  }

  /** Samples if enough messages came since the last sample; true when the window closed now. */
  maybeSample() {
    const count = this.checker.count;
    if (count < this.nextSample) return false;
    this.nextSample = count + this.every;
    return this.sample();
  }

  sample() {
    if (!this.meter.sample(this.checker.count)) return false;
    tell({ ctl: 'result', from: this.who, i: this.i, ...this.meter.result(), bad: this.checker.bad });
    return true;
  }

  /** The end: what was received, for the harness's checks (and `extra` to report). */
  done(extra = {}) {
    for (const timer of this.timers) clearTimeout(timer);
    const { checker } = this;
    tell({
      ctl: 'done', from: this.who, i: this.i, received: checker.count, bad: checker.bad, tally: checker.tally?.(), ...extra,
    });
  }
}
