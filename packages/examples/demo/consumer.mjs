// The demo's consumer: receives 64-byte messages until the producer ends the stream, checks
// that each arrives in order and whole, and reports its rate to demo.mjs every second and
// at the end. For a socket it listens on the path and the producer connects.
//   node consumer.mjs ringwire <channel-name>  |  node consumer.mjs uds <socket-path>
import net from 'node:net';
import { openReceiver } from 'ringwire';

const [system, target] = process.argv.slice(2);
const FRAME_SIZE = 64;
const SLICE_MS = 50;
const yieldToEventLoop = () => new Promise((resolve) => setImmediate(resolve));
let finished = false;
process.on('disconnect', () => process.exit(finished ? 0 : 1)); // demo.mjs went away

let count = 0;
let expected = 0;
let bad = 0;
let firstAt = 0;
let tickAt = 0;
let tickCount = 0;

/** Reads the sequence number (first 4 bytes) and the last byte of the frame at `offset`. */
function check(bytes, offset) {
  const seq = bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16)
    | (bytes[offset + 3] << 24);
  if (seq !== expected || bytes[offset + FRAME_SIZE - 1] !== (seq & 0xff)) bad++;
  expected = (seq + 1) | 0;
  count++;
}

/** Call after a batch of messages: starts the clock, reports once a second. */
function tick() {
  const now = performance.now();
  if (firstAt === 0) {
    firstAt = tickAt = now;
    tickCount = count;
  } else if (now - tickAt >= 1000) {
    process.send({ type: 'tick', seconds: (now - firstAt) / 1000,
      rate: ((count - tickCount) * 1000) / (now - tickAt) });
    tickAt = now;
    tickCount = count;
  }
  return now;
}

function done() {
  finished = true;
  const seconds = (performance.now() - firstAt) / 1000;
  process.send({ type: 'done', received: count, bad, seconds, rate: count / seconds },
    () => process.disconnect());
}

async function overRingwire() {
  const receiver = openReceiver(target);
  process.send({ type: 'ready' });
  let sliceEnd = performance.now() + SLICE_MS;
  for (;;) {
    // The fast path is synchronous; recv() waits (spins briefly, then parks) when the ring
    // is empty, and gives null once the producer has ended and everything is read.
    let message = receiver.tryRecv();
    if (message === undefined) {
      message = await receiver.recv();
      if (message === null) break;
    }
    check(message, 0);
    if ((count & 1023) === 0 || count === 1) {
      // Never going idle, this loop would starve the event loop (IPC included): yield.
      if (tick() >= sliceEnd) {
        await yieldToEventLoop();
        sliceEnd = performance.now() + SLICE_MS;
      }
    }
  }
  receiver.close();
  done();
}

function overSocket() {
  // Frames have no length prefix; one split across two chunks is assembled in `carry`.
  const carry = Buffer.alloc(FRAME_SIZE);
  let carried = 0;
  const server = net.createServer((socket) => {
    server.close(); // one producer
    socket.on('data', (chunk) => {
      let offset = 0;
      if (carried > 0) {
        offset = Math.min(FRAME_SIZE - carried, chunk.length);
        chunk.copy(carry, carried, 0, offset);
        carried += offset;
        if (carried < FRAME_SIZE) return;
        check(carry, 0);
        carried = 0;
      }
      for (; offset + FRAME_SIZE <= chunk.length; offset += FRAME_SIZE) check(chunk, offset);
      carried = chunk.copy(carry, 0, offset);
      tick();
    });
    socket.on('end', () => {
      if (carried > 0) bad++; // a torn last frame
      done();
    });
  });
  server.listen(target, () => process.send({ type: 'ready' }));
}

if (system === 'ringwire') await overRingwire();
else overSocket();
