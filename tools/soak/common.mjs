// Shared by the soak driver (tools/soak.mjs) and its workers (tools/soak/worker.mjs): the
// message format, the size of each message, and the consumer's log record format.
//
// Message `seq` of producer `p` (p: a number unique to the producer process in the whole
// soak run) is fully determined by (p, seq) and the lane's size profile:
//   - its length is sizeOf(profile, p, seq);
//   - a full message (length >= 16) is  p u32 | seq u32 | length u32 | check u32  followed
//     by PATTERN[off, off + length - 16), off = bodyOffset(p, seq); check = headerCheck(p,
//     seq, length);
//   - a tiny message (1..15 bytes, only on lanes whose profile allows it, only at odd seq, so
//     the message before it in its producer's stream is always a full one) is
//     PATTERN[off, off + length): it carries no header, and is attributed by the driver from
//     its position in the stream (see soak.mjs, "Tiny messages").
// PATTERN is the same pseudo-random 2 MiB + 64 B in every process (a fixed seed), so every
// payload byte is checked against what it must be, with one native compare per message.

export const HEADER = 16;
export const TINY_MAX = HEADER - 1;
export const PATTERN_SPAN = 1 << 20; // body offsets are below this
export const MAX_HUGE = 1 << 20; // the largest message the soak sends
export const PATTERN = makePattern(PATTERN_SPAN + MAX_HUGE + 64);

function makePattern(bytes) {
  const words = new Uint32Array(bytes >> 2);
  let x = 0x2545f491;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    words[i] = x;
  }
  return Buffer.from(words.buffer);
}

