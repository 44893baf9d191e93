// S4 over ringwire: round trips of a 64-byte message between two processes over two
// channels (ping: ping -> pong, pong: pong -> ping). The pong side echoes what it received;
// the ping side times each round trip. Variants:
//   spin        endpoints opened with { wait: 'spin' }; busy trySend / tryRecv
//   park-sync   { spinMicros: 0 }; sendSync / recvSync (the thread blocks on the futex)
//   park-async  { spinMicros: 0 }; await send() / await recv() (parks on the native waiter)
//   default     default options; await send() / await recv()
import { openReceiver, openSender } from 'ringwire';
import { config, dieOnError, finish, now, tell } from './common.mjs';
import { Checker, seqOf, writeMessage, STOP_SEQ } from './frames.mjs';

const SIZE = 64;
const { role, variant, channels, warmup, warmupMs, iterations } = config();
dieOnError(`ringwire ${variant} ${role}`);

const options = variant === 'spin' ? { wait: 'spin' }
  : variant === 'default' ? undefined : { spinMicros: 0 };

// Busy and blocking loops cannot hear the harness go away: give up if the peer is silent
// this long (the harness kills us much sooner if anything goes wrong while it lives).
const STALL_MS = 30000;
const sync = { timeout: STALL_MS };

function stalled() {
  console.error(`ringwire ${variant} ${role}: no progress for ${STALL_MS} ms`);
  process.exit(1);
}

function spinRecv(receiver) {
  let misses = 0;
  let since = 0;
  for (;;) {
    const message = receiver.tryRecv();
    if (message !== undefined) return message;
    if ((++misses & 0xffff) === 0) {
      if (since === 0) since = now();
      else if (now() - since > STALL_MS) stalled();
    }
  }
}

function spinSend(sender, message) {
  while (!sender.trySend(message));
}

/** One exchange for this variant: send then receive (ping) or receive then send (pong). */
function exchanger(sender, receiver) {
  if (variant === 'spin') {
    return {
      ping(message) {
        spinSend(sender, message);
        return spinRecv(receiver);
      },
      pong() {
        const message = spinRecv(receiver);
        spinSend(sender, message);
        return message;
      },
    };
  }
  if (variant === 'park-sync') {
    return {
      ping(message) {
        sender.sendSync(message, sync);
        return receiver.recvSync(sync);
      },
      pong() {
        const message = receiver.recvSync(sync);
        sender.sendSync(message, sync);
        return message;
      },
    };
  }
  return {
    async ping(message) {
      await sender.send(message);
      return receiver.recv();
    },
    async pong() {
      const message = await receiver.recv();
      await sender.send(message);
      return message;
    },
  };
}

const checker = new Checker(SIZE);
// Sync variants run without await: an await on a plain value would add a microtask turn.
const isSync = variant === 'spin' || variant === 'park-sync';

if (role === 'pong') {
  const receiver = openReceiver(channels.ping, options);
  const sender = openSender(channels.pong, options);
  const { pong } = exchanger(sender, receiver);
  tell({ ctl: 'ready', from: 'pong' });
  // Echo until the ping side's STOP message (echoed too, so that its last receive completes).
  for (;;) {
    const message = isSync ? pong() : await pong();
    if (seqOf(message, 0) === STOP_SEQ) break;
    checker.check(message, 0, message.length);
  }
  sender.close();
  receiver.close();
  finish({ ctl: 'done', from: 'pong', received: checker.count, bad: checker.bad });
} else {
  const sender = openSender(channels.ping, options);
  const receiver = openReceiver(channels.pong, options);
  tell({ ctl: 'ready', from: 'ping' }); // all four ends open: the harness unlinks the names
  const { ping } = exchanger(sender, receiver);
  const frame = new Uint8Array(SIZE);
  const samples = new Float64Array(iterations);
  // Warm up for at least `warmup` round trips and `warmupMs`: until the JIT has settled, the
  // tail is compilation, not the channel.
  const warmEnd = now() + warmupMs;
  let warm = 0;
  for (let n = 0, k = 0; k < iterations; n++) {
    writeMessage(frame, 0, SIZE, n);
    const start = now();
    const reply = isSync ? ping(frame) : await ping(frame);
    const end = now();
    checker.check(reply, 0, reply.length);
    if (warm < warmup || end < warmEnd) warm++;
    else samples[k++] = (end - start) * 1000;
  }
  writeMessage(frame, 0, SIZE, STOP_SEQ);
  if (isSync) ping(frame);
  else await ping(frame);
  sender.close();
  receiver.close();
  finish({ ctl: 'result', from: 'ping', samples: Array.from(samples), warm, received: checker.count, bad: checker.bad });
}
