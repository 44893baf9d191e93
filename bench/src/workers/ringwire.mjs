// Throughput over ringwire (S1, S2, S3, S8, S9, S12). Each phase has its own channel (in
// shared memory, or in a file: S12), created and unlinked by the harness; this process opens
// one end of it.
//   mode 'single': trySend / tryRecv (tryRecv returns a copy the consumer owns); with `own`
//                  (S3, S12) tryRecvInto, copying into one buffer the consumer owns and reuses;
//                  with `syncEvery` (S12) the producer awaits sender.sync() after every
//                  syncEvery messages (a durability point of a file-backed channel)
//   mode 'batch':  trySendMany over arrays of 256 messages / poll (zero-copy views)
//   mode 'claim':  tryClaim + every byte written in place, commit() per 256 messages / poll
//
// Both ends use the library as an application would when it cannot make progress, so that
// what is measured is ringwire's own waiting strategy, not a busy loop of the bench's: a
// producer that finds the ring full awaits send() (of the next message), a consumer that
// finds it empty awaits recv() and checks the message it gets. The loops still hand control
// to the event loop every SLICE_MS when they never have to wait, only so that control
// messages ('stop') get through.
import { openReceiver, openSender } from 'ringwire';
import {
  config, dieOnError, now, PhaseState, servePhases, SLICE_MS, tell, yieldToEventLoop,
} from './common.mjs';
import { Checker, writeMessage } from './frames.mjs';

const BATCH = 256;
const { role } = config();
dieOnError(`ringwire ${role}`);

async function produce(phase, isStopped) {
  const sender = openSender(phase.target);
  tell({ ctl: 'opened', from: 'producer', i: phase.i }); // both ends open: the harness unlinks the name
  const { size } = phase;
  let sent = 0;
  if (phase.mode === 'claim') {
    // Zero-copy: the producer writes each message straight into the ring. When the ring is
    // full, the next message goes by send() (a copy), which waits for room.
    const bytes = sender.buffer;
    const spare = new Uint8Array(size);
    while (!isStopped()) {
      const sliceEnd = now() + SLICE_MS;
      for (let calls = 1; ; calls++) {
        let k = 0;
        for (; k < BATCH; k++) {
          const offset = sender.tryClaim(size);
          if (offset < 0) break;
          writeMessage(bytes, offset, size, sent + k);
        }
        if (k !== 0) {
          sender.commit();
          sent += k;
        }
        if (k !== BATCH) {
          writeMessage(spare, 0, size, sent);
          await sender.send(spare); // the bytes are copied before this settles
          sent++;
          if (isStopped()) break;
        }
        if ((calls & 63) === 0 && now() >= sliceEnd) break;
      }
      await yieldToEventLoop();
    }
  } else if (phase.mode === 'batch') {
    const messages = Array.from({ length: BATCH }, () => new Uint8Array(size));
    let start = BATCH;
    while (!isStopped()) {
      const sliceEnd = now() + SLICE_MS;
      for (let calls = 1; ; calls++) {
        if (start === BATCH) {
          // The producer writes every byte of each message of the next array.
          for (let k = 0; k < BATCH; k++) writeMessage(messages[k], 0, size, sent + k);
          start = 0;
        }
        const n = sender.trySendMany(messages, start, BATCH);
        if (n !== 0) {
          start += n;
        } else {
          // Full: wait for room for the next message (the array is not touched meanwhile).
          await sender.send(messages[start]);
          start++;
        }
        if (start === BATCH) sent += BATCH;
        if (isStopped() || ((calls & 63) === 0 && now() >= sliceEnd)) break;
      }
      await yieldToEventLoop();
    }
    sent += start === BATCH ? 0 : start;
  } else {
    // trySend copies the bytes into the ring at once, so one message is reused; send() copies
    // them when it writes, so the message is not touched until it settles.
    const message = new Uint8Array(size);
    const mask = size >= 65536 ? 0 : size >= 4096 ? 63 : 1023;
    const syncEvery = phase.syncEvery ?? 0;
    while (!isStopped()) {
      const sliceEnd = now() + SLICE_MS;
      for (;;) {
        writeMessage(message, 0, size, sent);
        if (!sender.trySend(message)) await sender.send(message);
        sent++;
        if (syncEvery !== 0 && sent % syncEvery === 0) await sender.sync();
        if ((sent & mask) === 0 && now() >= sliceEnd) break;
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
  // After a wait, or every sample interval, the slice may be over: hand the event loop a turn.
  const due = (sliceEnd) => checker.count >= state.nextSample && (state.maybeSample() || now() >= sliceEnd);
  let ended = false;
  if (phase.mode !== 'single') {
    const onMessage = (bytes, offset, length) => checker.check(bytes, offset, length);
    while (!ended) {
      const sliceEnd = now() + SLICE_MS;
      for (;;) {
        if (receiver.poll(onMessage, 1024) === 0) {
          const message = await receiver.recv();
          if (message === null) {
            ended = true;
            break;
          }
          checker.check(message, 0, message.length);
        }
        if (due(sliceEnd)) break;
      }
      if (!ended) await yieldToEventLoop();
    }
  } else if (phase.own) {
    // S3: each message is copied into the consumer's own buffer, reused from one message to
    // the next (as a C consumer would), instead of a new allocation per message.
    const own = new Uint8Array(phase.size);
    while (!ended) {
      const sliceEnd = now() + SLICE_MS;
      for (;;) {
        const length = receiver.tryRecvInto(own);
        if (length >= 0) {
          checker.check(own, 0, length);
        } else {
          const message = await receiver.recv();
          if (message === null) {
            ended = true;
            break;
          }
          checker.check(message, 0, message.length);
        }
        if (due(sliceEnd)) break;
      }
      if (!ended) await yieldToEventLoop();
    }
  } else {
    while (!ended) {
      const sliceEnd = now() + SLICE_MS;
      for (;;) {
        let message = receiver.tryRecv();
        if (message === undefined) message = await receiver.recv();
        if (message === null) {
          ended = true;
          break;
        }
        checker.check(message, 0, message.length);
        if (due(sliceEnd)) break;
      }
      if (!ended) await yieldToEventLoop();
    }
  }
  receiver.close();
  state.done();
}

servePhases(role, { produce, consume });
