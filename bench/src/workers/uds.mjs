// S1 over a Unix domain socket, the baseline: one socket.write() per 64-byte frame with
// backpressure respected, and a consumer that cuts fixed 64-byte frames out of the 'data'
// chunks. The consumer listens on the socket path (the harness removes the file afterwards).
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  Checker, finish, FRAME_SIZE, Meter, onStop, settings, SLICE_MS, stamp, tell,
} from './common.mjs';

const { role, target: socketPath, warmupMs, measureMs } = settings();

function produce() {
  const socket = net.createConnection(socketPath);
  let seq = 0;
  let stopped = false;
  let ending = false;
  const endStream = () => {
    if (ending) return;
    ending = true;
    socket.end(() => finish({ type: 'done', sent: seq }));
  };
  onStop(() => {
    stopped = true;
    // Parked on 'drain' the pump would only see the flag later; end now (queued data still goes).
    if (socket.writableNeedDrain) endStream();
  });

  function pump() {
    if (stopped) return endStream();
    const sliceEnd = performance.now() + SLICE_MS;
    for (;;) {
      // A fresh buffer per write: write() keeps a reference until the bytes reach the kernel.
      const frame = Buffer.allocUnsafe(FRAME_SIZE);
      stamp(frame, seq++);
      if (!socket.write(frame)) {
        socket.once('drain', pump);
        return;
      }
      // If the kernel keeps taking everything, write() never says false: yield anyway.
      if ((seq & 1023) === 0 && performance.now() >= sliceEnd) {
        setImmediate(pump);
        return;
      }
    }
  }

  socket.on('connect', () => {
    tell({ type: 'ready' });
    pump();
  });
  socket.on('error', (error) => {
    console.error(`uds producer: ${error.message}`);
    process.exit(1);
  });
}

function consume() {
  const checker = new Checker();
  const meter = new Meter(warmupMs, measureMs);
  let measuring = true;
  // A frame split across two chunks is assembled here; chunks are not concatenated.
  const carry = Buffer.alloc(FRAME_SIZE);
  let carried = 0;

  function onData(chunk) {
    let offset = 0;
    if (carried > 0) {
      const take = Math.min(FRAME_SIZE - carried, chunk.length);
      chunk.copy(carry, carried, 0, take);
      carried += take;
      offset = take;
      if (carried < FRAME_SIZE) return;
      checker.check(carry, 0);
      carried = 0;
    }
    const whole = chunk.length - FRAME_SIZE;
    for (; offset <= whole; offset += FRAME_SIZE) checker.check(chunk, offset);
    if (offset < chunk.length) {
      chunk.copy(carry, 0, offset);
      carried = chunk.length - offset;
    }
    if (measuring && meter.sample(checker.count)) {
      measuring = false;
      tell({ type: 'result', ...meter.result(), bad: checker.bad });
    }
  }

  const server = net.createServer((socket) => {
    server.close(); // one producer; no more connections
    socket.on('data', onData);
    socket.on('end', () => {
      finish({ type: 'done', received: checker.count, bad: checker.bad + (carried > 0 ? 1 : 0) });
    });
    socket.on('error', (error) => {
      console.error(`uds consumer: ${error.message}`);
      process.exit(1);
    });
  });
  server.listen(socketPath, () => tell({ type: 'ready' }));
}

if (role === 'producer') produce();
else consume();
