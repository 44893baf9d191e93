// A hostile peer, at random: live channels of both modes get random words of their header,
// their endpoint slots and their ring overwritten, then endpoints old and new go on working
// on them. Whatever happens, every error thrown is a RingwireError with a known code (or an
// AbortError) — never a RangeError or TypeError from reading where the segment pointed — and
// nothing hangs: every wait has a zero timeout. The codes seen are counted, so a change that
// turns everything into one code shows.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createChannel, gc, openReceiver, openSender, RingwireError, stats, unlinkChannel, type Receiver, type Sender,
} from '../src/index.js';
import { layout, native } from '../src/native.js';
import { freshName } from './helpers.js';

const CODES = new Set([
  'ERR_RINGWIRE_EXISTS', 'ERR_RINGWIRE_NOT_FOUND', 'ERR_RINGWIRE_INVALID_NAME', 'ERR_RINGWIRE_INVALID_ARG',
  'ERR_RINGWIRE_INCOMPATIBLE', 'ERR_RINGWIRE_CORRUPT', 'ERR_RINGWIRE_TOO_LARGE', 'ERR_RINGWIRE_TIMEOUT',
  'ERR_RINGWIRE_CLOSED', 'ERR_RINGWIRE_BUSY', 'ERR_RINGWIRE_PERMISSION', 'ERR_RINGWIRE_PEER_DEAD',
  'ERR_RINGWIRE_SYSTEM', 'ERR_RINGWIRE_NO_SPACE', 'ERR_RINGWIRE_CUT_OFF',
]);
const CAPACITY = 1024;
const ROUNDS = Number(process.env.RINGWIRE_HOSTILE_ROUNDS ?? 3000);

/** Every mutable word of the header a peer could scribble on (byte offsets). */
const slot = (s: number, field: number) => layout.OFF_SLOTS + s * layout.SLOT_SIZE + field;
const HEADER_TARGETS = [
  layout.OFF_PRODUCER_POSITION, layout.OFF_CONSUMER_POSITION, layout.OFF_RELEASE_POSITION,
  layout.OFF_DATA_SIGNAL, layout.OFF_RECEIVER_WAITERS, layout.OFF_RECEIVER_WAITERS_HIGH,
  layout.OFF_SPACE_SIGNAL, layout.OFF_SENDER_WAITERS, layout.OFF_SENDER_WAITERS_HIGH,
  layout.OFF_STATE, layout.OFF_SENDER_PID, layout.OFF_RECEIVER_PID, layout.OFF_SENDER_THREAD,
  layout.OFF_DELIVERED_POSITION, layout.OFF_MESSAGES_SENT + 4, layout.OFF_MESSAGES_RECEIVED + 4,
  layout.OFF_CAPACITY, layout.OFF_MAX_MESSAGE,
  ...[0, 1, 2, 3, 47].flatMap((s) => [layout.SLOT_PID, layout.SLOT_KIND, layout.SLOT_INTENT,
    layout.SLOT_SIZE_OR_END, layout.SLOT_MESSAGES + 4, layout.SLOT_CUT].map((f) => slot(s, f))),
  // Broadcast reads the consumer line as O and the delivered line as I (listed above).
];
const RING_TARGETS = Array.from({ length: CAPACITY / 4 }, (_, k) => layout.HEADER_SIZE + 4 * k);
/** The record header words at (or just after) where a position points now. */
const POSITIONS = {
  producer: layout.OFF_PRODUCER_POSITION, consumer: layout.OFF_CONSUMER_POSITION, release: layout.OFF_RELEASE_POSITION,
  intent: layout.OFF_INTENT_POSITION,
};

