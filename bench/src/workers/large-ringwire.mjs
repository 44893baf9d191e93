// S11 over ringwire: messages of megabytes (4 MiB, 64 MiB) through one SPSC channel of 1 MiB,
// so every message goes in fragments (up to a quarter of the ring each) as the receiver frees
// room, and comes out whole. Each phase has its own channel, created and unlinked by the
// harness (harness/phases.mjs: layout 'pair', a channel per phase); this process opens one end.
//
//   producer: one message buffer, every byte written (frames.mjs) with the message's seq,
//             then `await sender.send(message)` (a message longer than a record cannot go by
//             trySend); the buffer is rewritten only once the send settled (it has been
//             copied into the ring by then)
//   consumer: tryRecvInto into one buffer of the message's size it owns and reuses, and
//             `await recvInto()` of the same buffer when nothing whole is there. A 64 MiB
//             message cannot be whole in a 1 MiB ring: tryRecvInto copies the fragments that
//             are there into the receiver's put-together copy and returns -1, and recvInto
//             waits for the rest and copies the message out; the receiver then fills that
//             copy again with the next message, so no memory is new after the first (recv()
//             would hand the copy over instead: a new buffer, its pages faulted in, per
//             message). The 'done' report counts how many messages came each way.
// Every message is checked: length, seq, both stamps, a strided sample of bytes, and every
// byte of one in 16 (SampledChecker).
import { openReceiver, openSender } from 'ringwire';
import {
  config, dieOnError, now, PhaseState, servePhases, SLICE_MS, tell, yieldToEventLoop,
} from './common.mjs';
import { SampledChecker, writeMessage } from './frames.mjs';

const { role } = config();
dieOnError(`ringwire large ${role}`);

async function produce(phase, isStopped) {
  const sender = openSender(phase.target);
  tell({ ctl: 'opened', from: 'producer', i: phase.i }); // both ends open: the harness unlinks the name
  const { size } = phase;
  const message = new Uint8Array(size);
  let sent = 0;
  let sliceEnd = now() + SLICE_MS;
  while (!isStopped()) {
    writeMessage(message, 0, size, sent);
    await sender.send(message);
    sent++;
    // send() waits (on a thread of the addon) whenever the ring is full, which at these sizes
    // is every message; still, hand the event loop a turn now and then for 'stop'.
    if (now() >= sliceEnd) {
      await yieldToEventLoop();
      sliceEnd = now() + SLICE_MS;
    }
  }
  // end() lets the consumer drain what is in the ring and then see the end of the stream.
  await sender.end();
  sender.close();
  tell({ ctl: 'done', from: 'producer', i: phase.i, sent });
}

async function consume(phase) {
  const receiver = openReceiver(phase.target);
  tell({ ctl: 'armed', from: 'consumer', i: phase.i });
  const state = new PhaseState(phase, SampledChecker);
  const { checker } = state;
  const own = new Uint8Array(phase.size).fill(1); // its pages touched now, not in the window
  let into = 0;
  let waited = 0;
  let sliceEnd = now() + SLICE_MS;
  for (;;) {
    let length = receiver.tryRecvInto(own);
    if (length >= 0) {
      into++;
    } else {
      length = await receiver.recvInto(own);
      if (length === null) break;
      waited++;
    }
    checker.check(own, 0, length);
    state.maybeSample();
    if (now() >= sliceEnd) {
      await yieldToEventLoop();
      sliceEnd = now() + SLICE_MS;
    }
  }
  receiver.close();
  state.done({ paths: { tryRecvInto: into, recvInto: waited } });
}

servePhases(role, { produce, consume });
