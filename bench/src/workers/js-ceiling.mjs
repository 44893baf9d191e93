// The JavaScript ceiling: one thread copies the same messages into a ring in a
// SharedArrayBuffer and out again, with the positions in Atomics as ringwire keeps them (a
// seq_cst store to publish, a load to see the peer's). No second process, no validation of a
// peer, no API around it: what the ring's bookkeeping and the copies cost in JS, no more.
//   mode 'single': a store of the producer position per message; the consumer reads in place
//   mode 'batch':  one store per 256 messages on both sides
//   own (S3):      the consumer copies each message out (slice), as tryRecv does
import {
  config, dieOnError, finish, now, onControl, PhaseState, SLICE_MS, tell, yieldToEventLoop,
} from './common.mjs';
import { Checker, writeMessage } from './frames.mjs';

const HEADER = 128; // the two positions on separate cache lines, then the ring
const PRODUCER = 0;
const CONSUMER = 16;
const PADDING = -1;
const PUBLISH_EVERY = 32;
dieOnError('js-ceiling');

function capacityFor(size) {
  let capacity = 1 << 20;
  while (capacity < 8 * (size + 8)) capacity *= 2;
  return capacity;
}

async function run(phase, state, isStopped) {
  const { size, own } = phase;
  const batch = phase.mode === 'batch';
  const capacity = capacityFor(size);
  const mask = capacity - 1;
  const sab = new SharedArrayBuffer(HEADER + capacity);
  const i32 = new Int32Array(sab);
  const u8 = new Uint8Array(sab);
  const record = (4 + size + 7) & ~7;
  const message = new Uint8Array(size);
  const { checker } = state;
  let produced = 0;
  // Positions are int32 and wrap, as ringwire's do.
  let position = 0; // producer
  let cachedConsumer = 0;
  let consumed = 0; // consumer position
  let cachedProducer = 0;
  let unpublished = 0;
  // Each turn the producer writes up to `turn` messages, then the consumer takes all of them.
  const turn = Math.max(1, Math.min(256, (capacity >>> 1) / record | 0));

  const produce = () => {
    for (let k = 0; k < turn; k++) {
      const offset = position & mask;
      const tail = capacity - offset;
      const needed = record <= tail ? record : tail + record;
      if (capacity - ((position - cachedConsumer) | 0) < needed) {
        cachedConsumer = Atomics.load(i32, CONSUMER);
        if (capacity - ((position - cachedConsumer) | 0) < needed) break;
      }
      let at = HEADER + offset;
      if (record > tail) {
        i32[at >> 2] = PADDING;
        position = (position + tail) | 0;
        at = HEADER;
      }
      writeMessage(message, 0, size, produced++);
      i32[at >> 2] = size;
      u8.set(message, at + 4);
      position = (position + record) | 0;
      if (!batch) Atomics.store(i32, PRODUCER, position);
    }
    if (batch) Atomics.store(i32, PRODUCER, position);
  };

  const consume = () => {
    cachedProducer = Atomics.load(i32, PRODUCER);
    while (consumed !== cachedProducer) {
      const offset = consumed & mask;
      const at = HEADER + offset;
      const length = i32[at >> 2];
      if (length === PADDING) {
        consumed = (consumed + capacity - offset) | 0;
        continue;
      }
      if (own) {
        const copy = u8.slice(at + 4, at + 4 + length);
        checker.check(copy, 0, length);
      } else {
        checker.check(u8, at + 4, length);
      }
      consumed = (consumed + ((4 + length + 7) & ~7)) | 0;
      if (!batch && ++unpublished === PUBLISH_EVERY) {
        unpublished = 0;
        Atomics.store(i32, CONSUMER, consumed);
      }
    }
    Atomics.store(i32, CONSUMER, consumed);
  };

  for (;;) {
    const sliceEnd = now() + SLICE_MS;
    do {
      produce();
      consume();
      state.maybeSample();
    } while (now() < sliceEnd);
    if (!state.measuring && isStopped()) break;
    await yieldToEventLoop();
  }
  return produced;
}

config(); // only to fail loudly when not started by the harness: the phases carry the settings
let stopped = false;
let current = null;
onControl((message) => {
  if (message.ctl === 'phase' && message.to === 'consumer') {
    current = new PhaseState(message, Checker);
    stopped = false;
    tell({ ctl: 'armed', from: 'consumer', i: message.i });
  } else if (message.ctl === 'phase') {
    const state = current;
    run(message, state, () => stopped).then((produced) => {
      tell({ ctl: 'done', from: 'producer', i: message.i, sent: produced });
      state.done();
    });
  } else if (message.ctl === 'stop') {
    stopped = true;
  } else if (message.ctl === 'exit' && message.to === 'producer') {
    finish({ ctl: 'bye', from: 'solo' });
  }
});
tell({ ctl: 'ready', from: 'consumer' });
tell({ ctl: 'ready', from: 'producer' });