// Values that sit on the edges the code checks: around the ring's end, lap boundaries,
// alignment, sign, and the record header encodings.
const EDGE_VALUES = [0, 1, 3, 4, 7, 8, CAPACITY - 8, CAPACITY - 4, CAPACITY, CAPACITY + 4, CAPACITY * 2 - 4,
  0x7ffffff8, 0x7fffffff, 0x80000000, 0x80000008, 0xfffffffc, 0xffffffff, layout.SKIP | 8, layout.SKIP | CAPACITY,
  layout.PADDING_LENGTH, layout.REC_CLAIMED, layout.REC_COMMITTED, layout.REC_RELEASED, layout.REC_ABANDONED,
  (47 << layout.SLOT_SHIFT) | layout.REC_CLAIMED, (63 << layout.SLOT_SHIFT) | layout.REC_COMMITTED,
  CAPACITY | layout.REC_COMMITTED, CAPACITY | layout.REC_RELEASED, layout.KIND_SENDER, layout.KIND_RECEIVER];
const DELTAS = [-CAPACITY, -8, -4, 4, 8, 12, CAPACITY - 4, CAPACITY, CAPACITY + 8, 0x40000000, 0x80000000];

const scribble = fc.record({
  target: fc.oneof(
    fc.constantFrom(...HEADER_TARGETS).map((offset) => ({ offset })),
    fc.constantFrom(...RING_TARGETS).map((offset) => ({ offset })),
    fc.record({ at: fc.constantFrom(...Object.values(POSITIONS)), word: fc.constantFrom(0, 4, 8, 12) }),
  ),
  value: fc.oneof(
    fc.constantFrom(...EDGE_VALUES).map((v) => ({ absolute: v })),
    fc.integer({ min: 0, max: 0xffffffff }).map((v) => ({ absolute: v })),
    fc.constantFrom(...DELTAS).map((d) => ({ delta: d })),
  ),
});
const size = fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: CAPACITY }));
const op = fc.oneof(
  fc.record({ op: fc.constant('trySend' as const), size, who: fc.nat(3) }),
  fc.record({ op: fc.constant('trySendMany' as const), sizes: fc.array(size, { maxLength: 6 }), who: fc.nat(3) }),
  fc.record({ op: fc.constant('claim' as const), size, who: fc.nat(3) }),
  fc.record({ op: fc.constant('sendSync' as const), size, who: fc.nat(3) }),
  fc.record({ op: fc.constant('tryRecv' as const), who: fc.nat(3) }),
  fc.record({ op: fc.constant('tryRecvInto' as const), room: size, who: fc.nat(3) }),
  fc.record({ op: fc.constant('poll' as const), limit: fc.nat(8), who: fc.nat(3) }),
  fc.record({ op: fc.constant('recvSync' as const), who: fc.nat(3) }),
  fc.record({ op: fc.constant('ended' as const), who: fc.nat(3) }),
  fc.record({ op: fc.constant('end' as const), who: fc.nat(3) }),
  fc.record({ op: fc.constant('close' as const), who: fc.nat(3) }),
  fc.record({ op: fc.constant('openSender' as const) }),
  fc.record({ op: fc.constant('openReceiver' as const) }),
  fc.record({ op: fc.constant('stats' as const) }),
  fc.record({ op: fc.constant('gc' as const) }),
);
const round = fc.record({
  mode: fc.constantFrom('spsc' as const, 'mpmc' as const, 'broadcast' as const, 'broadcast-drop' as const),
  traffic: fc.array(size, { maxLength: 12 }),
  taken: fc.nat(12),
  scribbles: fc.array(scribble, { minLength: 1, maxLength: 4 }),
  ops: fc.array(op, { minLength: 1, maxLength: 12 }),
});

