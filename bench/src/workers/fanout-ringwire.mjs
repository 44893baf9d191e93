// S5 over ringwire: one of the producers or consumers of an mpmc channel the harness created
// (and unlinks once every endpoint is open). Each message goes to exactly one consumer; a
// producer's messages stay in order.
//   mode 'single': trySend / tryRecvInto (a copy into a buffer the consumer owns and reuses)
//   mode 'batch':  trySendMany over arrays of 256 messages (every byte written) / poll (zero-copy views)
// Neither end spins on a full or empty ring: a producer that finds it full awaits send(), a
// consumer that finds it empty awaits recv() (each spins for 50 µs, then parks), so the
// process gives its core to the others (four busy processes share two cores here).
//
// Control: consumers start receiving at once; producers open their sender, say 'ready', and
// send from 'go' to 'stop' ('stopped' with the count). Once every producer has stopped,
// 'finish' ends the channel (end() ends it for every endpoint) and closes; the consumers
// drain what is left, see the end and report 'done' with their tallies.
import { openReceiver, openSender } from 'ringwire';
import {
  config, dieOnError, FanInState, finish, now, onControl, SLICE_MS, tell, yieldToEventLoop,
} from './common.mjs';
import { FanInChecker, writeMessage } from './frames.mjs';

const BATCH = 256;
const { role, id, target, mode, size, senders } = config();
const who = `${role}${id}`;
dieOnError(`ringwire fan-out ${who}`);

/** How often this process found the ring full (producer) or empty (consumer) and awaited. */
let waits = 0;

async function produce(sender, isStopped) {
  let sent = 0;
  if (mode === 'batch') {
    const messages = Array.from({ length: BATCH }, () => new Uint8Array(size));
    let start = BATCH;
    while (!isStopped()) {
      const sliceEnd = now() + SLICE_MS;
      let calls = 0;
      for (;;) {
        if (start === BATCH) {
          for (let k = 0; k < BATCH; k++) writeMessage(messages[k], 0, size, sent + k, id);
          start = 0;
        }
        const n = sender.trySendMany(messages, start, BATCH);
        if (n !== 0) {
          start += n;
        } else {
          // Full: wait for room for the next message (the array is not touched meanwhile).
          waits++;
          await sender.send(messages[start]);
          start++;
          calls = 63;
        }
        if (start === BATCH) sent += BATCH;
        if ((++calls & 63) === 0 && now() >= sliceEnd) break;
      }
      await yieldToEventLoop();
    }
    return sent + (start === BATCH ? 0 : start);
  }
  // trySend copies the bytes into the ring, so one message is reused throughout.
  const message = new Uint8Array(size);
  writeMessage(message, 0, size, 0, id);
  while (!isStopped()) {
    const sliceEnd = now() + SLICE_MS;
    for (;;) {
      if (sender.trySend(message)) {
        writeMessage(message, 0, size, ++sent, id);
        if ((sent & 1023) === 0 && now() >= sliceEnd) break;
      } else {
        waits++;
        await sender.send(message); // full: the message is copied before this settles
        writeMessage(message, 0, size, ++sent, id);
        if (now() >= sliceEnd) break;
      }
    }
    await yieldToEventLoop();
  }
  return sent;
}

async function consume(receiver, state) {
  const { checker } = state;
  const onMessage = (bytes, offset, length) => checker.check(bytes, offset, length);
  const own = new Uint8Array(size);
  for (;;) {
    const sliceEnd = now() + SLICE_MS;
    let polls = 0;
    for (;;) {
      if (mode === 'batch') {
        if (receiver.poll(onMessage, 1024) !== 0) {
          state.maybeSample();
          if ((++polls & 15) === 0 && now() >= sliceEnd) break;
          continue;
        }
      } else {
        const length = receiver.tryRecvInto(own);
        if (length >= 0) {
          checker.check(own, 0, length);
          if (checker.count >= state.nextSample && (state.maybeSample() || now() >= sliceEnd)) break;
          continue;
        }
      }
      // Empty: wait for a message (or the end) instead of spinning on.
      waits++;
      const message = await receiver.recv();
      if (message === null) return;
      checker.check(message, 0, message.length);
      state.maybeSample();
      if (now() >= sliceEnd) break;
    }
    await yieldToEventLoop();
  }
}

if (role === 'producer') {
  const sender = openSender(target);
  let stopped = false;
  let running = null;
  onControl((message) => {
    if (message.ctl === 'go') {
      running = produce(sender, () => stopped);
    } else if (message.ctl === 'stop') {
      stopped = true;
      running.then((sent) => tell({ ctl: 'stopped', from: who, sent, waits }));
    } else if (message.ctl === 'finish') {
      sender.end();
      sender.close();
      tell({ ctl: 'done', from: who });
    } else if (message.ctl === 'exit') {
      finish({ ctl: 'bye', from: who });
    }
  });
  tell({ ctl: 'ready', from: who });
} else {
  const receiver = openReceiver(target);
  const state = new FanInState(who, new FanInChecker(size, senders));
  onControl((message) => {
    if (message.ctl === 'window') state.window(message.start, message.end);
    else if (message.ctl === 'exit') finish({ ctl: 'bye', from: who });
  });
  tell({ ctl: 'ready', from: who });
  await consume(receiver, state);
  receiver.close();
  state.done({ waits });
}
