// The demo's producer: sends 64-byte messages as fast as it can for a few seconds, then ends
// the stream so the consumer knows it has everything. demo.mjs forks it:
//   node producer.mjs ringwire <channel-name> <seconds>
//   node producer.mjs uds <socket-path> <seconds>
import net from 'node:net';
import { openSender } from 'ringwire';

const [system, target, seconds] = process.argv.slice(2);
const FRAME_SIZE = 64;
const stopAt = performance.now() + Number(seconds) * 1000;

// A tight loop never lets the event loop run. Yielding every 50 ms lets this process notice
// (through the IPC channel closing) that demo.mjs has gone, e.g. after Ctrl-C.
const SLICE_MS = 50;
const yieldToEventLoop = () => new Promise((resolve) => setImmediate(resolve));
let finished = false;
process.on('disconnect', () => process.exit(finished ? 0 : 1));

/** Bytes 0-3: a little-endian sequence number; the last byte repeats its low byte. */
function stamp(frame, seq) {
  frame[0] = seq;
  frame[1] = seq >>> 8;
  frame[2] = seq >>> 16;
  frame[3] = seq >>> 24;
  frame[FRAME_SIZE - 1] = seq;
}

async function overRingwire() {
  const sender = openSender(target);
  // trySend copies into shared memory, so one frame serves every message.
  const frame = new Uint8Array(FRAME_SIZE);
  let seq = 0;
  while (performance.now() < stopAt) {
    const sliceEnd = performance.now() + SLICE_MS;
    while (performance.now() < sliceEnd) {
      // Read the clock once per 1024 messages: it costs about as much as a send.
      for (let i = 0; i < 1024; i++) {
        stamp(frame, seq++);
        // The fast path is synchronous. When the ring is full, send() waits for room
        // (backpressure) without burning the CPU the consumer needs.
        if (!sender.trySend(frame)) await sender.send(frame);
      }
    }
    await yieldToEventLoop();
  }
  sender.end(); // the consumer drains what is left, then sees the end
  sender.close();
}

async function overSocket() {
  const socket = net.createConnection(target);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let seq = 0;
  while (performance.now() < stopAt) {
    const sliceEnd = performance.now() + SLICE_MS;
    while (performance.now() < sliceEnd) {
      // One write per message, as one would send discrete messages. write() keeps the
      // buffer until the kernel has it, so each message gets its own.
      const frame = Buffer.allocUnsafe(FRAME_SIZE);
      stamp(frame, seq++);
      if (!socket.write(frame)) {
        // Backpressure: the kernel buffer and the stream's queue are full; wait for 'drain'.
        await new Promise((resolve) => socket.once('drain', resolve));
        break;
      }
    }
    await yieldToEventLoop();
  }
  await new Promise((resolve) => socket.end(resolve));
}

try {
  await (system === 'ringwire' ? overRingwire() : overSocket());
} catch (error) {
  console.error(`producer (${system}): ${error.message}`);
  process.exit(1);
}
finished = true;
process.disconnect?.();
