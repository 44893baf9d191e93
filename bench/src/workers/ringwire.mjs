// S1 over ringwire: per-message trySend / tryRecv, busy-retrying when the ring is full or
// empty. The harness created the channel and unlinks it; this process only opens one end.
import { performance } from 'node:perf_hooks';
import { openReceiver, openSender } from 'ringwire';
import {
  Checker, finish, FRAME_SIZE, Meter, onStop, settings, SLICE_MS, stamp, tell, yieldToEventLoop,
} from './common.mjs';

const { role, target: channel, warmupMs, measureMs } = settings();

async function produce() {
  const sender = openSender(channel);
  let stopped = false;
  onStop(() => { stopped = true; });
  tell({ type: 'ready' });
  // trySend copies the bytes into the ring, so one frame is reused for every message.
  const frame = new Uint8Array(FRAME_SIZE);
  let seq = 0;
  stamp(frame, seq);
  while (!stopped) {
    const sliceEnd = performance.now() + SLICE_MS;
    let misses = 0;
    for (;;) {
      if (sender.trySend(frame)) {
        stamp(frame, ++seq);
        // Reading the clock costs about as much as a send: only every 1024 messages.
        if ((seq & 1023) === 0 && performance.now() >= sliceEnd) break;
      } else if ((++misses & 1023) === 0 && performance.now() >= sliceEnd) {
        break;
      }
    }
    await yieldToEventLoop();
  }
  // end() lets the consumer drain what is in the ring and then see the end of the stream.
  sender.end();
  sender.close();
  finish({ type: 'done', sent: seq });
}

async function consume() {
  const receiver = openReceiver(channel);
  tell({ type: 'ready' });
  const checker = new Checker();
  const meter = new Meter(warmupMs, measureMs);
  let measuring = true;
  while (measuring) {
    const sliceEnd = performance.now() + SLICE_MS;
    let misses = 0;
    for (;;) {
      const message = receiver.tryRecv();
      if (message === undefined) {
        if ((++misses & 1023) === 0 && performance.now() >= sliceEnd) break;
        continue;
      }
      checker.check(message, 0);
      if ((checker.count & 1023) === 0) {
        if (meter.sample(checker.count)) {
          measuring = false;
          break;
        }
        if (performance.now() >= sliceEnd) break;
      }
    }
    await yieldToEventLoop();
  }
  tell({ type: 'result', ...meter.result(), bad: checker.bad });
  // The window is over; the harness now stops the producer. Drain to the end of the stream
  // with the async iterator (it parks instead of spinning) to check every message arrived.
  for await (const message of receiver) checker.check(message, 0);
  receiver.close();
  finish({ type: 'done', received: checker.count, bad: checker.bad });
}

await (role === 'producer' ? produce() : consume());
