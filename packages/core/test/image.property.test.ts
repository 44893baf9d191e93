// Property: whatever image a peer leaves in a channel's segment — identity line, mutable lines,
// slot table and ring, built structure-aware (records, padding, fragments, skips, claims, taken
// runs, dead endpoints' slots, positions at laps and wrap-around) and then scribbled on — the
// receive paths meet it with a message that was in the ring, "nothing now" / the end, or a
// RingwireError with a known code: never another exception (RangeError, TypeError...), never a
// read outside the ring, never a message longer than the channel's maxMessageSize, never a hang.
//
// One channel per capacity is created once; each case writes its whole image over the channel's
// bytes in place (through a mapping kept open for the run), opens endpoints — which runs the
// repair walks ("written", "delivered", MPMC slot take-over) on slots and roles whose pids are of
// processes that do not exist — receives with operations that never wait (or wait 1 ms), sends
// a little on some cases, drains, and closes every endpoint.
//
// Cases: RINGWIRE_PROPERTY_CASES, else 3,000 (the suite's run; .ci/run runs this file again
// alone with 100,000: at about 1 ms of CPU per case, mostly opening and closing endpoints, that
// takes minutes on a 2-core machine). A failure prints
// fast-check's seed and path (and the shrunk case); replay it with RINGWIRE_PROPERTY_SEED and
// RINGWIRE_PROPERTY_PATH. RINGWIRE_PROPERTY_SHRINK=0 reports the first failing case unshrunk.
// The counterexamples found are kept below as explicit cases.
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createChannel, openReceiver, openSender, RingwireError, unlinkChannel, type Receiver, type Sender,
} from '../src/index.js';
import { layout as L, native, type NativeSegment } from '../src/native.js';
import { freshName } from './helpers.js';

const CODES = new Set([
  'ERR_RINGWIRE_EXISTS', 'ERR_RINGWIRE_NOT_FOUND', 'ERR_RINGWIRE_INVALID_NAME', 'ERR_RINGWIRE_INVALID_ARG',
  'ERR_RINGWIRE_INCOMPATIBLE', 'ERR_RINGWIRE_CORRUPT', 'ERR_RINGWIRE_TOO_LARGE', 'ERR_RINGWIRE_TIMEOUT',
  'ERR_RINGWIRE_CLOSED', 'ERR_RINGWIRE_BUSY', 'ERR_RINGWIRE_PERMISSION', 'ERR_RINGWIRE_PEER_DEAD',
  'ERR_RINGWIRE_SYSTEM', 'ERR_RINGWIRE_NO_SPACE', 'ERR_RINGWIRE_CUT_OFF',
]);

const CASES = Number(process.env.RINGWIRE_PROPERTY_CASES ?? 3_000);
const SEED = process.env.RINGWIRE_PROPERTY_SEED === undefined ? undefined : Number(process.env.RINGWIRE_PROPERTY_SEED);
const PATH = process.env.RINGWIRE_PROPERTY_PATH;
/** A case taking longer than this is a hang (the slowest legitimate one waits 1 ms a few times). */
const HANG_MS = 5_000;
/** The timeout of the operations that may wait (recvSync1, sendSync1), in ms. */
const WAIT_MS = 0.05;
const ABORTED = AbortSignal.abort();
const UID = process.getuid?.() ?? 0;

const H = L.HEADER_SIZE;
const CAPACITIES = [1024, 2048] as const;
const MODES = ['spsc', 'mpmc', 'broadcast'] as const;
type Mode = typeof MODES[number];
const MODE_NUMBER: Record<Mode, number> = { spsc: L.MODE_SPSC, mpmc: L.MODE_MPMC, broadcast: L.MODE_BROADCAST };
/** Pids no process can have (above any pid_max): their endpoints died without closing. */
const DEAD_PIDS = [0x7ffffff0, 4_194_305, 0x40000001];
const START_WORD = (L.FRAGMENT | L.FRAGMENT_FIRST | L.FRAGMENT_START_BYTES) | 0;
const recordBytes = (length: number) => Math.floor((L.RECORD_HEADER_SIZE + length + 7) / 8) * 8;
const slotOffset = (slot: number, field: number) => L.OFF_SLOTS + slot * L.SLOT_SIZE + field;

// ---------------------------------------------------------------------------------------------
// What is generated: a compact description of an image (fast-check shrinks it), expanded into
// bytes by build() with a PRNG seeded from the description.
// ---------------------------------------------------------------------------------------------

/** Any 32-bit word (as int32: the bits are what count; cheaper to generate than 0..2^32 - 1). */
const u32 = fc.integer();
const EDGE_WORDS = [0, 1, 3, 4, 7, 8, 0x7ffffff8, 0x7fffffff, 0x80000000, 0x80000008, 0xfffffff8, 0xfffffffc, 0xffffffff,
  L.PADDING_LENGTH, L.SKIP | 8, L.SKIP | 1024, START_WORD >>> 0, (L.FRAGMENT | L.FRAGMENT_LAST | 8) >>> 0,
  (L.FRAGMENT | 8) >>> 0, (L.FRAGMENT | L.FRAGMENT_FIRST | L.FRAGMENT_LAST | 8) >>> 0, L.REC_CLAIMED, L.REC_COMMITTED,
  L.REC_RELEASED, L.REC_ABANDONED, (47 << L.SLOT_SHIFT) | L.REC_CLAIMED, (63 << L.SLOT_SHIFT) | L.REC_COMMITTED,
  1024 | L.REC_COMMITTED, 2048 | L.REC_RELEASED, L.KIND_SENDER, L.KIND_RECEIVER, 1016, 1017, 2040, 2041];
const DELTAS = [-2048, -1024, -8, -4, 4, 8, 12, 1020, 1024, 1032, 2048, 0x40000000, 0x80000000];
const wordValue = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...EDGE_WORDS).map((v) => ({ abs: v })) },
  { weight: 2, arbitrary: u32.map((v) => ({ abs: v })) },
  { weight: 2, arbitrary: fc.constantFrom(...DELTAS).map((d) => ({ delta: d })) },
);
type WordValue = { abs: number } | { delta: number };

/** A length: small, a fraction of the largest record, or an edge the code checks. */
const EDGE_LENGTHS = ['zero', 'max', 'max+1', 'toEnd', 'toEnd+1', 'mms', 'mms+1', 'huge', 'fragMax', 'fragMax+1'] as const;
const lengthArb = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 48 }).map((v) => ({ n: v })) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 1000 }).map((v) => ({ frac: v })) },
  { weight: 2, arbitrary: fc.constantFrom(...EDGE_LENGTHS).map((v) => ({ edge: v })) },
);
type LengthSpec = { n: number } | { frac: number } | { edge: typeof EDGE_LENGTHS[number] };

/** MPMC record state: by region (taken before T, committed after), or any 3-bit value. */
const stateArb = fc.oneof({ weight: 8, arbitrary: fc.constant(-1) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: 7 }) });
const slotArb = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: 63 }) },
  { weight: 1, arbitrary: fc.constantFrom(47, 48, 63) });
const lapArb = fc.oneof({ weight: 9, arbitrary: fc.constant('cur' as const) }, { weight: 1, arbitrary: fc.constantFrom('prev' as const, 'next' as const, 'rand' as const) });
const seqArb = fc.oneof({ weight: 9, arbitrary: fc.constant('next' as const) }, { weight: 1, arbitrary: fc.constantFrom('same' as const, 'rand' as const) });
const FLAWS = ['none', 'none', 'none', 'noLast', 'extra', 'short', 'long', 'noStart', 'firstLast', 'badStart', 'wholeInside',
  'badSeq', 'zeroTotal', 'bigTotal', 'emptyData'] as const;
type Flaw = typeof FLAWS[number];

const recordArb = fc.oneof(
  {
    weight: 7,
    arbitrary: fc.record({
      t: fc.constant('whole' as const), len: lengthArb, pad: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      state: stateArb, slot: slotArb, lap: lapArb, seq: seqArb,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('frag' as const), total: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 400 }).map((v) => ({ n: v })) }, { weight: 1, arbitrary: lengthArb }),
      pieces: fc.integer({ min: 1, max: 5 }), flaw: fc.constantFrom(...FLAWS), pad: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('pad' as const), state: stateArb, slot: slotArb }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('skip' as const), len: lengthArb, state: stateArb, slot: slotArb }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('raw' as const), w0: wordValue, w1: wordValue, units: fc.integer({ min: 1, max: 16 }) }) },
);
type RecordSpec = typeof recordArb extends fc.Arbitrary<infer T> ? T : never;
/** Records a writer following the format would leave (so that receives go deep before anything breaks). */
const cleanRecordArb: fc.Arbitrary<RecordSpec> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      t: fc.constant('whole' as const),
      len: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 48 }).map((v) => ({ n: v })) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 400 }).map((v) => ({ frac: v })) }),
      pad: fc.constant(true), state: fc.constant(-1), slot: fc.integer({ min: 0, max: 3 }), lap: fc.constant('cur' as const), seq: fc.constant('next' as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('frag' as const), total: fc.integer({ min: 1, max: 300 }).map((v) => ({ n: v })),
      pieces: fc.integer({ min: 1, max: 4 }), flaw: fc.constant('none' as const), pad: fc.constant(true),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('pad' as const), state: fc.constant(-1), slot: fc.integer({ min: 0, max: 3 }) }) },
);

/** A position: a record boundary of the layout, its start or end (plus an edge delta), or any word. */
const positionArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ at: 'end' as const, delta: 0 }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 1000 }).map((f) => ({ at: 'boundary' as const, f, delta: 0 })) },
  { weight: 1, arbitrary: fc.constant({ at: 'start' as const, delta: 0 }) },
  { weight: 1, arbitrary: fc.record({ at: fc.constantFrom('start' as const, 'end' as const), delta: fc.constantFrom(...DELTAS) }) },
  { weight: 1, arbitrary: u32.map((v) => ({ at: 'abs' as const, v, delta: 0 })) },
);
type PositionSpec = { at: 'end' | 'start'; delta: number } | { at: 'boundary'; f: number; delta: number } | { at: 'abs'; v: number; delta: number };

const startArb = fc.record({
  base: fc.constantFrom('zero' as const, 'nearWrap' as const, 'nearLap' as const, 'rand' as const),
  units: fc.integer({ min: 0, max: 300 }),
  rand: u32,
  misalign: fc.oneof({ weight: 30, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 7 }) }),
});

const pidArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ pid: 'dead' as const }) },
  { weight: 3, arbitrary: fc.constant({ pid: 'none' as const }) },
  { weight: 1, arbitrary: fc.constant({ pid: 'self' as const }) },
  { weight: 1, arbitrary: u32.map((v) => ({ pid: 'abs' as const, v })) },
);
type PidSpec = { pid: 'dead' | 'none' | 'self' } | { pid: 'abs'; v: number };