describe('a hostile peer scribbling at random on a live channel', () => {
  it(`every outcome is a message, "nothing now", or a RingwireError with a code (${ROUNDS} rounds)`, () => {
    const seen = new Map<string, number>();
    const expected = (error: unknown): void => {
      const code = (error as { code?: string }).code;
      const ok = (error instanceof RingwireError && CODES.has(code!))
        || (error instanceof Error && error.name === 'AbortError');
      if (!ok) throw error; // fails the property, with the round that caused it
      seen.set(code!, (seen.get(code!) ?? 0) + 1);
    };
    const attempt = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        expected(error);
      }
    };
    fc.assert(fc.property(round, ({ mode, traffic, taken, scribbles, ops }) => {
      const name = freshName('h');
      createChannel(name, mode === 'broadcast-drop' ? { capacity: CAPACITY, mode: 'broadcast', overflow: 'drop' }
        : { capacity: CAPACITY, mode });
      const senders: Sender[] = [];
      const receivers: Receiver[] = [];
      const raw = new native.Segment(name);
      try {
        senders.push(openSender(name));
        receivers.push(openReceiver(name));
        if (mode === 'mpmc') senders.push(openSender(name));
        if (mode !== 'spsc') receivers.push(openReceiver(name, mode === 'mpmc' ? {} : { from: 'oldest' }));
        traffic.forEach((length, i) => senders[i % senders.length].trySend(new Uint8Array(length).fill(i)));
        for (let i = 0; i < taken; i++) receivers[i % receivers.length].tryRecv();
        const words = new Int32Array(raw.buffer);
        for (const { target, value } of scribbles) {
          const offset = 'offset' in target ? target.offset
            : layout.HEADER_SIZE + ((Atomics.load(words, target.at >> 2) + target.word) & (CAPACITY - 4));
          const current = Atomics.load(words, offset >> 2);
          Atomics.store(words, offset >> 2, 'absolute' in value ? value.absolute | 0 : (current + value.delta) | 0);
        }
        const sender = (who: number) => senders[who % senders.length];
        const receiver = (who: number) => receivers[who % receivers.length];
        const into = new Uint8Array(CAPACITY);
        for (const step of ops) {
          attempt(() => {
            switch (step.op) {
              case 'trySend': return sender(step.who)?.trySend(new Uint8Array(step.size).fill(7));
              case 'trySendMany': return sender(step.who)?.trySendMany(step.sizes.map((n) => new Uint8Array(n)));
              case 'claim': {
                const s = sender(step.who);
                if (s === undefined) return;
                const at = s.tryClaim(step.size);
                if (at >= 0) s.buffer.fill(9, at, at + step.size);
                return s.commit();
              }
              case 'sendSync': return sender(step.who)?.sendSync(new Uint8Array(step.size), { timeout: 0 });
              case 'tryRecv': return receiver(step.who)?.tryRecv();
              case 'tryRecvInto': return receiver(step.who)?.tryRecvInto(into.subarray(0, step.room));
              case 'poll': return receiver(step.who)?.poll((bytes, offset, length) => bytes[offset + length - 1], step.limit);
              case 'recvSync': return receiver(step.who)?.recvSync({ timeout: 0 });
              case 'ended': return receiver(step.who)?.ended;
              case 'end': return sender(step.who)?.end();
              case 'close': {
                const list = step.who % 2 === 0 ? senders : receivers;
                return list.splice(step.who % Math.max(1, list.length), 1)[0]?.close();
              }
              case 'openSender': return senders.push(openSender(name));
              case 'openReceiver': return receivers.push(openReceiver(name));
              case 'stats': return stats(name);
              case 'gc': return gc({ prefix: name });
            }
          });
        }
      } catch (error) {
        expected(error); // opening, traffic or scribbling a fresh channel
      } finally {
        for (const endpoint of [...senders, ...receivers]) attempt(() => endpoint.close());
        raw.close();
        unlinkChannel(name);
      }
    }), { numRuns: ROUNDS });
    // Hostile bytes were noticed, not only shrugged off.
    expect(seen.get('ERR_RINGWIRE_CORRUPT') ?? 0).toBeGreaterThan(ROUNDS / 20);
    console.log(`hostile rounds: ${ROUNDS}; errors by code: ${JSON.stringify(Object.fromEntries(seen))}`);
  }, 300_000);
});
