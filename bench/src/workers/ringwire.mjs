// Throughput over ringwire (S1, S2, S3). Each phase has its own channel, created and
// unlinked by the harness; this process opens one end of it.
//   mode 'single': trySend / tryRecv busy loops (tryRecv returns a copy the consumer owns);
//                  in S3 tryRecvInto, copying into one buffer the consumer owns and reuses
//   mode 'batch':  trySendMany over arrays of 256 pre-stamped messages / poll (zero-copy views)
//   mode 'claim':  tryClaim + stamping in place, commit() per 256 messages / poll
import { openReceiver, openSender } from 'ringwire';
import {
  config, dieOnError, finish, now, onControl, PhaseState, SLICE_MS, tell, yieldToEventLoop,
} from './common.mjs';
import { Checker, stamp } from './frames.mjs';

const BATCH = 256;
const { role } = config();
dieOnError(`ringwire ${role}`);

async function produce(phase, isStopped) {
  const sender = openSender(phase.target);
  tell({ ctl: 'opened', from: 'producer', i: phase.i }); // both ends open: the harness unlinks the name
  const { size } = phase;
  let sent = 0;
  if (phase.mode === 'claim') {
    // Zero-copy: the producer writes each message straight into the ring.
    const bytes = sender.buffer;
    while (!isStopped()) {
      const sliceEnd = now() + SLICE_MS;
      let calls = 0;
      for (;;) {
        let k = 0;
        for (; k < BATCH; k++) {
          const offset = sender.tryClaim(size);
          if (offset < 0) break;
          stamp(bytes, offset, size, sent + k);
        }
        if (k !== 0) {
          sender.commit();
          sent += k;
        }
        if ((++calls & 63) === 0 && now() >= sliceEnd) break;
      }
      await yieldToEventLoop();
    }
  } else if (phase.mode === 'batch') {
    const messages = Array.from({ length: BATCH }, () => new Uint8Array(size));
    let start = BATCH;
    while (!isStopped()) {
      const sliceEnd = now() + SLICE_MS;
      let calls = 0;
      for (;;) {
        if (start === BATCH) {
          // The producer writes the seq into each message of the next array.
          for (let k = 0; k < BATCH; k++) stamp(messages[k], 0, size, sent + k);
          start = 0;
        }
        start += sender.trySendMany(messages, start, BATCH);
        if (start === BATCH) sent += BATCH;
        if ((++calls & 63) === 0 && now() >= sliceEnd) break;
      }
      await yieldToEventLoop();
    }
    sent += start === BATCH ? 0 : start;
  } else {
    // trySend copies the bytes into the ring, so one message is reused throughout.
    const message = new Uint8Array(size);
    stamp(message, 0, size, 0);
    const mask = size >= 65536 ? 0 : 1023;
    while (!isStopped()) {
      const sliceEnd = now() + SLICE_MS;
      let misses = 0;
      for (;;) {
        if (sender.trySend(message)) {
          stamp(message, 0, size, ++sent);
          if ((sent & mask) === 0 && now() >= sliceEnd) break;
        } else if ((++misses & 1023) === 0 && now() >= sliceEnd) {
          break;
        }
      }
      await yieldToEventLoop();
    }
  }
  // end() lets the consumer drain what is in the ring and then see the end of the stream.
  sender.end();
  sender.close();
  tell({ ctl: 'done', from: 'producer', i: phase.i, sent });
}

async function consume(phase) {
  const receiver = openReceiver(phase.target);
  tell({ ctl: 'armed', from: 'consumer', i: phase.i });
  const state = new PhaseState(phase, Checker);
  const { checker } = state;
  if (phase.mode !== 'single') {
    const onMessage = (bytes, offset, length) => checker.check(bytes, offset, length);
    for (;;) {
      const sliceEnd = now() + SLICE_MS;
      let polls = 0;
      for (;;) {
        if (receiver.poll(onMessage, 1024) === 0 && !state.measuring && receiver.ended) break;
        state.maybeSample();
        if ((++polls & 63) === 0 && now() >= sliceEnd) break;
      }
      if (!state.measuring && receiver.ended) break;
      await yieldToEventLoop();
    }
  } else if (phase.own) {
    // S3: each message is copied into the consumer's own buffer, reused from one message to
    // the next (as a C consumer would), instead of a new allocation per message.
    const own = new Uint8Array(phase.size);
    for (;;) {
      const sliceEnd = now() + SLICE_MS;
      let misses = 0;
      for (;;) {
        const length = receiver.tryRecvInto(own);
        if (length < 0) {
          if (!state.measuring && receiver.ended) break;
          if ((++misses & 1023) === 0 && now() >= sliceEnd) break;
          continue;
        }
        checker.check(own, 0, length);
        if (checker.count >= state.nextSample && (state.maybeSample() || now() >= sliceEnd)) break;
      }
      if (!state.measuring && receiver.ended) break;
      await yieldToEventLoop();
    }
  } else {
    for (;;) {
      const sliceEnd = now() + SLICE_MS;
      let misses = 0;
      for (;;) {
        const message = receiver.tryRecv();
        if (message === undefined) {
          if (!state.measuring && receiver.ended) break;
          if ((++misses & 1023) === 0 && now() >= sliceEnd) break;
          continue;
        }
        checker.check(message, 0, message.length);
        if (checker.count >= state.nextSample && (state.maybeSample() || now() >= sliceEnd)) break;
      }
      if (!state.measuring && receiver.ended) break;
      await yieldToEventLoop();
    }
  }
  receiver.close();
  state.done();
}

// The harness sends one phase at a time; each runs to its end before the next.
let stopped = false;
onControl((message) => {
  if (message.ctl === 'phase') {
    stopped = false;
    if (role === 'producer') produce(message, () => stopped);
    else consume(message);
  } else if (message.ctl === 'stop') {
    stopped = true;
  } else if (message.ctl === 'exit') {
    finish({ ctl: 'bye', from: role });
  }
});
tell({ ctl: 'ready', from: role });