const slotEntryArb = fc.record({
  slot: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 47 }) }),
  pid: pidArb,
  kind: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(L.KIND_SENDER, L.KIND_RECEIVER) }, { weight: 1, arbitrary: u32 }),
  intent: fc.oneof(
    { weight: 2, arbitrary: fc.constant({ at: 'none' as const }) },
    { weight: 3, arbitrary: positionArb.map((p) => ({ at: 'pos' as const, p })) },
    { weight: 1, arbitrary: u32.map((v) => ({ at: 'abs' as const, v })) },
  ),
  size: fc.oneof(
    { weight: 3, arbitrary: positionArb.map((p) => ({ at: 'pos' as const, p })) },
    { weight: 2, arbitrary: lengthArb.map((l) => ({ at: 'len' as const, l })) },
    { weight: 1, arbitrary: u32.map((v) => ({ at: 'abs' as const, v })) },
  ),
  cut: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(1) }),
  counts: fc.boolean(),
});

const identityArb = fc.record({
  wait: fc.oneof({ weight: 12, arbitrary: fc.constant(L.WAIT_FUTEX) }, { weight: 3, arbitrary: fc.constant(L.WAIT_SEMAPHORE) },
    { weight: 1, arbitrary: fc.constant(L.WAIT_NAMED_SEMAPHORE) }),
  spin: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  flags: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(0, L.FLAG_OVERFLOW_DROP, L.FLAG_PERSISTENT, L.FLAG_END_WITH_LAST_SENDER,
      L.FLAG_OVERFLOW_DROP | L.FLAG_END_WITH_LAST_SENDER) },
    { weight: 1, arbitrary: u32 },
  ),
  mms: fc.oneof(
    { weight: 4, arbitrary: fc.constant({ k: 'default' as const }) },
    { weight: 3, arbitrary: fc.integer({ min: 1, max: 1000 }).map((v) => ({ k: 'frac' as const, v })) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 64 }).map((v) => ({ k: 'small' as const, v })) },
    { weight: 1, arbitrary: fc.constantFrom('limit' as const, 'record' as const, 'record-8' as const).map((k) => ({ k })) },
  ),
  creator: u32,
  /** Damage after building: words of the identity line (0..31) overwritten, and whether the check is recomputed. */
  damage: fc.oneof(
    { weight: 10, arbitrary: fc.constant([] as { word: number; value: WordValue; recheck: boolean }[]) },
    { weight: 2, arbitrary: fc.array(fc.record({ word: fc.integer({ min: 0, max: 31 }), value: wordValue, recheck: fc.boolean() }), { minLength: 1, maxLength: 3 }) },
  ),
});

const headerTargetNames = ['producer', 'consumer', 'release', 'delivered', 'written', 'state', 'senderPid', 'receiverPid',
  'dataSignal', 'receiverWaiters', 'receiverWaitersHigh', 'spaceSignal', 'senderWaiters', 'senderWaitersHigh',
  'sentHigh', 'receivedHigh', 'slot0Intent', 'slot0Size', 'slot0Pid', 'slot0Kind', 'slot1Intent', 'slot47Intent', 'slot0Cut'] as const;
const HEADER_TARGETS: Record<typeof headerTargetNames[number], number> = {
  producer: L.OFF_PRODUCER_POSITION, consumer: L.OFF_CONSUMER_POSITION, release: L.OFF_RELEASE_POSITION,
  delivered: L.OFF_DELIVERED_POSITION, written: L.OFF_WRITTEN_POSITION, state: L.OFF_STATE, senderPid: L.OFF_SENDER_PID,
  receiverPid: L.OFF_RECEIVER_PID, dataSignal: L.OFF_DATA_SIGNAL, receiverWaiters: L.OFF_RECEIVER_WAITERS,
  receiverWaitersHigh: L.OFF_RECEIVER_WAITERS_HIGH, spaceSignal: L.OFF_SPACE_SIGNAL, senderWaiters: L.OFF_SENDER_WAITERS,
  senderWaitersHigh: L.OFF_SENDER_WAITERS_HIGH, sentHigh: L.OFF_MESSAGES_SENT + 4, receivedHigh: L.OFF_MESSAGES_RECEIVED + 4,
  slot0Intent: slotOffset(0, L.SLOT_INTENT), slot0Size: slotOffset(0, L.SLOT_SIZE_OR_END), slot0Pid: slotOffset(0, L.SLOT_PID),
  slot0Kind: slotOffset(0, L.SLOT_KIND), slot1Intent: slotOffset(1, L.SLOT_INTENT), slot47Intent: slotOffset(47, L.SLOT_INTENT),
  slot0Cut: slotOffset(0, L.SLOT_CUT),
};

const scribbleArb = fc.oneof(
  { weight: 2, arbitrary: fc.record({ header: fc.constantFrom(...headerTargetNames), value: wordValue }) },
  { weight: 2, arbitrary: fc.record({ ring: fc.integer({ min: 0, max: 511 }), value: wordValue }) },
  { weight: 2, arbitrary: fc.record({ near: fc.constantFrom('producer' as const, 'consumer' as const, 'release' as const, 'delivered' as const, 'written' as const),
    word: fc.constantFrom(0, 4, 8, 12), value: wordValue }) },
);
type Scribble = typeof scribbleArb extends fc.Arbitrary<infer T> ? T : never;

const roomArb = fc.oneof(fc.constantFrom(0, 1, 7, 8, 64), fc.integer({ min: 0, max: 2200 }));
const sendLengthArb = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 64 }) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: 1100 }) },
  { weight: 1, arbitrary: fc.constantFrom(1000, 1008, 1016, 1017, 2032, 2040) });
const who = fc.integer({ min: 0, max: 3 });
const opArb = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('tryRecv' as const), who }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('tryRecvInto' as const), who, room: roomArb, at: fc.integer({ min: 0, max: 9 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('poll' as const), who, limit: fc.oneof(fc.integer({ min: 0, max: 9 }), fc.constant(Infinity)),
    throwAt: fc.oneof({ weight: 4, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }) }), close: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('recvSync0' as const), who }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('recvAborted' as const), who }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('recvIntoAborted' as const), who, room: roomArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('ended' as const), who }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('reopen' as const), who, oldest: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('trySend' as const), len: sendLengthArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('trySendMany' as const), lens: fc.array(sendLengthArb, { maxLength: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('claim' as const), len: sendLengthArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('sendSync0' as const), len: sendLengthArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('end' as const) }) },
  // Waits: they check the peers (and repair what dead ones left) before they park. With a
  // timeout of 50 µs the deadline has mostly passed by then (no sleep); at most they sleep 1 ms.
  { weight: 1, arbitrary: fc.record({ op: fc.constant('recvSync1' as const), who }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('sendSync1' as const), len: sendLengthArb }) },
);
/**
 * Rarer, dearer operations: recv() with a timeout of 0 (queued, parked, then timed out by a
 * timer), and send() of a message longer than a record (fragments) while a receiver takes it in.
 */
const slowOpArb = fc.oneof(
  fc.record({ op: fc.constant('recv0' as const), who }),
  fc.record({ op: fc.constant('bigSend' as const), len: fc.integer({ min: 1017, max: 6000 }) }),
);
type Op = (typeof opArb extends fc.Arbitrary<infer T> ? T : never) | (typeof slowOpArb extends fc.Arbitrary<infer T> ? T : never);

const caseArb = fc.record({
  capacity: fc.constantFrom(...CAPACITIES),
  mode: fc.constantFrom(...MODES),
  identity: identityArb,
  seed: fc.integer(),
  background: fc.record({ header: fc.oneof({ weight: 5, arbitrary: fc.constant('zero' as const) }, { weight: 1, arbitrary: fc.constant('rand' as const) }),
    ring: fc.constantFrom('zero' as const, 'rand' as const, 'free' as const) }),
  start: startArb,
  records: fc.oneof(fc.array(cleanRecordArb, { maxLength: 16 }), fc.array(recordArb, { maxLength: 12 })),
  /** SPSC: producer (P), delivered; MPMC: take (T) and claim (C) positions; broadcast: tail (P), intent (I). */
  positions: fc.record({ first: positionArb, second: positionArb, written: positionArb, intentExtra: fc.integer({ min: 0, max: 1000 }) }),
  state: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.constant(L.STATE_ENDED) },
    { weight: 1, arbitrary: fc.constantFrom(L.STATE_SENDER_ENDED, L.STATE_ENDED | L.STATE_SENDER_ENDED) }, { weight: 1, arbitrary: u32 }),
  senderPid: pidArb,
  receiverPid: pidArb,
  slots: fc.oneof({ weight: 1, arbitrary: fc.constant([]) }, { weight: 2, arbitrary: fc.array(slotEntryArb, { minLength: 1, maxLength: 3 }) }),
  /** MPMC/broadcast: every slot held by a dead endpoint, so an opener must take one over. */
  allSlotsDead: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  /** MPMC: make dead owners' slots name their claims and taken runs (the repair paths). */
  repairable: fc.oneof({ weight: 2, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  counters: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.tuple(fc.double(), fc.double()) }),
  scribbles: fc.oneof({ weight: 3, arbitrary: fc.constant([] as Scribble[]) }, { weight: 2, arbitrary: fc.array(scribbleArb, { minLength: 1, maxLength: 4 }) }),
  endpoints: fc.record({
    sender: fc.oneof({ weight: 3, arbitrary: fc.constant('none' as const) }, { weight: 1, arbitrary: fc.constantFrom('first' as const, 'last' as const) }),
    receivers: fc.oneof({ weight: 5, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constant(2) }),
    oldest: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    spinMicros: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(undefined) }),
  }),
  ops: fc.array(opArb, { maxLength: 6 }),
  slowOps: fc.oneof({ weight: 9, arbitrary: fc.constant([] as Op[]) }, { weight: 1, arbitrary: fc.array(slowOpArb, { minLength: 1, maxLength: 2 }) }),
});
type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

// ---------------------------------------------------------------------------------------------
// Building the image.
// ---------------------------------------------------------------------------------------------

