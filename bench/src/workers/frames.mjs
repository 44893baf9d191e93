// The message format every system carries, and the framing the byte-stream transports add.
//
// Every producer writes every byte of every message, and every consumer checks what it got,
// the same way in every system (and in the C baselines: bench/native/c-ring.c, sysv-ipc.c and the POSIX
// mq worker use this layout too), so that no system is measured writing or reading less:
//
//   bytes 0-7          the stamp: seq (u32 LE), then the tag (a producer's number in S5, else
//                      0), then the low 24 bits of ~seq (LE)
//   bytes 8..size-8    PATTERN[start + 8 ..], start = (seq + 31 * tag) mod 251 (a prime, so
//                      neighbouring messages differ everywhere)
//   the last 8 bytes   the stamp again
//
// (Messages are at least 16 bytes: at 16 the two stamps are the whole message.) A producer
// writes the pattern slice with one TypedArray.set (a memcpy from one of 251 cached views, no
// allocation) and then the two stamps. A consumer checks the length, the seq (order), both
// stamps of every message, and every byte of one message in 16, rotating which one: the
// message whose seq has (seq & 15) === ((seq >>> 4) & 15), one in every aligned block of 16
// at a different place in each block (a Buffer.compare against the pattern: a memcmp).
// S11's messages of megabytes (SampledChecker) also have a strided sample of bytes compared
// in every other message (see SAMPLE_STRIDE).
//
// Stream transports (uds, tcp, pipe, fifo) and coalesced IPC batches put a 4-byte
// little-endian length before each message; the length END_OF_PHASE marks the end of a
// phase in the stream.
import { Buffer } from 'node:buffer';

export const LENGTH_PREFIX = 4;
export const END_OF_PHASE = 0xffffffff;
/** Coalesced writes are about this big. */
export const BATCH_BYTES = 65536;
/** The smallest message: room for the two 8-byte stamps. */
export const MIN_SIZE = 16;
/** The pattern's period: a prime, so that the slices of neighbouring seqs never line up. */
export const PERIOD = 251;
const STAMP = 8;

/** PATTERN[i]: 251 distinct values (73 is odd: k -> 73k + 41 is a bijection mod 256). */
export const patternByte = (i) => (((i % PERIOD) * 73) + 41) & 0xff;

let pattern = Buffer.alloc(0);

/** The pattern, at least PERIOD + size bytes long (one per process, grown when needed). */
export function patternFor(size) {
  if (pattern.length < PERIOD + size) {
    const grown = Buffer.allocUnsafe(PERIOD + Math.max(size, 2 * (pattern.length - PERIOD), 4096));
    // One period byte by byte, then copies of what is done (S11's 64 MiB in a few ms, not 0.4 s).
    for (let i = 0; i < PERIOD; i++) grown[i] = patternByte(i);
    for (let done = PERIOD; done < grown.length; done *= 2) grown.copyWithin(done, 0, Math.min(done, grown.length - done));
    pattern = grown;
  }
  return pattern;
}

/** Where the middle of message `seq` (with `tag`) starts in the pattern, less 8. */
export const patternStart = (seq, tag) => ((seq >>> 0) + 31 * tag) % PERIOD;

/** Whether message `seq` is one of the one-in-16 whose every byte the consumer compares. */
export const fullyChecked = (seq) => (seq & 15) === ((seq >>> 4) & 15);

// The 251 slices of one size, cached for the size last written (a process writes one size
// at a time): TypedArray.set from a cached view is a memcpy with no allocation.
let viewsSize = -1;
let views = [];

function viewsFor(size) {
  if (size !== viewsSize) {
    const p = patternFor(size);
    views = Array.from({ length: PERIOD }, (_, start) => p.subarray(start, start + size));
    viewsSize = size;
  }
  return views;
}

function writeStamp(bytes, at, seq, tag) {
  const not = ~seq;
  bytes[at] = seq;
  bytes[at + 1] = seq >>> 8;
  bytes[at + 2] = seq >>> 16;
  bytes[at + 3] = seq >>> 24;
  bytes[at + 4] = tag;
  bytes[at + 5] = not;
  bytes[at + 6] = not >>> 8;
  bytes[at + 7] = not >>> 16;
}

/**
 * Writes every byte of message `seq` (`size` bytes, at least MIN_SIZE) at bytes[offset]:
 * the pattern, then the stamp at both ends. `tag` (0-255) is the producer's number in S5.
 */
export function writeMessage(bytes, offset, size, seq, tag = 0) {
  if (size > 2 * STAMP) bytes.set(viewsFor(size)[patternStart(seq, tag)], offset);
  writeStamp(bytes, offset, seq, tag);
  writeStamp(bytes, offset + size - STAMP, seq, tag);
}