export function mix(h) {
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

export function h3(a, b, c) {
  return mix(mix(mix((a + 0x9e3779b9) | 0) ^ b) ^ c);
}

export const headerCheck = (p, seq, length) => h3(p ^ 0x5a5a5a5a, seq, length ^ 0xc0ffee);
export const bodyOffset = (p, seq) => h3(p, seq, 0x7a11) % PATTERN_SPAN;

/**
 * The size profile of a lane: capacity, the largest record (a whole message), whether tiny
 * messages (1..15 B) and fragmented ones (larger than a record) are sent.
 */
export function makeProfile({ capacity, maxRecord, tiny, fragments, gentle = false }) {
  const hugeMax = Math.min(MAX_HUGE, (gentle ? 2 : 4) * capacity);
  const edges = [HEADER, HEADER + 1, maxRecord, maxRecord - 1, maxRecord - 7, capacity >> 2, (capacity >> 2) + 8];
  if (fragments) edges.push(maxRecord + 1, maxRecord + 8, capacity, capacity + 1, 2 * capacity - 3, hugeMax);
  return { capacity, maxRecord, tiny, fragments, gentle, hugeMax, edges: edges.filter((e) => e >= HEADER && (fragments ? e <= hugeMax : e <= maxRecord)) };
}

/** The length of message `seq` of producer `p`. */
export function sizeOf(profile, p, seq) {
  const r = h3(p, seq, 0x51ce);
  const r2 = h3(p, seq, 0xb16);
  const pick = r % 1000;
  const { maxRecord } = profile;
  if (profile.gentle) {
    // Broadcast 'drop' (the sender never waits): mostly small messages, so that receivers
    // keep up most of the time; still now and then a record as large as the ring takes, or
    // a message in fragments (which a receiver keeps up with, or loses whole).
    if (pick < 900) return HEADER + (r2 % Math.max(1, Math.min(241, (maxRecord >> 3) - HEADER)));
    if (pick < 980) return HEADER + (r2 % ((maxRecord >> 2) - HEADER + 1));
    if (pick < 990) return profile.edges[r2 % profile.edges.length];
    if (pick < 996 || !profile.fragments) return HEADER + (r2 % (maxRecord - HEADER + 1));
    return maxRecord + 1 + (r2 % (profile.hugeMax - maxRecord));
  }
  if (profile.tiny && (seq & 1) === 1 && pick < 100) return 1 + (r2 % TINY_MAX);
  if (pick < 600) return HEADER + (r2 % Math.min(241, maxRecord - HEADER + 1));
  const mid = Math.min(4096, maxRecord);
  if (pick < 820) return mid > 256 ? 257 + (r2 % (mid - 256)) : HEADER + (r2 % (mid - HEADER + 1));
  if (pick < 930) return HEADER + (r2 % (maxRecord - HEADER + 1));
  if (pick < 960) return profile.edges[r2 % profile.edges.length];
  if (profile.fragments) return maxRecord + 1 + (r2 % (profile.hugeMax - maxRecord));
  return HEADER + (r2 % (maxRecord - HEADER + 1));
}

/** Writes message (p, seq) of `length` bytes into `target` at `at`. */
export function writeMessage(target, at, p, seq, length) {
  const off = bodyOffset(p, seq);
  if (length < HEADER) {
    PATTERN.copy(target, at, off, off + length);
    return;
  }
  const view = new DataView(target.buffer, target.byteOffset + at, HEADER);
  view.setUint32(0, p, true);
  view.setUint32(4, seq, true);
  view.setUint32(8, length, true);
  view.setUint32(12, headerCheck(p, seq, length), true);
  PATTERN.copy(target, at + HEADER, off, off + length - HEADER);
}

/** A new buffer holding message (p, seq). */
export function makeMessage(profile, p, seq) {
  const length = sizeOf(profile, p, seq);
  const bytes = Buffer.allocUnsafe(length);
  writeMessage(bytes, 0, p, seq, length);
  return bytes;
}

// Why a message is corrupt (a log record's aux >> 4).
export const BAD = { header: 1, length: 2, size: 3, body: 4, tiny: 5, foreign: 6, fault: 7 };
export const BAD_NAMES = Object.fromEntries(Object.entries(BAD).map(([k, v]) => [v, k]));

/**
 * Checks a received full message, bytes[at, at + length): returns [p, seq] or a BAD code.
 * Tiny messages (length < HEADER) are not checked here (the driver attributes them).
 */
export function checkMessage(profile, bytes, at, length) {
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, HEADER);
  const p = view.getUint32(0, true);
  const seq = view.getUint32(4, true);
  if (view.getUint32(12, true) !== headerCheck(p, seq, view.getUint32(8, true))) return BAD.header;
  if (view.getUint32(8, true) !== length) return BAD.length;
  if (sizeOf(profile, p, seq) !== length) return BAD.size;
  const off = bodyOffset(p, seq);
  const body = Buffer.from(bytes.buffer, bytes.byteOffset + at + HEADER, length - HEADER);
  if (PATTERN.compare(body, 0, body.length, off, off + body.length) !== 0) return BAD.body;
  return [p, seq];
}

/** Whether `bytes` (a tiny message's) is message (p, seq) of this profile. */
export function isTiny(profile, bytes, p, seq) {
  if (!profile.tiny || (seq & 1) === 0 || sizeOf(profile, p, seq) !== bytes.length) return false;
  const off = bodyOffset(p, seq);
  return PATTERN.compare(bytes, 0, bytes.length, off, off + bytes.length) === 0;
}

// A consumer's log: one 32-byte record per message it received, written (one write(2),
// which a SIGKILL cannot tear) before it takes the next one:
//   0 p u32 | 4 seq u32 | 8 length u32 | 12 aux u32 | 16..31 a tiny message's bytes
// aux: flags in the low 4 bits, and above them the broadcast receiver's `lost` growth at
// this message ('drop'), or a corrupt message's BAD code.
export const RECORD = 32;
export const F_TINY = 1;
export const F_CORRUPT = 2;
export const F_REJOIN = 4; // not a message: the receiver left and joined again (broadcast)
export const LOG_ROTATE = 1 << 20; // records per log file (then <log>.1, <log>.2, ...)
export const logFile = (base, index) => (index === 0 ? base : `${base}.${index}`);

/** A small seeded PRNG (mulberry32): returns floats in [0, 1). */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
