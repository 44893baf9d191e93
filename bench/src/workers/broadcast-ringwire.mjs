// S10 over ringwire: the sender or one of the receivers of a broadcast channel (overflow
// 'block') the harness creates for each phase (and unlinks once every endpoint is open).
// Every receiver gets every message, in order.
//   mode 'single': trySend / tryRecvInto (a copy into a buffer the receiver owns and reuses)
//   mode 'batch':  trySendMany over arrays of 256 messages (every byte written) / poll (zero-copy views)
// Neither end spins on a full or empty ring: the sender that finds it full awaits send(), a
// receiver that finds it empty awaits recv() (each spins for 50 µs, then parks), so the
// process gives its core to the others (five busy processes share two cores here).
//
// Control, per phase i: 'phase' (receivers open their receiver and start receiving, then the
// sender opens its sender; each says 'armed'), 'go' (the sender sends), 'window' (receivers),
// 'stop' (the sender stops, ends the stream, closes and says 'stopped' with its count); the
// receivers drain what is left, see the end, close and report 'done' with their counts.
import { openReceiver, openSender } from 'ringwire';
import {
  config, dieOnError, FanInState, finish, now, onControl, SLICE_MS, tell, yieldToEventLoop,
} from './common.mjs';
import { Checker, writeMessage } from './frames.mjs';

const BATCH = 256;
const { role, id, mode } = config();
const who = role === 'sender' ? 'sender' : `receiver${id}`;
dieOnError(`ringwire broadcast ${who}`);

/** How often this process found the ring full (sender) or empty (receiver) and awaited, this phase. */
let waits = 0;

async function produce(sender, size, isStopped) {
  let sent = 0;
  if (mode === 'batch') {
    const messages = Array.from({ length: BATCH }, () => new Uint8Array(size));
    let start = BATCH;
    while (!isStopped()) {
      const sliceEnd = now() + SLICE_MS;
      let calls = 0;
      for (;;) {
        if (start === BATCH) {
          for (let k = 0; k < BATCH; k++) writeMessage(messages[k], 0, size, sent + k);
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
  writeMessage(message, 0, size, 0);
  while (!isStopped()) {
    const sliceEnd = now() + SLICE_MS;
    for (;;) {
      if (sender.trySend(message)) {
        writeMessage(message, 0, size, ++sent);
        if ((sent & 1023) === 0 && now() >= sliceEnd) break;
      } else {
        waits++;
        await sender.send(message); // full: the message is copied before this settles
        writeMessage(message, 0, size, ++sent);
        if (now() >= sliceEnd) break;
      }
    }
    await yieldToEventLoop();
  }
  return sent;
}

/** Receives until the stream ends. */
async function consume(receiver, state, size) {
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

if (role === 'sender') {
  /** The phase under way: { i, size, sender, stopped, running }. */
  let phase = null;
  onControl((message) => {
    if (message.ctl === 'phase') {
      waits = 0;
      phase = { i: message.i, size: message.size, sender: openSender(message.target), stopped: false, running: null };
      tell({ ctl: 'armed', from: who, i: message.i });
    } else if (message.ctl === 'go') {
      const p = phase;
      p.running = produce(p.sender, p.size, () => p.stopped);
    } else if (message.ctl === 'stop') {
      const p = phase;
      p.stopped = true;
      p.running.then((sent) => {
        p.sender.end();
        p.sender.close();
        tell({ ctl: 'stopped', from: who, i: p.i, sent, waits });
      });
    } else if (message.ctl === 'exit') {
      finish({ ctl: 'bye', from: who });
    }
  });
  tell({ ctl: 'ready', from: who });
} else {
  let state = null;
  onControl((message) => {
    if (message.ctl === 'phase') {
      waits = 0;
      const receiver = openReceiver(message.target, { from: 'next' });
      const current = new FanInState(who, new Checker(message.size), message.i);
      state = current;
      tell({ ctl: 'armed', from: who, i: message.i });
      consume(receiver, current, message.size).then(() => {
        receiver.close();
        current.done({ waits });
      });
    } else if (message.ctl === 'window') {
      state.window(message.start, message.end);
    } else if (message.ctl === 'exit') {
      finish({ ctl: 'bye', from: who });
    }
  });
  tell({ ctl: 'ready', from: who });
}