/**
 * Checks the message at bytes[offset, offset + length) whose stamp says `seq` (read by the
 * caller) against the stamp `tag` and the `pattern` (patternFor(length)): the head's tag and
 * ~seq, the tail stamp, and every byte when the message is one of the one-in-16.
 */
export function messageOk(bytes, offset, length, seq, tag, p) {
  const not = ~seq;
  if (bytes[offset + 4] !== tag || bytes[offset + 5] !== (not & 0xff)
    || bytes[offset + 6] !== ((not >>> 8) & 0xff) || bytes[offset + 7] !== ((not >>> 16) & 0xff)) return false;
  const t = offset + length - STAMP;
  if (bytes[t] !== (seq & 0xff) || bytes[t + 1] !== ((seq >>> 8) & 0xff) || bytes[t + 2] !== ((seq >>> 16) & 0xff)
    || bytes[t + 3] !== (seq >>> 24) || bytes[t + 4] !== tag || bytes[t + 5] !== (not & 0xff)
    || bytes[t + 6] !== ((not >>> 8) & 0xff) || bytes[t + 7] !== ((not >>> 16) & 0xff)) return false;
  if (length <= 2 * STAMP || !fullyChecked(seq)) return true;
  const start = patternStart(seq, tag);
  return p.compare(bytes, offset + STAMP, t, start + STAMP, start + length - STAMP) === 0;
}

/**
 * S11 (messages of megabytes): besides the stamps of every message and every byte of one in
 * 16, every other message has SAMPLE_BYTES bytes compared at every SAMPLE_STRIDE bytes of its
 * middle, from an offset that moves with the seq (so that, message after message, the
 * samples fall at different places relative to pages, fragments and socket reads). A prime
 * stride lines up with no power-of-two boundary; any stretch of SAMPLE_STRIDE + SAMPLE_BYTES
 * wrong bytes (a lost, repeated, stale or misplaced fragment or read) meets a sample.
 */
export const SAMPLE_STRIDE = 4093;
export const SAMPLE_BYTES = 8;

/** The strided sample of message `seq` (see SAMPLE_STRIDE) against the pattern `p`. */
export function sampledOk(bytes, offset, length, seq, tag, p) {
  const start = patternStart(seq, tag);
  const end = length - STAMP;
  const first = STAMP + ((seq >>> 0) * 613) % SAMPLE_STRIDE;
  for (let at = first; at < end; at += SAMPLE_STRIDE) {
    const stop = Math.min(at + SAMPLE_BYTES, end);
    for (let i = at; i < stop; i++) if (bytes[offset + i] !== p[start + i]) return false;
  }
  return true;
}

/** Writes a length prefix (little-endian) at bytes[offset]. */
export function prefix(bytes, offset, length) {
  bytes[offset] = length;
  bytes[offset + 1] = length >>> 8;
  bytes[offset + 2] = length >>> 16;
  bytes[offset + 3] = length >>> 24;
}

/** The seq of the message that ends a ping-pong run (never a real seq). */
export const STOP_SEQ = -1;

export function seqOf(bytes, offset) {
  return bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24);
}

/**
 * Checks messages in order (see the top of this file for what is checked); `bad` counts
 * those out of order, torn or of the wrong size.
 */
export class Checker {
  constructor(size) {
    if (size < MIN_SIZE) throw new Error(`messages are at least ${MIN_SIZE} bytes, not ${size}`);
    this.size = size;
    this.pattern = patternFor(size);
    this.expected = 0;
    this.bad = 0;
    this.count = 0;
  }

  check(bytes, offset, length) {
    const seq = seqOf(bytes, offset);
    if (length !== this.size || seq !== this.expected || !messageOk(bytes, offset, length, seq, 0, this.pattern)) {
      this.bad++;
    }
    this.expected = (seq + 1) | 0;
    this.count++;
  }
}

/**
 * A Checker for S11's large messages: what Checker checks (length, seq, both stamps, every
 * byte of one in 16), and the strided sample (sampledOk) of every other message.
 */
export class SampledChecker extends Checker {
  check(bytes, offset, length) {
    const seq = seqOf(bytes, offset);
    if (length !== this.size || seq !== this.expected || !messageOk(bytes, offset, length, seq, 0, this.pattern)
      || (!fullyChecked(seq) && !sampledOk(bytes, offset, length, seq, 0, this.pattern))) {
      this.bad++;
    }
    this.expected = (seq + 1) | 0;
    this.count++;
  }
}

/**
 * Cuts length-prefixed messages out of stream chunks. A message inside one chunk is handed
 * over in place (the chunk is the consumer's own memory); one split across chunks is
 * assembled into a buffer of its own. onMessage(bytes, offset, length); onEnd() at a marker.
 */