function prng(seed: number): () => number {
  let s = (seed | 0) || 0x2545f491;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

function identityCheck(words: Uint32Array): number {
  let check = L.IDENTITY_SALT | 0;
  for (let i = 1; i < L.IDENTITY_WORDS; i++) {
    if (i !== L.OFF_IDENTITY_CHECK / 4) check ^= Math.imul(words[i], 2 * i + 1);
  }
  return check >>> 0;
}

const applyValue = (current: number, value: WordValue) => ('abs' in value ? value.abs : current + value.delta) | 0;

interface Built {
  image: Uint8Array;
  /** What an opener accepts (if the identity is accepted): ring size and largest message. */
  capacity: number;
  maxMessageSize: number;
  /** The mode the identity says (what the receivers run). */
  mode: Mode;
  validIdentity: boolean;
}

interface Layout {
  start: number;
  end: number;
  /** Positions after each record (and the start). */
  boundaries: number[];
  /** Records laid (position, size), for the repair slots. */
  records: { pos: number; size: number; state: number; slot: number }[];
}

class ImageBuilder {
  readonly image: Uint8Array;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  readonly mask: number;
  readonly maxMessage: number;
  readonly fragMax: number;
  maxMessageSize = 0;

  constructor(readonly c: Case, readonly capacity: number, readonly rand: () => number) {
    this.image = new Uint8Array(H + capacity);
    this.i32 = new Int32Array(this.image.buffer);
    this.u32 = new Uint32Array(this.image.buffer);
    this.f64 = new Float64Array(this.image.buffer, 0, H >> 3);
    this.mask = capacity - 1;
    this.maxMessage = capacity - L.RECORD_HEADER_SIZE;
    this.fragMax = capacity / 4 - L.RECORD_HEADER_SIZE;
  }

  fillRandom(from: number, to: number): void {
    for (let i = from >> 2; i < to >> 2; i++) this.i32[i] = this.rand() | 0;
  }

  /** Writes a word at a ring offset, if it lies inside the ring. */
  ringWord(offset: number, value: number): void {
    if (offset >= 0 && offset + 4 <= this.capacity && (offset & 3) === 0) this.i32[(H + offset) >> 2] = value | 0;
  }

  length(spec: LengthSpec, tail: number): number {
    if ('n' in spec) return spec.n;
    if ('frac' in spec) return Math.floor(spec.frac * this.maxMessage / 1000);
    switch (spec.edge) {
      case 'zero': return 0;
      case 'max': return this.maxMessage;
      case 'max+1': return this.maxMessage + 1;
      case 'toEnd': return Math.max(0, tail - 8);
      case 'toEnd+1': return Math.max(0, tail - 7);
      case 'mms': return this.maxMessageSize;
      case 'mms+1': return this.maxMessageSize + 1;
      case 'huge': return 0x7ffffff8;
      case 'fragMax': return this.fragMax;
      case 'fragMax+1': return this.fragMax + 1;
    }
  }

  position(spec: PositionSpec, laid: Layout): number {
    let at = laid.end;
    if (spec.at === 'abs') at = spec.v;
    else if (spec.at === 'end') at = laid.end;
    else if (spec.at === 'start') at = laid.start;
    else if (spec.at === 'boundary') at = laid.boundaries[Math.min(laid.boundaries.length - 1, Math.floor(spec.f * laid.boundaries.length / 1001))];
    return (at + spec.delta) >>> 0;
  }

  pid(spec: PidSpec): number {
    switch (spec.pid) {
      case 'dead': return DEAD_PIDS[this.rand() % DEAD_PIDS.length];
      case 'none': return 0;
      case 'self': return process.pid;
      case 'abs': return spec.v;
    }
  }

  startPosition(): number {
    const { base, units, rand, misalign } = this.c.start;
    let position: number;
    switch (base) {
      case 'zero': position = units * 8; break;
      case 'nearWrap': position = 0x100000000 - units * 8; break;
      case 'nearLap': position = (((rand >>> 0) % 64) + 1) * this.capacity - units * 8; break;
      case 'rand': position = rand & ~7; break;
    }
    return (position + misalign) >>> 0;
  }

  /** Payload bytes from the PRNG, as far as they lie inside the ring (a word at a time: offsets are 8-aligned). */
  payload(offset: number, length: number): void {
    const end = Math.min(this.capacity, offset + length);
    let i = offset;
    if ((i & 3) === 0) for (; i + 4 <= end; i += 4) this.i32[(H + i) >> 2] = this.rand() | 0;
    for (; i < end; i++) this.image[H + i] = this.rand() & 0xff;
  }

  /** Records of the SPSC and broadcast format (layout.h, "Records", "Fragments"). */
  layStream(broadcast: boolean): Layout {
    const capacity = this.capacity;
    const start = this.startPosition();
    let pos = start;
    let seq = this.rand() | 0;
    const laid: Layout = { start, end: start, boundaries: [start], records: [] };
    const used = () => (pos - start) >>> 0;
    let stopped = false;
    const full = () => stopped || used() >= capacity;
    const header = (word0: number, word1: number) => {
      const offset = pos & this.mask;
      this.ringWord(offset, word0);
      this.ringWord(offset + 4, word1);
      return offset;
    };
    // One record: padding first if it would straddle the end of the ring (and `pad`).
    const put = (word0: number, word1: number, length: number, pad: boolean, body?: (payload: number) => void) => {
      if (full()) return;
      const size = recordBytes(length);
      let offset = pos & this.mask;
      // A writer keeps to a ring and pads to the end where a record would not fit before it
      // (without `pad`, the record straddles the end: a peer's doing).
      const padding = pad && size > capacity - offset && offset !== 0 ? capacity - offset : 0;
      if (pad && used() + padding + size > capacity) {
        stopped = true;
        return;
      }
      if (padding !== 0) {
        header(L.PADDING_LENGTH, seq);
        pos = (pos + capacity - offset) >>> 0;
        laid.boundaries.push(pos);
        if (full()) return;
        offset = 0;
      }
      header(word0, word1);
      if (body !== undefined) body(offset + 8);
      else this.payload(offset + 8, length);
      pos = (pos + size) >>> 0;
      laid.boundaries.push(pos);
    };
    for (const spec of this.c.records) {
      if (full()) break;
      const tail = capacity - (pos & this.mask);
      switch (spec.t) {
        case 'whole': {
          const length = this.length(spec.len, tail);
          const word1 = !broadcast ? this.rand() : spec.seq === 'rand' ? this.rand() : seq;
          if (broadcast && spec.seq === 'next') seq = (seq + 1) | 0;
          put(length, word1, Math.min(length, 4 * capacity), spec.pad);
          break;
        }
        case 'pad':
          header(L.PADDING_LENGTH, seq);
          pos = (pos + tail) >>> 0;
          laid.boundaries.push(pos);
          break;
        case 'skip': case 'raw': {
          const units = spec.t === 'raw' ? spec.units : 1 + (this.length(spec.len, tail) % 32);
          const word0 = spec.t === 'raw' ? applyValue(this.rand(), spec.w0) : this.rand();
          const word1 = spec.t === 'raw' ? applyValue(seq, spec.w1) : seq;
          header(word0, word1);
          this.payload((pos & this.mask) + 8, units * 8 - 8);
          pos = (pos + units * 8) >>> 0;
          laid.boundaries.push(pos);
          break;
        }
        case 'frag': this.layMessage(spec, put, () => seq, (next) => { seq = next; }, full); break;
      }
    }
    laid.end = pos;
    return laid;
  }

  /** A message in fragments (layout.h, "Fragments"), with the flaw the spec asks for. */
  private layMessage(spec: Extract<RecordSpec, { t: 'frag' }>,
    put: (word0: number, word1: number, length: number, pad: boolean, body?: (payload: number) => void) => void,
    seq: () => number, setSeq: (next: number) => void, full: () => boolean): void {
    const flaw: Flaw = spec.flaw;
    let total = this.length(spec.total, this.capacity);
    if (flaw === 'zeroTotal') total = 0;
    if (flaw === 'bigTotal') total = this.maxMessageSize + (this.rand() % 2);
    const sequence = seq();
    const pad = spec.pad || flaw === 'none';
    if (flaw !== 'noStart') {
      let word = START_WORD;
      if (flaw === 'firstLast') word |= L.FRAGMENT_LAST;
      if (flaw === 'badStart') word = (L.FRAGMENT | L.FRAGMENT_FIRST | (this.rand() & L.FRAGMENT_LENGTH_MASK)) | 0;
      put(word, sequence, L.FRAGMENT_START_BYTES, pad, (payload) => {
        this.ringWord(payload, total);
        this.ringWord(payload + 4, flaw === 'badStart' ? this.rand() : 0);
      });
    }
    // The pieces: `spec.pieces` of them where they fit a quarter of the ring, more if not.
    let left = Math.min(total, 3 * this.capacity);
    let piece = 0;
    while (!full()) {
      const last = (piece >= spec.pieces - 1 || left === 0) && left <= this.fragMax;
      // A data record never completes the message (layout.h): fewer bytes than are left.
      let n = last ? left : left === 0 ? 0 : Math.min(this.fragMax, piece >= spec.pieces - 1 ? left - 1 : this.rand() % left);
      if (flaw === 'emptyData' && !last && piece === 0) n = 0;
      if (last && flaw === 'short' && n > 0) n--;
      if (last && flaw === 'long') n++;
      if (last && flaw === 'wholeInside') {
        const length = this.rand() % 24;
        put(length, sequence, length, pad);
      }
      const word = (L.FRAGMENT | (last && flaw !== 'noLast' ? L.FRAGMENT_LAST : 0) | n) | 0;
      const badSeq = flaw === 'badSeq' && piece === 0;
      put(word, badSeq ? sequence + 1 : sequence, n, pad);
      left -= Math.min(n, left);
      piece++;
      if (last) break;
    }
    if (flaw === 'extra') {
      const n = this.rand() % 40;
      put((L.FRAGMENT | n) | 0, sequence, n, pad);
    }
    setSeq((sequence + 1) | 0);
  }

  /** Records of the MPMC format: word1 = lap | slot << 3 | state (layout.h, "MPMC protocol"). */
  layMpmc(takenBefore: number): Layout {
    const capacity = this.capacity;
    const mask = this.mask;
    const start = this.startPosition();
    let pos = start;
    const laid: Layout = { start, end: start, boundaries: [start], records: [] };
    let stopped = false;
    const full = () => stopped || ((pos - start) >>> 0) >= capacity;
    const lapOf = (position: number, spec: 'cur' | 'prev' | 'next' | 'rand') => {
      const lap = position & ~mask;
      return spec === 'cur' ? lap : spec === 'prev' ? lap - capacity : spec === 'next' ? lap + capacity : this.rand() & ~mask;
    };
    const stateFor = (index: number, spec: number) => {
      if (spec >= 0) return spec;
      if (index < takenBefore) return this.rand() % 8 === 0 ? L.REC_RELEASED : L.REC_COMMITTED;
      return L.REC_COMMITTED;
    };
    const put = (word0: number, state: number, slot: number, lap: 'cur' | 'prev' | 'next' | 'rand', size: number, pad: boolean) => {
      if (full()) return;
      let offset = pos & mask;
      const padding = pad && size > capacity - offset && offset !== 0 ? capacity - offset : 0;
      if (pad && ((pos - start) >>> 0) + padding + size > capacity) {
        stopped = true;
        return;
      }
      if (padding !== 0) {
        const tail = capacity - offset;
        this.ringWord(offset, L.SKIP | tail);
        this.ringWord(offset + 4, (pos & ~mask) | (slot << 3) | L.REC_COMMITTED);
        this.free(offset + 8, tail - 8, ((pos & ~mask) + capacity) | 0);
        laid.records.push({ pos, size: tail, state: L.REC_COMMITTED, slot });
        pos = (pos + tail) >>> 0;
        laid.boundaries.push(pos);
        if (full()) return;
        offset = 0;
      }
      this.ringWord(offset, word0);
      this.ringWord(offset + 4, lapOf(pos, lap) | (slot << 3) | state);
      if (state === L.REC_RELEASED || word0 < 0) this.free(offset + 8, size - 8, ((pos & ~mask) + capacity) | 0);
      else this.payload(offset + 8, size - 8);
      laid.records.push({ pos, size, state, slot });
      pos = (pos + size) >>> 0;
      laid.boundaries.push(pos);
    };
    this.c.records.forEach((spec, index) => {
      if (full()) return;
      const tail = capacity - (pos & mask);
      switch (spec.t) {
        case 'whole': {
          const length = this.length(spec.len, tail);
          put(length, stateFor(index, spec.state), spec.slot, spec.lap, recordBytes(Math.min(length, 4 * capacity)), spec.pad);
          break;
        }
        case 'frag': // MPMC has no fragments: a record whose length word has the top bit, sized as a skip
        case 'skip': {
          const size = Math.max(8, recordBytes(spec.t === 'skip' ? this.length(spec.len, tail) : 8) - 8);
          const state = spec.t === 'skip' ? stateFor(index, spec.state) : L.REC_ABANDONED;
          put(L.SKIP | size, state === L.REC_COMMITTED && this.rand() % 2 === 0 ? L.REC_ABANDONED : state,
            spec.t === 'skip' ? spec.slot : 0, 'cur', size, true);
          break;
        }
        case 'pad': put(L.SKIP | tail, stateFor(index, spec.state), spec.slot, 'cur', tail, false); break;
        case 'raw': {
          const offset = pos & mask;
          this.ringWord(offset, applyValue(this.rand(), spec.w0));
          this.ringWord(offset + 4, applyValue(pos & ~mask, spec.w1));
          pos = (pos + spec.units * 8) >>> 0;
          laid.boundaries.push(pos);
          break;
        }
      }
    });
    laid.end = pos;
    // What follows, to a ring from the start, is free for its lap (layout.h): (0, lap).
    if (this.c.background.ring !== 'rand') {
      for (let q = pos; ((q - start) >>> 0) < capacity; q = (q + 8) >>> 0) {
        this.ringWord(q & mask, 0);
        this.ringWord((q & mask) + 4, q & ~mask);
      }
    }
    return laid;
  }

  /** Units (0, lap): free for the lap `lap`. */
  private free(offset: number, length: number, lap: number): void {
    for (let q = offset; q + 8 <= offset + length && q + 8 <= this.capacity; q += 8) {
      this.ringWord(q, 0);
      this.ringWord(q + 4, lap);
    }
  }
}

function build(c: Case): Built {
  const capacity = c.capacity;
  const rand = prng(c.seed);
  const b = new ImageBuilder(c, capacity, rand);
  const { i32, u32, f64 } = b;
  const mode = c.mode;
  const word = (offset: number, value: number) => { i32[offset >> 2] = value | 0; };

  // Identity line (layout.h).
  const maxMessage = capacity - L.RECORD_HEADER_SIZE;
  let mms: number;
  const m = c.identity.mms;
  if (m.k === 'default') mms = mode === 'mpmc' ? maxMessage : L.DEFAULT_MAX_MESSAGE_SIZE;
  else if (m.k === 'frac') mms = Math.max(1, Math.floor(m.v * maxMessage / 1000));
  else if (m.k === 'small') mms = m.v;
  else if (m.k === 'limit') mms = mode === 'mpmc' ? maxMessage : L.MAX_MESSAGE_SIZE_LIMIT;
  else if (m.k === 'record') mms = maxMessage;
  else mms = maxMessage - 8;
  b.maxMessageSize = mms;
  if (c.background.header === 'rand') b.fillRandom(0, H);
  if (c.background.ring === 'rand') b.fillRandom(H, H + capacity);
  const id = new Uint32Array(L.IDENTITY_WORDS);
  id[L.OFF_MAGIC / 4] = L.MAGIC;
  id[L.OFF_VERSION / 4] = L.VERSION;
  id[L.OFF_HEADER_SIZE / 4] = H;
  id[L.OFF_CAPACITY / 4] = capacity;
  id[L.OFF_MODE / 4] = MODE_NUMBER[mode];
  id[L.OFF_WAIT_MECHANISM / 4] = c.identity.wait;
  id[L.OFF_DEFAULT_WAIT / 4] = c.identity.spin ? L.DEFAULT_WAIT_SPIN : L.DEFAULT_WAIT_PARK;
  id[L.OFF_MAX_MESSAGE / 4] = maxMessage;
  id[L.OFF_CREATOR_UID / 4] = UID;
  id[L.OFF_CREATOR_PID / 4] = c.identity.creator;
  id[L.OFF_CREATED_AT_LOW / 4] = rand();
  id[L.OFF_CREATED_AT_HIGH / 4] = rand() & 0x3ff;
  id[L.OFF_RECORD_ALIGNMENT / 4] = L.RECORD_ALIGNMENT;
  id[L.OFF_RECORD_HEADER_SIZE / 4] = L.RECORD_HEADER_SIZE;
  id[L.OFF_FLAGS / 4] = c.identity.flags;
  id[L.OFF_MAX_MESSAGE_SIZE / 4] = mms;
  id[L.OFF_IDENTITY_CHECK / 4] = identityCheck(id);
  for (let k = 0; k < L.IDENTITY_WORDS; k++) u32[k] = id[k];
  // Damage, maybe recomputing the check so that the field checks behind it are reached.
  for (const { word: k, value, recheck } of c.identity.damage) {
    u32[k] = applyValue(u32[k], value) >>> 0;
    if (recheck) u32[L.OFF_IDENTITY_CHECK / 4] = identityCheck(u32.subarray(0, L.IDENTITY_WORDS));
  }
  const accepted = u32.subarray(0, L.IDENTITY_WORDS);
  const acceptedMms = accepted[L.OFF_MAX_MESSAGE_SIZE / 4];
  // The mode an opener will see (damage with the check recomputed may have changed it).
  const seenMode = MODES.find((m) => MODE_NUMBER[m] === accepted[L.OFF_MODE / 4]) ?? mode;
  // Undamaged (damage may leave it valid all the same: the property holds for every image).
  const validIdentity = c.identity.damage.length === 0;

  // The records, and the mutable lines and slots that go with them.
  const drop = (c.identity.flags & L.FLAG_OVERFLOW_DROP) !== 0;
  const deadOwners = new Map<number, { intent: number; size: number; kind: number }>();
  let laid: Layout;
  if (mode === 'mpmc') {
    const takenIndex = c.positions.first.at === 'boundary' ? Math.floor(c.positions.first.f * c.records.length / 1001)
      : c.positions.first.at === 'end' ? 1 : 0;
    laid = b.layMpmc(takenIndex);
    const release = laid.start;
    // T: a boundary (records before it taken by receivers); by default after the first record.
    const first = c.positions.first;
    const take = first.at === 'boundary' ? laid.boundaries[Math.min(takenIndex, laid.boundaries.length - 1)]
      : first.at === 'end' && first.delta === 0 ? laid.boundaries[Math.min(1, laid.boundaries.length - 1)] : b.position(first, laid);
    const claim = b.position(c.positions.second.at === 'start' && c.positions.second.delta === 0 ? { at: 'end', delta: 0 } : c.positions.second, laid);
    word(L.OFF_RELEASE_POSITION, release);
    word(L.OFF_TAKE_POSITION, take);
    word(L.OFF_CLAIM_POSITION, claim);
    if (c.repairable) {
      // Each claim names its dead owner's slot (intent = position | 1, size), and the taken
      // records before T a dead receiver's run (intent = R | 1, end = T).
      for (const r of laid.records) {
        if (r.state === L.REC_CLAIMED && r.slot < L.MAX_SLOTS) deadOwners.set(r.slot, { intent: r.pos | 1, size: r.size, kind: L.KIND_SENDER });
      }
      // Sometimes the record at T is a claim whose sender died (layout.h, "Liveness and repair").
      const atTake = laid.records.find((r) => r.pos === take);
      if (atTake !== undefined && atTake.slot < L.MAX_SLOTS && rand() % 3 === 0) {
        b.ringWord((take & b.mask) + 4, (take & ~b.mask) | (atTake.slot << L.SLOT_SHIFT) | L.REC_CLAIMED);
        deadOwners.set(atTake.slot, { intent: take | 1, size: atTake.size, kind: L.KIND_SENDER });
      }
      if (((take - release) >>> 0) <= capacity && take !== release) {
        const slot = rand() % 4;
        if (!deadOwners.has(slot)) deadOwners.set(slot, { intent: release | 1, size: take, kind: L.KIND_RECEIVER });
      }
    }
  } else {
    laid = b.layStream(mode === 'broadcast');
    const consumer = laid.start;
    const producer = b.position(c.positions.first, laid);
    const written = b.position(c.positions.written, laid);
    word(L.OFF_CONSUMER_POSITION, consumer); // broadcast: O
    word(L.OFF_PRODUCER_POSITION, producer);
    word(L.OFF_WRITTEN_POSITION, written);
    if (mode === 'spsc') {
      // delivered: a boundary (what a receiver that died handed out), else the consumer position.
      const second = c.positions.second;
      word(L.OFF_DELIVERED_POSITION, second.at === 'end' && second.delta === 0 ? consumer : b.position(second, laid));
    } else {
      // I: at or past the tail, within a ring of O (a broadcast image the sender could leave).
      const room = capacity - Math.min(capacity, (producer - consumer) >>> 0);
      const extra = Math.floor(c.positions.intentExtra * room / 1000) & ~7;
      word(L.OFF_INTENT_POSITION, producer + Math.max(extra, drop && room >= 8 ? 8 : 0));
      // 'drop': the header at the tail carries the next sequence number.
      if (drop) b.ringWord((producer & b.mask) + 4, rand());
    }
  }
  word(L.OFF_STATE, c.state);
  word(L.OFF_SENDER_PID, b.pid(c.senderPid));
  if (mode === 'spsc') word(L.OFF_RECEIVER_PID, b.pid(c.receiverPid));
  word(L.OFF_SENDER_THREAD, rand() % 4);
  word(L.OFF_RECEIVER_THREAD, rand() % 4);
  if (c.counters !== null) {
    f64[L.OFF_MESSAGES_SENT >> 3] = c.counters[0];
    f64[L.OFF_MESSAGES_RECEIVED >> 3] = c.counters[1];
  }
  // Waiter counts and parked masks (bits of slots that do not exist included), signals.
  if (rand() % 4 === 0) {
    word(L.OFF_RECEIVER_WAITERS, rand() % 3 === 0 ? rand() : rand() % 3);
    word(L.OFF_RECEIVER_WAITERS_HIGH, rand() % 2 === 0 ? 0 : rand());
    word(L.OFF_SENDER_WAITERS, rand() % 3 === 0 ? rand() : rand() % 3);
    word(L.OFF_SENDER_WAITERS_HIGH, rand() % 2 === 0 ? 0 : rand());
    word(L.OFF_DATA_SIGNAL, rand() % 4);
    word(L.OFF_SPACE_SIGNAL, rand() % 4);
  }
  if (mode !== 'spsc') {
    if (c.allSlotsDead) {
      for (let slot = 0; slot < L.MAX_SLOTS; slot++) {
        word(slotOffset(slot, L.SLOT_PID), DEAD_PIDS[slot % DEAD_PIDS.length]);
        word(slotOffset(slot, L.SLOT_KIND), mode === 'broadcast' || slot % 2 === 1 ? L.KIND_RECEIVER : L.KIND_SENDER);
        if (mode === 'broadcast') word(slotOffset(slot, L.SLOT_CURSOR), b.position(c.positions.first, laid));
      }
    }
    for (const e of c.slots) {
      word(slotOffset(e.slot, L.SLOT_PID), b.pid(e.pid));
      word(slotOffset(e.slot, L.SLOT_KIND), e.kind);
      word(slotOffset(e.slot, L.SLOT_THREAD), rand() % 4);
      if (mode === 'broadcast') {
        word(slotOffset(e.slot, L.SLOT_CURSOR), e.intent.at === 'pos' ? b.position(e.intent.p, laid)
          : e.intent.at === 'abs' ? e.intent.v : b.position(c.positions.first, laid));
        word(slotOffset(e.slot, L.SLOT_CUT), e.cut);
      } else {
        word(slotOffset(e.slot, L.SLOT_INTENT), e.intent.at === 'none' ? 0 : e.intent.at === 'abs' ? e.intent.v
          : b.position(e.intent.p, laid) | 1);
        word(slotOffset(e.slot, L.SLOT_SIZE_OR_END), e.size.at === 'pos' ? b.position(e.size.p, laid)
          : e.size.at === 'len' ? recordBytes(b.length(e.size.l, capacity)) : e.size.v);
        word(slotOffset(e.slot, L.SLOT_ENDED), e.cut);
      }
      if (e.counts) {
        f64[slotOffset(e.slot, L.SLOT_MESSAGES) >> 3] = (rand() % 5 === 0) ? NaN : rand();
        f64[slotOffset(e.slot, L.SLOT_LOST) >> 3] = (rand() % 5 === 0) ? -1 : rand();
      }
    }
    // Last, so that they stand: the slots of the dead owners of claims and taken runs.
    for (const [slot, owner] of deadOwners) {
      word(slotOffset(slot, L.SLOT_PID), DEAD_PIDS[slot % DEAD_PIDS.length]);
      word(slotOffset(slot, L.SLOT_KIND), owner.kind);
      word(slotOffset(slot, L.SLOT_INTENT), owner.intent);
      word(slotOffset(slot, L.SLOT_SIZE_OR_END), owner.size);
    }
  }

  // Scribbles: header words, ring words, and the header words where positions point.
  for (const s of c.scribbles) {
    if ('header' in s) {
      const offset = HEADER_TARGETS[s.header];
      word(offset, applyValue(i32[offset >> 2], s.value));
    } else if ('ring' in s) {
      const offset = (s.ring * 4) & (capacity - 4);
      b.ringWord(offset, applyValue(b.i32[(H + offset) >> 2], s.value));
    } else {
      const at = { producer: L.OFF_PRODUCER_POSITION, consumer: L.OFF_CONSUMER_POSITION, release: L.OFF_RELEASE_POSITION,
        delivered: L.OFF_DELIVERED_POSITION, written: L.OFF_WRITTEN_POSITION }[s.near];
      const offset = ((i32[at >> 2] + s.word) & (capacity - 4));
      b.ringWord(offset, applyValue(b.i32[(H + offset) >> 2], s.value));
    }
  }

  // The unnamed sem_t in each signal's line (wait mechanism SEMAPHORE) is what glibc made of
  // it, in some state a semaphore can be in (any value, waiters or not), whatever the mechanism
  // of this image: glibc aborts the process when a sem_post, or a sem_clockwait woken, meets a
  // damaged one (see the explicit case 'a scribbled-on semaphore' below), and a cancelled
  // semaphore wait of an earlier case may still sleep on these bytes for up to 50 ms.
  {
    for (const offset of [L.OFF_DATA_SEMAPHORE, L.OFF_SPACE_SEMAPHORE]) {
      word(offset, [0, 1, 2, 0x7ffffffe, 0x7fffffff][rand() % 5]);
      word(offset + 4, [0, 0, 1, 5][rand() % 4]);
      word(offset + 8, rand() % 2 === 0 ? 0 : 128);
      word(offset + 12, 0);
    }
  }
  // Broadcast: a receiver joining, or reading at a cursor the intent is more than a ring past,
  // waits up to a park slice for a sender that may be between two stores before it reports
  // the image corrupt (Settle). That is by design, and a second per case: keep I within a
  // ring of the tail here (an explicit case below takes that path).
  if (seenMode === 'broadcast') {
    const tail = i32[L.OFF_PRODUCER_POSITION >> 2];
    const intent = i32[L.OFF_INTENT_POSITION >> 2];
    if (((intent - tail) >>> 0) > capacity) word(L.OFF_INTENT_POSITION, tail);
  }
  return { image: b.image, capacity, maxMessageSize: acceptedMms, mode: seenMode, validIdentity };
}

/**
 * Broadcast: whether a receiver joining now (from the oldest record, or the tail) can neither
 * find itself lapped at the join nor later (which would wait out the sender's Settle: see build()).
 */
function broadcastJoinSafe(i32: Int32Array, capacity: number, oldest: boolean): boolean {
  const tail = i32[L.OFF_PRODUCER_POSITION >> 2];
  const intent = i32[L.OFF_INTENT_POSITION >> 2];
  if (((intent - tail) >>> 0) > capacity) return false;
  return !oldest || ((intent - i32[L.OFF_OLDEST_POSITION >> 2]) >>> 0) <= capacity;
}

// ---------------------------------------------------------------------------------------------
// Checking what comes out.
// ---------------------------------------------------------------------------------------------

function equalBytes(a: Uint8Array, aStart: number, b: Uint8Array, bStart: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (a[aStart + i] !== b[bStart + i]) return false;
  return true;
}

interface Checker {
  mode: Mode;
  capacity: number;
  maxMessageSize: number;
  /** The ring's bytes as the image put them, and after each send of this case. */
  snapshots: Uint8Array[];
  /** Payloads sent in this case. */
  sent: Uint8Array[];
  delivered: number;
  assembled: number;
}

/** A whole record's payload: `message` at a ring offset o (8-aligned), the length word at o - 8 saying its length. */
function wholeRecord(ring: Uint8Array, ring32: Int32Array, message: Uint8Array): boolean {
  const length = message.length;
  for (let o = 8; o + length <= ring.length; o += 8) {
    if (ring32[(o - 8) >> 2] === length && equalBytes(ring, o, message, 0, length)) return true;
  }
  return false;
}

/**
 * A message put together from fragments: pieces, each the payload of a data or last record of
 * some snapshot (length word FRAGMENT [| LAST] | n at o - 8, o + n inside the ring), only the
 * final one a last record, that cover it exactly.
 */
function fragmentPieces(snapshots: Uint8Array[], message: Uint8Array): boolean {
  const pieces: { ring: Uint8Array; at: number; n: number; last: boolean }[] = [];
  for (const ring of snapshots) {
    const ring32 = new Int32Array(ring.buffer, ring.byteOffset, ring.length >> 2);
    for (let o = 8; o <= ring.length; o += 8) {
      const word = ring32[(o - 8) >> 2];
      if (word >= 0 || word === -1 || (word & L.FRAGMENT_FIRST) !== 0) continue;
      const n = word & L.FRAGMENT_LENGTH_MASK;
      if (o + n > ring.length || n > message.length) continue;
      pieces.push({ ring, at: o, n, last: (word & L.FRAGMENT_LAST) !== 0 });
    }
  }
  const length = message.length;
  const reached = new Uint8Array(length + 1);
  reached[0] = 1;
  if (length === 0) return false; // a message put together has at least a byte (layout.h)
  for (let p = 0; p <= length; p++) {
    if (!reached[p]) continue;
    for (const piece of pieces) {
      const end = p + piece.n;
      if (end > length || (piece.last !== (end === length)) || (!piece.last && piece.n === 0)) continue;
      if (!equalBytes(piece.ring, piece.at, message, p, piece.n)) continue;
      if (piece.last) return true;
      reached[end] = 1;
    }
  }
  return false;
}

class Failure extends Error {}

function verify(check: Checker, message: Uint8Array, how: string): void {
  if (!(message instanceof Uint8Array)) throw new Failure(`${how} handed out ${Object.prototype.toString.call(message)}, not bytes`);
  const length = message.length;
  if (length > check.maxMessageSize) {
    throw new Failure(`${how} handed out a ${length}-byte message; the channel's maxMessageSize is ${check.maxMessageSize}`);
  }
  check.delivered++;
  for (const sent of check.sent) if (sent.length === length && equalBytes(sent, 0, message, 0, length)) return;
  for (const ring of check.snapshots) {
    if (wholeRecord(ring, new Int32Array(ring.buffer, ring.byteOffset, ring.length >> 2), message)) return;
  }
  if (check.mode !== 'mpmc' && fragmentPieces(check.snapshots, message)) {
    check.assembled++;
    return;
  }
  // Where a record of that length lies, say how its payload differs from what was handed out.
  let near = '';
  for (const ring of check.snapshots) {
    const ring32 = new Int32Array(ring.buffer, ring.byteOffset, ring.length >> 2);
    for (let o = 8; o + length <= ring.length && near === ''; o += 8) {
      if (ring32[(o - 8) >> 2] !== length) continue;
      let k = 0;
      while (k < length && ring[o + k] === message[k]) k++;
      near = `; the record of that length at ring offset ${o - 8} has its payload differ from byte ${k} on `
        + `(ring offset ${o + k}): ring ${Buffer.from(ring.subarray(o + k, o + k + 16)).toString('hex')}, `
        + `handed out ${Buffer.from(message.subarray(k, k + 16)).toString('hex')}`;
    }
  }
  throw new Failure(`${how} handed out a ${length}-byte message that is no record's payload in the ring `
    + `(nor fragments' pieces, nor a message sent): ${Buffer.from(message.subarray(0, 32)).toString('hex')}...${near}`);
}

// ---------------------------------------------------------------------------------------------
// Running a case.
// ---------------------------------------------------------------------------------------------

interface Channel {
  name: string;
  capacity: number;
  raw: NativeSegment;
  u8: Uint8Array;
  i32: Int32Array;
}

const seen = new Map<string, number>();
/** Where the time goes (ms, summed over the cases), and [cases, messages handed out] by mode ('-damaged': identity damaged). */
const phases = new Map<string, number>();
const byMode = new Map<string, [number, number]>();
let phaseEnd = 0;
function prof(phase: string, started: number): void {
  const now = performance.now();
  if (phaseEnd < started) phaseEnd = started;
  phases.set(phase, (phases.get(phase) ?? 0) + now - phaseEnd);
  phaseEnd = now;
}
const stats = { cases: 0, opened: 0, delivered: 0, assembled: 0, slow: 0, slowest: 0 };
const SENTINEL = 0xc3;
class HandlerThrew extends Error {}

function expected(error: unknown, where: string): void {
  if (error instanceof Failure) throw error;
  const code = (error as { code?: string } | null)?.code;
  if (error instanceof RingwireError && CODES.has(code!)) {
    seen.set(code!, (seen.get(code!) ?? 0) + 1);
    return;
  }
  if (error instanceof Error && error.name === 'AbortError') return;
  if (error instanceof HandlerThrew) return;
  const detail = error instanceof Error ? `${error.name}: ${error.message}\n${error.stack}` : String(error);
  throw new Failure(`${where} threw what is not a RingwireError with a known code: ${detail}`);
}

async function runCase(c: Case, channel: Channel): Promise<void> {
  const started = performance.now();
  const built = build(c);
  prof('build', started);
  const { capacity } = channel;
  channel.u8.set(built.image);
  const check: Checker = {
    mode: built.mode, capacity, maxMessageSize: built.maxMessageSize, snapshots: [built.image.subarray(H)], sent: [], delivered: 0, assembled: 0,
  };
  const rand = prng(c.seed ^ 0x5bd1e995);
  const name = channel.name;
  const senders: Sender[] = [];
  const receivers: Receiver[] = [];
  const options = c.endpoints.spinMicros === undefined ? {} : { spinMicros: c.endpoints.spinMicros };
  const attempt = (where: string, fn: () => unknown) => {
    try {
      return fn();
    } catch (error) {
      expected(error, where);
      return undefined;
    }
  };
  const snapshot = () => check.snapshots.push(channel.u8.slice(H, H + capacity));
  const payload = (length: number) => {
    const bytes = new Uint8Array(length);
    const words = new Int32Array(bytes.buffer, 0, length >> 2);
    for (let i = 0; i < words.length; i++) words[i] = rand() | 0;
    for (let i = words.length * 4; i < length; i++) bytes[i] = rand() & 0xff;
    check.sent.push(bytes);
    return bytes;
  };
  const openReceiverNow = (oldest: boolean) => {
    // Broadcast: not where the join would wait out a sender's Settle (see build()).
    let from: 'oldest' | 'next' | undefined;
    if (built.mode === 'broadcast') {
      from = oldest && broadcastJoinSafe(channel.i32, capacity, true) ? 'oldest' : 'next';
      if (!broadcastJoinSafe(channel.i32, capacity, from === 'oldest')) return;
    }
    attempt('openReceiver', () => receivers.push(openReceiver(name, from === undefined ? options : { ...options, from })));
  };
  const openSenderNow = () => attempt('openSender', () => senders.push(openSender(name, options)));
  const receiver = (index: number) => receivers.length === 0 ? undefined : receivers[index % receivers.length];
  const take = (how: string, message: Uint8Array | null | undefined) => {
    if (message !== undefined && message !== null) verify(check, message, how);
  };
  const into = (how: string, room: number, at: number, fn: (target: Uint8Array) => number | null) => {
    const target = new Uint8Array(room + at).fill(SENTINEL);
    const length = fn(target);
    checkInto(how, target, room, at, length);
  };
  const checkInto = (how: string, target: Uint8Array, room: number, at: number, length: number | null) => {
    if (length === null || length === -1) return;
    if (!Number.isInteger(length) || length < 0 || at + length > target.length) {
      throw new Failure(`${how} returned length ${length} for a target with room for ${room}`);
    }
    for (let i = 0; i < at; i++) if (target[i] !== SENTINEL) throw new Failure(`${how} wrote before its offset`);
    for (let i = at + length; i < target.length; i++) if (target[i] !== SENTINEL) throw new Failure(`${how} wrote past the message`);
    verify(check, target.slice(at, at + length), how);
  };
  const poll = (r: Receiver, limit: number, throwAt: number, close: boolean) => {
    let calls = 0;
    r.poll((bytes, offset, length) => {
      if (!(bytes instanceof Uint8Array) || !Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0
        || offset + length > bytes.length) {
        throw new Failure(`poll() handed out a view [${offset}, +${length}) of ${bytes?.length} bytes`);
      }
      // A view of the mapping lies inside the ring, after a record header.
      if (bytes.buffer === (r as unknown as { view: { u8: Uint8Array } }).view.u8.buffer
        && (offset < H + L.RECORD_HEADER_SIZE || offset + length > H + capacity)) {
        throw new Failure(`poll() handed out a view [${offset}, +${length}) of the mapping outside the ring`);
      }
      verify(check, bytes.slice(offset, offset + length), 'poll()');
      if (calls++ === throwAt) {
        if (close) r.close();
        throw new HandlerThrew('handler threw');
      }
    }, limit);
  };

  try {
    if (c.endpoints.sender === 'first') openSenderNow();
    openReceiverNow(c.endpoints.oldest);
    if (c.endpoints.receivers === 2 && built.mode !== 'spsc') openReceiverNow(!c.endpoints.oldest);
    if (c.endpoints.sender === 'last') openSenderNow();
    if (receivers.length + senders.length !== 0) stats.opened++;
    prof('open', started);
    const sender = () => senders[0];
    for (const op of [...c.ops, ...c.slowOps]) {
      const where = `${op.op}`;
      switch (op.op) {
        case 'tryRecv': { const r = receiver(op.who); if (r) attempt(where, () => take('tryRecv()', r.tryRecv())); break; }
        case 'tryRecvInto': {
          const r = receiver(op.who);
          if (r) attempt(where, () => into('tryRecvInto()', op.room, op.at, (t) => r.tryRecvInto(t, op.at)));
          break;
        }
        case 'poll': { const r = receiver(op.who); if (r) attempt(where, () => poll(r, op.limit, op.throwAt, op.close)); break; }
        case 'recvSync0': { const r = receiver(op.who); if (r) attempt(where, () => take('recvSync()', r.recvSync({ timeout: 0 }))); break; }
        case 'recvSync1': { const r = receiver(op.who); if (r) attempt(where, () => take('recvSync()', r.recvSync({ timeout: WAIT_MS }))); break; }
        case 'recvAborted': case 'recv0': {
          const r = receiver(op.who);
          if (!r) break;
          const promise = attempt(where, () => r.recv(op.op === 'recv0' ? { timeout: 0 } : { signal: ABORTED })) as Promise<Uint8Array | null> | undefined;
          if (promise !== undefined) {
            try {
              take('recv()', await promise);
            } catch (error) {
              expected(error, where);
            }
          }
          break;
        }
        case 'recvIntoAborted': {
          const r = receiver(op.who);
          if (!r) break;
          const target = new Uint8Array(op.room).fill(SENTINEL);
          try {
            checkInto('recvInto()', target, op.room, 0, await r.recvInto(target, 0, { signal: ABORTED }));
          } catch (error) {
            expected(error, where);
          }
          break;
        }
        case 'ended': { const r = receiver(op.who); if (r) attempt(where, () => r.ended); break; }
        case 'reopen': {
          const r = receiver(op.who);
          if (!r) break;
          attempt(where, () => r.close());
          receivers.splice(receivers.indexOf(r), 1);
          openReceiverNow(op.oldest);
          break;
        }
        case 'trySend': { const s = sender(); if (s) { attempt(where, () => s.trySend(payload(op.len))); snapshot(); } break; }
        case 'trySendMany': { const s = sender(); if (s) { attempt(where, () => s.trySendMany(op.lens.map(payload))); snapshot(); } break; }
        case 'claim': {
          const s = sender();
          if (!s) break;
          attempt(where, () => {
            const at = s.tryClaim(op.len);
            if (at >= 0) s.buffer.set(payload(op.len), at);
            s.commit();
          });
          snapshot();
          break;
        }
        case 'sendSync0': case 'sendSync1': {
          const s = sender();
          if (s) { attempt(where, () => s.sendSync(payload(op.len), { timeout: op.op === 'sendSync0' ? 0 : WAIT_MS })); snapshot(); }
          break;
        }
        case 'bigSend': {
          // A message longer than a record, sent while a receiver takes it in: fragments (SPSC, broadcast).
          const s = sender();
          const r = receiver(0);
          if (!s || !r) break;
          const sending = attempt(where, () => s.send(payload(op.len), { timeout: 20 })) as Promise<void> | undefined;
          let done = sending === undefined;
          let failure: unknown;
          sending?.then(() => { done = true; }, (error) => {
            done = true;
            try {
              expected(error, where);
            } catch (wrong) {
              failure = wrong;
            }
          });
          for (let turn = 0; turn < 64 && !r.isClosed; turn++) {
            snapshot();
            const message = attempt('tryRecv (bigSend)', () => r.tryRecv()) as Uint8Array | undefined;
            if (message !== undefined) take('tryRecv() (bigSend)', message);
            if (done && message === undefined) break;
            await new Promise((resolve) => setImmediate(resolve));
          }
          if (sending !== undefined) await sending.catch(() => {});
          if (failure !== undefined) throw failure;
          break;
        }
        case 'end': { const s = sender(); if (s) attempt(where, () => { s.end().catch(() => {}); }); break; }
      }
    }
    prof('ops', started);
    // Drain: every receiver until nothing more (or an error). A static image holds at most a
    // ring of records: a receiver that goes on handing out messages is reading what is not there.
    const bound = 2 * (capacity / 8) + 4 * check.sent.length + 16;
    for (const r of receivers) {
      for (let n = 0; ; n++) {
        if (n > bound) throw new Failure(`a receiver handed out more than ${bound} messages from one image`);
        let message: Uint8Array | undefined;
        try {
          message = r.tryRecv();
        } catch (error) {
          expected(error, 'tryRecv (drain)');
          break;
        }
        if (message === undefined) break;
        take('tryRecv() (drain)', message);
      }
    }
  } finally {
    prof('drain', started);
    for (const endpoint of [...receivers, ...senders]) attempt('close', () => endpoint.close());
    prof('close', started);
  }
  stats.cases++;
  stats.delivered += check.delivered;
  const key = `${built.mode}${built.validIdentity ? '' : '-damaged'}`;
  byMode.set(key, [(byMode.get(key)?.[0] ?? 0) + 1, (byMode.get(key)?.[1] ?? 0) + check.delivered]);
  stats.assembled += check.assembled;
  const took = performance.now() - started;
  if (took > stats.slowest) stats.slowest = took;
  if (took > 100) stats.slow++;
  if (took > HANG_MS) throw new Failure(`the case took ${took.toFixed(0)} ms: a hang`);
}

// ---------------------------------------------------------------------------------------------
// Explicit images: counterexamples found, kept as regression cases.
// ---------------------------------------------------------------------------------------------

/** A valid identity line and an otherwise zero segment (positions 0, no pids: nobody ever opened it). */
function explicitImage(capacity: number, mode: Mode, maxMessageSize: number, wait = L.WAIT_FUTEX): { image: Uint8Array; i32: Int32Array } {
  const image = new Uint8Array(H + capacity);
  const i32 = new Int32Array(image.buffer);
  const id = new Uint32Array(image.buffer, 0, L.IDENTITY_WORDS);
  id[L.OFF_MAGIC / 4] = L.MAGIC;
  id[L.OFF_VERSION / 4] = L.VERSION;
  id[L.OFF_HEADER_SIZE / 4] = H;
  id[L.OFF_CAPACITY / 4] = capacity;
  id[L.OFF_MODE / 4] = MODE_NUMBER[mode];
  id[L.OFF_WAIT_MECHANISM / 4] = wait;
  id[L.OFF_DEFAULT_WAIT / 4] = L.DEFAULT_WAIT_PARK;
  id[L.OFF_MAX_MESSAGE / 4] = capacity - L.RECORD_HEADER_SIZE;
  id[L.OFF_CREATOR_UID / 4] = UID;
  id[L.OFF_RECORD_ALIGNMENT / 4] = L.RECORD_ALIGNMENT;
  id[L.OFF_RECORD_HEADER_SIZE / 4] = L.RECORD_HEADER_SIZE;
  id[L.OFF_MAX_MESSAGE_SIZE / 4] = maxMessageSize;
  id[L.OFF_IDENTITY_CHECK / 4] = identityCheck(id);
  return { image, i32 };
}

/** One record at ring offset 0: `length` in word0, `word1`, payload bytes 0xa5. Returns its size. */
function recordAtZero(image: Uint8Array, i32: Int32Array, length: number, word1: number): number {
  i32[H >> 2] = length;
  i32[(H >> 2) + 1] = word1;
  image.fill(0xa5, H + L.RECORD_HEADER_SIZE, H + L.RECORD_HEADER_SIZE + length);
  return recordBytes(length);
}

/**
 * Every slot held by a dead process, of kind `others`, so that an opener takes over one (slot
 * 0 first) and repairs what it left; slot 0 of kind `kind` with `intent` and `sizeOrEnd`.
 */
function deadSlots(i32: Int32Array, others: number, slot0: { kind: number; intent: number; sizeOrEnd: number }): void {
  for (let slot = 0; slot < L.MAX_SLOTS; slot++) {
    i32[slotOffset(slot, L.SLOT_PID) >> 2] = DEAD_PIDS[0];
    i32[slotOffset(slot, L.SLOT_KIND) >> 2] = others;
  }
  i32[slotOffset(0, L.SLOT_KIND) >> 2] = slot0.kind;
  i32[slotOffset(0, L.SLOT_INTENT) >> 2] = slot0.intent | L.INTENT_VALID;
  i32[slotOffset(0, L.SLOT_SIZE_OR_END) >> 2] = slot0.sizeOrEnd;
}

/**
 * A committed record of 1016 bytes (payload 0xa5) filling a 1024-byte ring, its header word1
 * `word1`, with the unit at ring offset 256 of its payload reading as slot 0's claim of lap 0.
 */
function recordWithClaimInside(word1: number): { image: Uint8Array; i32: Int32Array } {
  const { image, i32 } = explicitImage(1024, 'mpmc', 1016);
  i32[H >> 2] = 1016;
  i32[(H >> 2) + 1] = word1;
  image.fill(0xa5, H + 8, H + 1024);
  i32[(H + 256) >> 2] = 0x5a5a5a5a;
  i32[((H + 256) >> 2) + 1] = (0 << L.SLOT_SHIFT) | L.REC_CLAIMED;
  return { image, i32 };
}

/** What one tryRecv() on a fresh receiver gives: a message, nothing, or the error thrown (opening included). */
function receiveOnce(name: string, options: { from?: 'oldest' | 'next' } = {}): Uint8Array | undefined | Error {
  let receiver: Receiver | undefined;
  try {
    receiver = openReceiver(name, options);
    return receiver.tryRecv();
  } catch (error) {
    return error as Error;
  } finally {
    receiver?.close();
  }
}

/** An outcome that keeps to the channel's maxMessageSize: nothing, ERR_RINGWIRE_CORRUPT, or a message no longer. */
function expectWithin(outcome: Uint8Array | undefined | Error, maxMessageSize: number): void {
  if (outcome instanceof Error) {
    expect((outcome as RingwireError).code).toBe('ERR_RINGWIRE_CORRUPT');
    return;
  }
  expect(outcome === undefined ? 0 : outcome.length, `a message of ${outcome?.length} bytes on a channel of maxMessageSize ${maxMessageSize}`)
    .toBeLessThanOrEqual(maxMessageSize);
}

// ---------------------------------------------------------------------------------------------

describe('receiving from an arbitrary segment image', () => {
  const channels = new Map<number, Channel>();

  beforeAll(() => {
    for (const capacity of CAPACITIES) {
      const name = freshName(`img${capacity}`);
      createChannel(name, { capacity });
      const raw = new native.Segment(name);
      channels.set(capacity, { name, capacity, raw, u8: new Uint8Array(raw.buffer), i32: new Int32Array(raw.buffer) });
    }
  });

  afterAll(() => {
    for (const { name, raw } of channels.values()) {
      raw.close();
      unlinkChannel(name);
    }
  });

  // Found by the property: the receive paths check a whole record's length against the most
  // one record carries (capacity - 8), not against the channel's maxMessageSize, so a record a
  // sender could never have written (its send() refuses a message over maxMessageSize) is
  // handed out, longer than the channel's largest message. (Fragments are checked: a start
  // record's total must be at most maxMessageSize.)
  it('spsc: a whole record longer than maxMessageSize is not handed out', () => {
    const { name, u8 } = channels.get(1024)!;
    const { image, i32 } = explicitImage(1024, 'spsc', 16);
    const size = recordAtZero(image, i32, 100, 0);
    i32[L.OFF_PRODUCER_POSITION >> 2] = size;
    i32[L.OFF_WRITTEN_POSITION >> 2] = size;
    u8.set(image);
    expectWithin(receiveOnce(name), 16);
  });

  it('broadcast: a whole record longer than maxMessageSize is not handed out', () => {
    const { name, u8 } = channels.get(1024)!;
    const { image, i32 } = explicitImage(1024, 'broadcast', 16);
    const size = recordAtZero(image, i32, 100, 0);
    i32[L.OFF_PRODUCER_POSITION >> 2] = size; // P; O = 0
    i32[L.OFF_WRITTEN_POSITION >> 2] = size;
    i32[L.OFF_INTENT_POSITION >> 2] = size;
    u8.set(image);
    expectWithin(receiveOnce(name, { from: 'oldest' }), 16);
  });

  it('mpmc: a committed record longer than maxMessageSize is not handed out', () => {
    const { name, u8 } = channels.get(1024)!;
    const { image, i32 } = explicitImage(1024, 'mpmc', 16);
    // Lap 0, slot 0, COMMITTED; the rest of the ring is FREE for lap 0 (all zero). R = T = 0.
    const size = recordAtZero(image, i32, 100, L.REC_COMMITTED);
    i32[L.OFF_CLAIM_POSITION >> 2] = size;
    u8.set(image);
    expectWithin(receiveOnce(name), 16);
  });

  // Found by the property (seed -762788785, shrunk): an MPMC receiver takes a committed record
  // at T without checking it against the claim position C (layout.h: R <= T <= C <= R +
  // capacity; a sender moves C past its claim before it commits), so a record that runs past
  // C is handed out whole. Here it runs into the ring space of the skip record before it,
  // which this receiver took and released on the way (writing RELEASED and its own slot into
  // that header) just before it copied the record: the message's last 8 bytes are that header,
  // not anything in the ring's image.
  it('mpmc: a committed record running past the claim position is not handed out', () => {
    const { name, u8 } = channels.get(1024)!;
    const { image, i32 } = explicitImage(1024, 'mpmc', 1016);
    // R = T = 1016: a skip record of 8 bytes (lap 0, COMMITTED) at ring offset 1016.
    i32[(H + 1016) >> 2] = L.SKIP | 8;
    i32[((H + 1016) >> 2) + 1] = L.REC_COMMITTED;
    // At 1024 (ring offset 0, lap 1024): a committed record of 1016 bytes, ending at 2048,
    // its last 8 payload bytes the skip record's header. C = 1024: nothing was claimed past the skip.
    i32[H >> 2] = 1016;
    i32[(H >> 2) + 1] = 1024 | L.REC_COMMITTED;
    image.fill(0xa5, H + 8, H + 1016);
    for (let q = 8; q < 1016; q += 8) i32[(H + q + 4) >> 2] = 0xa5a5a5a5 | 0; // not FREE units
    i32[L.OFF_RELEASE_POSITION >> 2] = 1016;
    i32[L.OFF_TAKE_POSITION >> 2] = 1016;
    i32[L.OFF_CLAIM_POSITION >> 2] = 1024;
    u8.set(image);
    const outcome = receiveOnce(name);
    if (outcome instanceof Error) {
      expect((outcome as RingwireError).code).toBe('ERR_RINGWIRE_CORRUPT');
    } else if (outcome !== undefined) {
      // Handed out: then at least its bytes are the ring's, as the image had them (its last 8
      // are the skip record's header: SKIP | 8, then lap 0 | slot 0 | COMMITTED).
      expect(outcome.length).toBe(1016);
      expect(Buffer.from(outcome.subarray(1008)).toString('hex')).toBe(Buffer.from(image.subarray(H + 1016, H + 1024)).toString('hex'));
      expect(Buffer.compare(outcome, image.subarray(H + 8, H + 1024))).toBe(0);
    }
  });

  // Found by the property (seed 2025671398, case 25 504): an endpoint opening into a dead
  // sender's slot abandoned the claim the slot's intent named without asking whether a claim
  // could be there. The intent pointed into the payload of a committed record whose bytes
  // there read as that slot's claim for the lap, so the repair wrote a skip header and
  // ABANDONED into the middle of the record, and tryRecv() handed the record out with them.
  // A claim is only ever at a record boundary between T and C.
  it('mpmc: a dead sender\'s intent inside a committed record does not repair the record\'s bytes', () => {
    const { name, u8 } = channels.get(1024)!;
    // R = T = 0, C = 1024: the record fills the ring (lap 0, slot 1); at 256, inside its
    // payload, bytes that read as slot 0's claim. Slot 0: a dead sender whose intent is 256.
    const { image, i32 } = recordWithClaimInside((1 << L.SLOT_SHIFT) | L.REC_COMMITTED);
    i32[L.OFF_CLAIM_POSITION >> 2] = 1024;
    deadSlots(i32, L.KIND_RECEIVER, { kind: L.KIND_SENDER, intent: 256, sizeOrEnd: 16 });
    u8.set(image);
    const outcome = receiveOnce(name);
    // The record is whole, untouched: handed out as the image had it.
    expect(outcome).toBeInstanceOf(Uint8Array);
    expect(Buffer.compare(outcome as Uint8Array, image.subarray(H + 8, H + 1024))).toBe(0);
  });

  // The counterexample itself (seed 2025671398) was the same repair at T: positions a lap
  // apart, T in lap 0 at a unit that reads as a dead sender's claim of lap 0, the ring's
  // records of lap 1 (C more than a ring past R). Abandoning the "claim" at T wrote into the
  // lap-1 record the receiver then handed out. A claim lies in [R, C], and C is never more
  // than a ring past R.
  it('mpmc: a claim at T with C more than a ring past R is not repaired into a record', () => {
    const { name, u8 } = channels.get(1024)!;
    // Lap 1 (positions 1024..2048): the record at ring offset 0. R = T = 256 (lap 0), where its
    // payload reads as slot 0's claim of lap 0; C = 2048. Slot 0's claim runs to the end of
    // the ring, then lap 1.
    const { image, i32 } = recordWithClaimInside(1024 | (1 << L.SLOT_SHIFT) | L.REC_COMMITTED);
    i32[L.OFF_RELEASE_POSITION >> 2] = 256;
    i32[L.OFF_TAKE_POSITION >> 2] = 256;
    i32[L.OFF_CLAIM_POSITION >> 2] = 2048;
    deadSlots(i32, L.KIND_RECEIVER, { kind: L.KIND_SENDER, intent: 256, sizeOrEnd: 768 });
    u8.set(image);
    // Two receivers, as the property had it: the second one reaches the record if anything does.
    const first = receiveOnce(name);
    const second = receiveOnce(name);
    for (const outcome of [first, second]) {
      if (outcome instanceof Error) {
        expect((outcome as RingwireError).code).toBe('ERR_RINGWIRE_CORRUPT');
      } else if (outcome !== undefined) {
        expect(Buffer.compare(outcome, image.subarray(H + 8, H + 1024))).toBe(0);
      }
    }
  });

  // The same question for a dead receiver's taken run (found reading the claim case): its
  // repair releases each record of the run, rewriting the record's body, so a run must start
  // at a record (on the walk from R) and each record must end by T.
  function takenRunImage(intent: number, firstLength: number): { image: Uint8Array; i32: Int32Array } {
    const { image, i32 } = explicitImage(1024, 'mpmc', 1016);
    // R = 0, T = 512, C = 1024. At 0 a committed record of 504 bytes (taken), at 512 another
    // (not taken): payload 0xa5, then 0x3c.
    i32[H >> 2] = firstLength;
    i32[(H >> 2) + 1] = (1 << L.SLOT_SHIFT) | L.REC_COMMITTED;
    image.fill(0xa5, H + 8, H + 512);
    i32[(H + 512) >> 2] = 504;
    i32[((H + 512) >> 2) + 1] = (1 << L.SLOT_SHIFT) | L.REC_COMMITTED;
    image.fill(0x3c, H + 520, H + 1024);
    i32[L.OFF_TAKE_POSITION >> 2] = 512;
    i32[L.OFF_CLAIM_POSITION >> 2] = 1024;
    // Slot 0: a dead receiver whose run is [intent, 512).
    deadSlots(i32, L.KIND_SENDER, { kind: L.KIND_RECEIVER, intent, sizeOrEnd: 512 });
    return { image, i32 };
  }

  it('mpmc: a dead receiver\'s run starting inside a record is not released there', () => {
    const { name, u8 } = channels.get(1024)!;
    const { image, i32 } = takenRunImage(256, 504);
    // At 256, inside the first record's payload, bytes that read as a committed record to T.
    i32[(H + 256) >> 2] = 248;
    i32[((H + 256) >> 2) + 1] = L.REC_COMMITTED;
    u8.set(image);
    const outcome = receiveOnce(name);
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as RingwireError).code).toBe('ERR_RINGWIRE_CORRUPT');
    // Nothing of the record the run would have started inside was rewritten.
    expect(Buffer.compare(u8.subarray(H, H + 512), image.subarray(H, H + 512))).toBe(0);
  });

  it('mpmc: a dead receiver\'s run holding a record that runs past T is not released into what follows', () => {
    const { name, u8 } = channels.get(1024)!;
    // The run's one record says 600 bytes: it would end at 616, inside the record at T.
    const { image } = takenRunImage(0, 600);
    u8.set(image);
    const outcome = receiveOnce(name);
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as RingwireError).code).toBe('ERR_RINGWIRE_CORRUPT');
    expect(Buffer.compare(u8.subarray(H + 512, H + 1024), image.subarray(H + 512, H + 1024))).toBe(0);
  });

  // Found by the property (it aborted the test worker): a peer that scribbles on the unnamed
  // semaphore in a 'semaphore' channel's header makes the next sem_post abort the process
  // (glibc: "The futex facility returned an unexpected error code."): its `private` word picks
  // the futex operation. Run in a child process (dist/ must be built), which must survive.
  it('a scribbled-on semaphore does not kill the process that wakes through it', () => {
    const { name, u8 } = channels.get(1024)!;
    const { image, i32 } = explicitImage(1024, 'spsc', 1 << 20, L.WAIT_SEMAPHORE);
    // The data semaphore: value 0, one waiter, a `private` word no sem_init writes.
    i32[L.OFF_DATA_SEMAPHORE >> 2] = 0;
    i32[(L.OFF_DATA_SEMAPHORE >> 2) + 1] = 1;
    i32[(L.OFF_DATA_SEMAPHORE >> 2) + 2] = 0x5a5a5a5a;
    i32[L.OFF_RECEIVER_WAITERS >> 2] = 1; // a receiver is parked: a send wakes it
    u8.set(image);
    const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', `
      import { openSender } from ${JSON.stringify(dist)};
      const sender = openSender(${JSON.stringify(name)});
      try { sender.trySend(new Uint8Array(8)); } catch (error) { if (!error.code) throw error; }
      sender.close();
      console.log('survived');`], { encoding: 'utf8', timeout: 30_000 });
    expect({ signal: child.signal, status: child.status, stdout: child.stdout.trim(), stderr: child.stderr.trim() })
      .toEqual({ signal: null, status: 0, stdout: 'survived', stderr: '' });
  });

  // Not a failure, but what the property steers around (see build()): a receiver joining a
  // broadcast channel whose intent is more than a ring past the tail waits up to a park slice
  // (1 s) for a sender that might be between two stores, then reports ERR_RINGWIRE_CORRUPT.
  it('broadcast: a join the intent is a ring past reports ERR_RINGWIRE_CORRUPT within a park slice', () => {
    const { name, u8 } = channels.get(1024)!;
    const { image, i32 } = explicitImage(1024, 'broadcast', 1 << 20);
    i32[L.OFF_INTENT_POSITION >> 2] = 4096; // I - P = 4096 > capacity; O = P = 0
    u8.set(image);
    const started = performance.now();
    const outcome = receiveOnce(name);
    const took = performance.now() - started;
    expect((outcome as RingwireError).code).toBe('ERR_RINGWIRE_CORRUPT');
    expect(took).toBeLessThan(L.PARK_SLICE_MS + 1500);
  });

  // Found by the property (seed 353704783, case 55 020, shrunk): on a broadcast channel a
  // scribbled producer position makes the sender write over the record tryRecvInto() is
  // copying (a 1-byte message); the receiver discards that copy and goes on to the next
  // message, an empty one, and returned it with the discarded byte still in the target past
  // it. A message shorter than a discarded copy now waits for the next call (this one
  // returns -1, leaving the discarded copy, as the README says it may).
  it('broadcast: tryRecvInto() after a discarded copy returns no message with part of that copy past it', async () => {
    const counterexample = {
      capacity: 1024, mode: 'broadcast', identity: { wait: 1, spin: false, flags: 6, mms: { k: 'small', v: 1 }, creator: 0, damage: [] },
      seed: 0, background: { header: 'zero', ring: 'zero' }, start: { base: 'zero', units: 0, rand: 0, misalign: 0 },
      records: [
        { t: 'whole', len: { n: 0 }, pad: true, state: -1, slot: 0, lap: 'cur', seq: 'next' },
        { t: 'whole', len: { n: 1 }, pad: true, state: -1, slot: 0, lap: 'cur', seq: 'next' },
        { t: 'pad', state: -1, slot: 0 },
      ],
      positions: { first: { at: 'end', delta: 0 }, second: { at: 'end', delta: 0 }, written: { at: 'end', delta: 0 }, intentExtra: 0 },
      state: 0, senderPid: { pid: 'none' }, receiverPid: { pid: 'dead' }, slots: [], allSlotsDead: false, repairable: false,
      counters: [0, 0], scribbles: [{ near: 'producer', word: 0, value: { abs: 0 } }],
      endpoints: { sender: 'first', receivers: 1, oldest: true, spinMicros: 0 },
      ops: [{ op: 'tryRecv', who: 0 }, { op: 'trySend', len: 0 }, { op: 'tryRecvInto', who: 0, room: 1, at: 0 }], slowOps: [],
    } as unknown as Case;
    await runCase(counterexample, channels.get(1024)!);
  });

  // Found by the property (seed 1551472061, case 42 824, shrunk): an MPMC image with R = T =
  // 1424 and C = 4096, more than a ring past R, and a record of the next lap filling the ring
  // (2040 bytes at position 2048). The receiver read the payload bytes at T as a record of the
  // lap it looked for, took and released it (writing RELEASED into that payload), then handed
  // out the next lap's record with that word in it. A record is taken only with C no more than
  // a ring past T (R <= T <= C <= R + capacity); here the image is ERR_RINGWIRE_CORRUPT.
  it('mpmc: nothing is taken at T when C is more than a ring past it', async () => {
    const counterexample = JSON.parse('{"capacity": 2048, "mode": "mpmc", "identity": {"wait": 2, "spin": true, "flags": 0, "mms": {"k": "default"}, "creator": 0, "damage": []}, "seed": 228383721, "background": {"header": "zero", "ring": "zero"}, "start": {"base": "zero", "units": 178, "rand": 0, "misalign": 0}, "records": [{"t": "whole", "len": {"frac": 44}, "pad": true, "state": -1, "slot": 0, "lap": "cur", "seq": "next"}, {"t": "whole", "len": {"n": 41}, "pad": true, "state": -1, "slot": 0, "lap": "cur", "seq": "next"}, {"t": "whole", "len": {"frac": 225}, "pad": true, "state": -1, "slot": 0, "lap": "cur", "seq": "next"}], "positions": {"first": {"at": "boundary", "f": 0, "delta": 0}, "second": {"at": "abs", "v": 4096, "delta": 0}, "written": {"at": "start", "delta": 0}, "intentExtra": 0}, "state": 0, "senderPid": {"pid": "self"}, "receiverPid": {"pid": "dead"}, "slots": [{"slot": 0, "pid": {"pid": "abs", "v": 0}, "kind": 1, "intent": {"at": "pos", "p": {"at": "end", "delta": 0}}, "size": {"at": "pos", "p": {"at": "end", "delta": 0}}, "cut": 0, "counts": false}], "allSlotsDead": false, "repairable": true, "counters": null, "scribbles": [{"near": "producer", "word": 0, "value": {"abs": 2040}}], "endpoints": {"sender": "none", "receivers": 1, "oldest": true, "spinMicros": 0}, "ops": [], "slowOps": []}') as Case;
    await runCase(counterexample, channels.get(2048)!);
  });

  it(`hands out only messages that were in the ring, or a RingwireError (${CASES} cases)`, async () => {
    const started = performance.now();
    let caseEnd = performance.now();
    try {
      await fc.assert(fc.asyncProperty(caseArb, async (c) => {
        const t0 = performance.now();
        phases.set('generate', (phases.get('generate') ?? 0) + t0 - caseEnd);
        await runCase(c, channels.get(c.capacity)!);
        caseEnd = performance.now();
      }), { numRuns: CASES, seed: SEED, path: PATH, endOnFailure: process.env.RINGWIRE_PROPERTY_SHRINK === '0' });
    } finally {
      // The cost of a case, and what the cases reached (printed on failure too).
      const elapsed = performance.now() - started;
      console.log(`image property: ${stats.cases} cases in ${(elapsed / 1000).toFixed(1)} s `
        + `(${(elapsed * 1000 / Math.max(1, stats.cases)).toFixed(0)} µs a case, ${(stats.cases / (elapsed / 1000)).toFixed(0)} cases/s); `
        + `ms by phase ${JSON.stringify(Object.fromEntries([...phases].map(([k, v]) => [k, Math.round(v)])))}; `
        + `endpoints opened in ${stats.opened}; messages handed out ${stats.delivered} (${stats.assembled} put together from fragments); `
        + `[cases, messages] by mode ${JSON.stringify(Object.fromEntries(byMode))}; `
        + `cases over 100 ms: ${stats.slow} (slowest ${stats.slowest.toFixed(0)} ms); errors by code: ${JSON.stringify(Object.fromEntries(seen))}`);
    }
    if (CASES >= 2000 && PATH === undefined) {
      // The generator reaches the receive paths, not only the open checks.
      expect(stats.delivered).toBeGreaterThan(CASES / 10);
      expect(stats.assembled).toBeGreaterThan(0);
      expect(seen.get('ERR_RINGWIRE_CORRUPT') ?? 0).toBeGreaterThan(CASES / 50);
    }
  }, 900_000);
});
