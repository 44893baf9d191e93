// S5's baseline: fan-in/fan-out over Unix domain sockets with no broker. Every consumer
// listens on its own socket path; every producer connects to every consumer and sends its
// messages round-robin over its connections (message k on connection k mod n), each with a
// 4-byte length prefix (as workers/stream.mjs frames them). Backpressure is respected: a
// producer whose write() says false waits for that socket's 'drain'.
//   mode 'single': one write() per message
//   mode 'batch':  messages coalesced into ~64 KiB writes, one Coalescer per connection
// Control as in fanout-ringwire.mjs: 'go' to 'stop' ('stopped' with the count, once an
// END_OF_PHASE prefix went out on every connection), 'finish' ('done'); a consumer reports
// 'done' with its tallies once every connection has brought its END_OF_PHASE.
import { Buffer } from 'node:buffer';
import net from 'node:net';
import {
  config, dieOnError, FanInState, finish, now, onControl, SLICE_MS, tell,
} from './common.mjs';
import {
  Coalescer, FanInChecker, FrameParser, LENGTH_PREFIX, prefix, writeMessage,
} from './frames.mjs';

const { role, id, paths, mode, size, senders } = config();
const who = `${role}${id}`;
dieOnError(`uds fan-out ${who}`);

function fail(error) {
  console.error(`uds fan-out ${who}: ${error.message}`);
  process.exit(1);
}

async function produce() {
  const sockets = await Promise.all(paths.map((file) => new Promise((resolve, reject) => {
    const socket = net.createConnection(file);
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  })));
  for (const socket of sockets) socket.on('error', fail);
  const n = sockets.length;
  const coalescers = mode === 'batch' ? sockets.map(() => new Coalescer(size, id)) : null;
  let seq = 0;
  let stopped = false;
  let stoppedSent = -1;
  /** How often a write() said false and the producer waited for 'drain'. */
  let waits = 0;

  /** Waits for 'drain' on every socket whose write said false, then pumps on. */
  function waitForDrain(full) {
    waits++;
    let waiting = full.length;
    for (const socket of full) {
      socket.once('drain', () => {
        if (--waiting === 0) pump();
      });
    }
  }

  function pump() {
    if (stopped) return endPhase();
    const sliceEnd = now() + SLICE_MS;
    for (let k = 1; ; k++) {
      if (coalescers !== null) {
        // Message k to connection k mod n, in whole rounds (so every buffer holds as much as
        // the first) until the buffers are full; then one write per socket.
        do {
          for (let c = 0; c < n; c++) coalescers[c].add(seq++);
        } while (coalescers[0].fits);
        const full = [];
        for (let c = 0; c < n; c++) if (!coalescers[c].flush(sockets[c])) full.push(sockets[c]);
        if (full.length !== 0) return waitForDrain(full);
      } else {
        const frame = Buffer.allocUnsafe(LENGTH_PREFIX + size);
        prefix(frame, 0, size);
        writeMessage(frame, LENGTH_PREFIX, size, seq, id);
        const socket = sockets[seq % n];
        seq++;
        if (!socket.write(frame)) return waitForDrain([socket]);
      }
      // If the kernel keeps taking everything, write() never says false: yield anyway.
      if ((k & 255) === 0 && now() >= sliceEnd) {
        setImmediate(pump);
        return;
      }
    }
  }

  function endPhase() {
    if (stoppedSent >= 0) return;
    stoppedSent = seq;
    let left = n;
    const end = Buffer.alloc(LENGTH_PREFIX, 0xff);
    for (const socket of sockets) {
      socket.write(end, () => {
        if (--left === 0) tell({ ctl: 'stopped', from: who, sent: stoppedSent, waits });
      });
    }
  }

  onControl((message) => {
    if (message.ctl === 'go') {
      pump();
    } else if (message.ctl === 'stop') {
      // The pump sees it at its next turn (after a yield or a 'drain': the consumers keep
      // reading, so the drain comes).
      stopped = true;
    } else if (message.ctl === 'finish') {
      tell({ ctl: 'done', from: who });
    } else if (message.ctl === 'exit') {
      // Every message is delivered and counted by now; the consumers close their ends too.
      for (const socket of sockets) socket.destroy();
      finish({ ctl: 'bye', from: who });
    }
  });
  tell({ ctl: 'ready', from: who });
}

function consume() {
  const state = new FanInState(who, new FanInChecker(size, senders));
  const { checker } = state;
  const onMessage = (bytes, offset, length) => checker.check(bytes, offset, length);
  const sockets = [];
  let ends = 0;
  const server = net.createServer((socket) => {
    sockets.push(socket);
    if (sockets.length === senders) server.close(); // one connection from every producer
    const parser = new FrameParser(onMessage, () => {
      if (++ends === senders) state.done();
    });
    socket.on('data', (chunk) => {
      parser.push(chunk);
      state.maybeSample();
    });
    socket.on('error', fail);
  });
  server.on('error', fail);
  onControl((message) => {
    if (message.ctl === 'window') {
      state.window(message.start, message.end);
    } else if (message.ctl === 'exit') {
      for (const socket of sockets) socket.destroy();
      finish({ ctl: 'bye', from: who });
    }
  });
  server.listen(paths[id], () => tell({ ctl: 'ready', from: who }));
}

if (role === 'producer') await produce();
else consume();