export class FrameParser {
  constructor(onMessage, onEnd) {
    this.onMessage = onMessage;
    this.onEnd = onEnd;
    this.header = Buffer.alloc(LENGTH_PREFIX);
    this.headerHave = 0;
    this.body = null;
    this.need = 0;
  }

  push(chunk) {
    const n = chunk.length;
    let offset = 0;
    while (offset < n) {
      if (this.body !== null) {
        const take = Math.min(this.need, n - offset);
        chunk.copy(this.body, this.body.length - this.need, offset, offset + take);
        offset += take;
        this.need -= take;
        if (this.need === 0) {
          const body = this.body;
          this.body = null;
          this.onMessage(body, 0, body.length);
        }
        continue;
      }
      if (this.headerHave !== 0 || n - offset < LENGTH_PREFIX) {
        while (this.headerHave < LENGTH_PREFIX && offset < n) this.header[this.headerHave++] = chunk[offset++];
        if (this.headerHave < LENGTH_PREFIX) return;
        this.headerHave = 0;
        offset = this.frame(this.header.readUInt32LE(0), chunk, offset);
        continue;
      }
      // The common case: whole prefixes (and usually whole messages) inside this chunk.
      do {
        const length = chunk[offset] | (chunk[offset + 1] << 8) | (chunk[offset + 2] << 16)
          | (chunk[offset + 3] << 24);
        offset = this.frame(length >>> 0, chunk, offset + LENGTH_PREFIX);
      } while (this.body === null && n - offset >= LENGTH_PREFIX);
    }
  }

  /** Handles the message whose prefix said `length`, starting at chunk[offset]. */
  frame(length, chunk, offset) {
    if (length === END_OF_PHASE) {
      this.onEnd();
      return offset;
    }
    const available = chunk.length - offset;
    if (length <= available) {
      this.onMessage(chunk, offset, length);
      return offset + length;
    }
    this.body = Buffer.allocUnsafe(length);
    chunk.copy(this.body, 0, offset);
    this.need = length - available;
    return chunk.length;
  }

  /** True when no message is half-received. */
  get idle() {
    return this.body === null && this.headerHave === 0;
  }
}

/**
 * Puts length-prefixed messages back together into one buffer the consumer owns and reuses
 * (S11: a message of megabytes comes in many reads): every byte is copied once, from the
 * chunk into `buffer`, and onMessage(buffer, 0, length) runs once it is whole (the buffer is
 * overwritten by the next message). A message longer than the buffer is an error.
 * onEnd() at an END_OF_PHASE prefix.
 */
export class FrameAssembler {
  constructor(onMessage, onEnd) {
    this.onMessage = onMessage;
    this.onEnd = onEnd;
    this.buffer = null;
    this.header = Buffer.alloc(LENGTH_PREFIX);
    this.headerHave = 0;
    this.length = 0;
    this.need = 0;
  }

  /** The buffer the next messages go into (at least as long as any of them). */
  into(buffer) {
    if (!this.idle) throw new Error('FrameAssembler: a message is half put together');
    this.buffer = buffer;
  }

  push(chunk) {
    const n = chunk.length;
    let offset = 0;
    while (offset < n) {
      if (this.need !== 0) {
        const take = Math.min(this.need, n - offset);
        this.buffer.set(offset === 0 && take === n ? chunk : chunk.subarray(offset, offset + take), this.length - this.need);
        offset += take;
        this.need -= take;
        if (this.need === 0) this.onMessage(this.buffer, 0, this.length);
        continue;
      }
      while (this.headerHave < LENGTH_PREFIX && offset < n) this.header[this.headerHave++] = chunk[offset++];
      if (this.headerHave < LENGTH_PREFIX) return;
      this.headerHave = 0;
      const length = this.header.readUInt32LE(0);
      if (length === END_OF_PHASE) {
        this.onEnd();
        continue;
      }
      if (this.buffer === null || length > this.buffer.length) {
        throw new Error(`FrameAssembler: a ${length}-byte message, and a buffer of ${this.buffer?.length ?? 0}`);
      }
      this.length = length;
      this.need = length;
      if (length === 0) this.onMessage(this.buffer, 0, 0);
    }
  }

  /** True when no message is half-received. */
  get idle() {
    return this.need === 0 && this.headerHave === 0;
  }
}

/**
 * Buffers that go back to a free list when the write that carried them completes: write
 * callbacks on a stream run in order, so the oldest buffer in flight is the one released.
 */
export class BufferPool {
  constructor(bytes) {
    this.bytes = bytes;
    this.free = [];
    this.inFlight = [];
    this.release = () => this.free.push(this.inFlight.shift());
  }

  /** A buffer to fill; hand it to write(buffer, pool.release) after take(buffer). */
  get() {
    return this.free.pop() ?? Buffer.allocUnsafe(this.bytes);
  }

