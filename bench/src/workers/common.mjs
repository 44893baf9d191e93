// What every S1 worker shares: its settings, the frame format, the measurement window and the
// messages to and from the harness (run.mjs), which forks each worker with an IPC channel.
import { performance } from 'node:perf_hooks';

export const FRAME_SIZE = 64;

/**
 * Busy loops hand control back to the event loop this often (ms), so that IPC messages such
 * as 'stop' get through and the worker notices when the harness is gone. Short enough to stop
 * promptly, long enough that the yield costs well under 1% of the run.
 */
export const SLICE_MS = 20;

/** argv: <role> <target> <warmupMs> <measureMs>; target is a channel name or a socket path. */
export function settings() {
  const [role, target, warmupMs, measureMs] = process.argv.slice(2);
  if ((role !== 'producer' && role !== 'consumer') || !target) {
    throw new Error('usage: <worker>.mjs producer|consumer <target> <warmupMs> <measureMs> (run it through run.mjs)');
  }
  return { role, target, warmupMs: Number(warmupMs), measureMs: Number(measureMs) };
}

export function tell(message) {
  process.send?.(message);
}

/** Calls fn when the harness says stop. */
export function onStop(fn) {
  process.on('message', (message) => {
    if (message?.type === 'stop') fn();
  });
}

let finished = false;

/** Sends the worker's last message, then closes the IPC channel once it is delivered. */
export function finish(message) {
  finished = true;
  process.send(message, () => process.disconnect());
}

// If the harness dies (Ctrl-C, kill -9) the IPC channel closes: leave instead of spinning on.
process.on('disconnect', () => process.exit(finished ? 0 : 1));

export const yieldToEventLoop = () => new Promise((resolve) => setImmediate(resolve));

/**
 * The frame format: a little-endian sequence number in bytes 0-3 and its low byte again in
 * the last byte, so the consumer checks order and that each frame arrived whole. Uint8Array
 * stores keep the low 8 bits, hence no masking.
 */
export function stamp(frame, seq) {
  frame[0] = seq;
  frame[1] = seq >>> 8;
  frame[2] = seq >>> 16;
  frame[3] = seq >>> 24;
  frame[FRAME_SIZE - 1] = seq;
}

/** Checks frames in order; `bad` counts frames out of order or torn. */
export class Checker {
  expected = 0;
  bad = 0;
  count = 0;

  /** Reads the first four bytes and the last byte of the frame at `offset`. */
  check(bytes, offset) {
    const seq = bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16)
      | (bytes[offset + 3] << 24);
    if (seq !== this.expected || bytes[offset + FRAME_SIZE - 1] !== (seq & 0xff)) this.bad++;
    this.expected = (seq + 1) | 0;
    this.count++;
  }
}

/**
 * The measurement window, kept by the consumer. Call sample(count) now and then (after a
 * batch of messages) with the running count: the first call starts the warm-up, the first
 * call after it opens the window, and the last call before the window's length closes it.
 * The rate is messages between those two calls over the time between them, so it runs from
 * a message the consumer has just received to the last one it received.
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
    this.tickAt = 0;
    this.tickCount = 0;
  }

  /** Returns true once the window is complete. Reports a progress line every second. */
  sample(count) {
    const now = performance.now();
    if (this.firstAt < 0) {
      this.firstAt = now;
      return false;
    }
    if (this.startAt < 0) {
      if (now - this.firstAt < this.warmupMs) return false;
      this.startAt = this.endAt = this.tickAt = now;
      this.startCount = this.endCount = this.tickCount = count;
      return false;
    }
    this.endAt = now;
    this.endCount = count;
    if (now - this.tickAt >= 1000) {
      tell({ type: 'progress', seconds: (now - this.startAt) / 1000,
        rate: ((count - this.tickCount) * 1000) / (now - this.tickAt) });
      this.tickAt = now;
      this.tickCount = count;
    }
    return now - this.startAt >= this.measureMs;
  }

  result() {
    const seconds = (this.endAt - this.startAt) / 1000;
    const messages = this.endCount - this.startCount;
    return { messages, seconds, rate: seconds > 0 ? messages / seconds : 0 };
  }
}