  take(buffer) {
    this.inFlight.push(buffer);
  }
}

/**
 * Coalesces length-prefixed messages into one buffer of about BATCH_BYTES for a single write.
 * A message bigger than that gets a buffer of its own.
 */
export class Coalescer {
  /** `tag`: the producer's number written into every message (S5), else 0. */
  constructor(size, tag = 0) {
    this.size = size;
    this.tag = tag;
    this.frameBytes = LENGTH_PREFIX + size;
    this.pool = new BufferPool(Math.max(BATCH_BYTES, this.frameBytes));
    this.buffer = this.pool.get();
    this.used = 0;
  }

  /** Whether one more message fits the current buffer (a first message always does). */
  get fits() {
    return this.used === 0 || this.used + this.frameBytes <= this.buffer.length;
  }

  add(seq) {
    prefix(this.buffer, this.used, this.size);
    writeMessage(this.buffer, this.used + LENGTH_PREFIX, this.size, seq, this.tag);
    this.used += this.frameBytes;
  }

  /** Writes what is coalesced to `writable`; returns write()'s answer. */
  flush(writable) {
    const buffer = this.buffer;
    const chunk = this.used === buffer.length ? buffer : buffer.subarray(0, this.used);
    this.pool.take(buffer);
    this.buffer = this.pool.get();
    this.used = 0;
    return writable.write(chunk, this.pool.release);
  }
}

/**
 * S5 (several producers): the stamp's tag byte (byte 4, and 4 of the tail stamp) holds the
 * number of the producer that sent the message; its seq counts that producer's messages.
 */
export const SENDER_BYTE = 4;

/**
 * Checks messages from `senders` producers arriving at one of several consumers: each
 * consumer sees a subsequence of every producer's messages, so per producer the seqs it
 * gets must only grow (order kept) and the message must be whole and of the right size (the
 * checks of Checker, with the producer's number as the tag);
 * `bad` counts those that are not. Per producer it keeps how many came, their seq sum and
 * xor and the highest seq: the harness adds these up over the consumers to check that every
 * message sent arrived exactly once (see exactlyOnce).
 */
export class FanInChecker {
  constructor(size, senders) {
    if (size < MIN_SIZE) throw new Error(`messages are at least ${MIN_SIZE} bytes, not ${size}`);
    this.size = size;
    this.pattern = patternFor(size);
    this.senders = senders;
    this.last = new Array(senders).fill(-1);
    this.counts = new Array(senders).fill(0);
    this.sums = new Array(senders).fill(0);
    this.xors = new Array(senders).fill(0);
    this.maxes = new Array(senders).fill(-1);
    this.bad = 0;
    this.count = 0;
  }

  check(bytes, offset, length) {
    this.count++;
    const seq = seqOf(bytes, offset);
    const from = bytes[offset + SENDER_BYTE];
    if (from >= this.senders || length !== this.size || !messageOk(bytes, offset, length, seq, from, this.pattern)) {
      this.bad++;
      return;
    }
    if (seq <= this.last[from]) this.bad++;
    this.last[from] = seq;
    this.counts[from]++;
    this.sums[from] += seq;
    this.xors[from] ^= seq;
    if (seq > this.maxes[from]) this.maxes[from] = seq;
  }

  /** What the harness needs to check exactly-once delivery (plain data, for IPC). */
  tally() {
    return { counts: this.counts, sums: this.sums, xors: this.xors, maxes: this.maxes };
  }
}

/** xor of 0..n-1. */
function xorUpTo(n) {
  const m = n - 1;
  return m < 0 ? 0 : [m, 1, m + 1, 0][m & 3];
}

/**
 * Given what each producer sent (seqs 0..sent-1) and each consumer's tally, a description of
 * the first producer whose messages did not arrive exactly once, or null. With every
 * consumer's seqs in order (FanInChecker.bad === 0), a count of `sent`, all seqs below `sent`
 * and the seq sum and xor of 0..sent-1 leave no room for a loss or a duplicate in practice.
 */
export function exactlyOnce(sent, tallies) {
  for (let from = 0; from < sent.length; from++) {
    const n = sent[from];
    let count = 0;
    let sum = 0;
    let xor = 0;
    let max = -1;
    for (const t of tallies) {
      count += t.counts[from];
      sum += t.sums[from];
      xor ^= t.xors[from];
      max = Math.max(max, t.maxes[from]);
    }
    const sumOk = n > 2 ** 26 || sum === (n * (n - 1)) / 2; // beyond 2^26 the sum may not be exact
    if (count !== n || max >= n || !sumOk || xor !== xorUpTo(n)) {
      return `producer ${from} sent ${n}; the consumers got ${count} (highest seq ${max}, seq sum ${sum}, xor ${xor})`;
    }
  }
  return null;
}
