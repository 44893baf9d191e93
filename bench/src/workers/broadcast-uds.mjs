// S10's baseline: broadcast over Unix domain sockets, one per receiver. Every receiver
// listens on its own path; the sender connects to every one and writes every message to each
// of them, with a 4-byte length prefix (as workers/stream.mjs frames them). Backpressure is
// respected: the sender waits for 'drain' on every socket whose write() said false.
//   mode 'single': one write() per message per socket (the same frame to all of them)
//   mode 'batch':  messages coalesced into ~64 KiB buffers, each buffer written to every
//                  socket (back to a free list once every socket's write of it completed)
// Control, per phase i, as in broadcast-ringwire.mjs: 'phase' ('armed'), 'go', 'window',
// 'stop' (the sender says 'stopped' with its count once an END_OF_PHASE prefix went out on
// every socket); a receiver reports 'done' when its socket brings the END_OF_PHASE.
import { Buffer } from 'node:buffer';
import net from 'node:net';
import {
  config, dieOnError, FanInState, finish, now, onControl, SLICE_MS, tell,
} from './common.mjs';
import {
  BATCH_BYTES, Checker, FrameParser, LENGTH_PREFIX, prefix, writeMessage,
} from './frames.mjs';

const { role, id, paths, mode } = config();
const who = role === 'sender' ? 'sender' : `receiver${id}`;
dieOnError(`uds broadcast ${who}`);

function fail(error) {
  console.error(`uds broadcast ${who}: ${error.message}`);
  process.exit(1);
}

async function send() {
  const sockets = await Promise.all(paths.map((file) => new Promise((resolve, reject) => {
    const socket = net.createConnection(file);
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  })));
  for (const socket of sockets) socket.on('error', fail);
  const n = sockets.length;
  /** Coalescing buffers whose writes all completed. */
  const free = [];

  /** Writes `chunk` to every socket; calls done() once every write of it completed. Returns the sockets that are full. */
  function writeAll(chunk, done) {
    let left = n;
    const release = done ? () => {
      if (--left === 0) done();
    } : undefined;
    const full = [];
    for (const socket of sockets) if (!socket.write(chunk, release)) full.push(socket);
    return full;
  }

  /** Waits for 'drain' on every socket whose write said false, then pumps on. */
  function waitForDrain(p, full) {
    p.waits++;
    let waiting = full.length;
    for (const socket of full) {
      socket.once('drain', () => {
        if (--waiting === 0) pump(p);
      });
    }
  }

  function pump(p) {
    if (p.stopped) return endPhase(p);
    const { size } = p;
    const frameBytes = LENGTH_PREFIX + size;
    const sliceEnd = now() + SLICE_MS;
    for (let k = 1; ; k++) {
      let full;
      if (mode === 'batch') {
        // As many whole messages as fit about 64 KiB (at least one), then one write per socket.
        const buffer = free.pop() ?? Buffer.allocUnsafe(Math.max(BATCH_BYTES, frameBytes));
        let used = 0;
        do {
          prefix(buffer, used, size);
          writeMessage(buffer, used + LENGTH_PREFIX, size, p.seq++);
          used += frameBytes;
        } while (used + frameBytes <= buffer.length);
        full = writeAll(used === buffer.length ? buffer : buffer.subarray(0, used), () => free.push(buffer));
      } else {
        const frame = Buffer.allocUnsafe(frameBytes);
        prefix(frame, 0, size);
        writeMessage(frame, LENGTH_PREFIX, size, p.seq++);
        full = writeAll(frame);
      }
      if (full.length !== 0) return waitForDrain(p, full);
      // If the kernel keeps taking everything, write() never says false: yield anyway.
      if ((k & 63) === 0 && now() >= sliceEnd) {
        setImmediate(() => pump(p));
        return;
      }
    }
  }

  function endPhase(p) {
    if (p.ended) return;
    p.ended = true;
    writeAll(Buffer.alloc(LENGTH_PREFIX, 0xff), () => tell({ ctl: 'stopped', from: who, i: p.i, sent: p.seq, waits: p.waits }));
  }

  /** The phase under way. */
  let phase = null;
  onControl((message) => {
    if (message.ctl === 'phase') {
      phase = { i: message.i, size: message.size, seq: 0, stopped: false, ended: false, waits: 0 };
      tell({ ctl: 'armed', from: who, i: message.i });
    } else if (message.ctl === 'go') {
      pump(phase);
    } else if (message.ctl === 'stop') {
      // The pump sees it at its next turn (after a yield or a 'drain': the receivers keep
      // reading, so the drain comes).
      phase.stopped = true;
    } else if (message.ctl === 'exit') {
      // Every message is delivered and counted by now; the receivers close their ends too.
      for (const socket of sockets) socket.destroy();
      finish({ ctl: 'bye', from: who });
    }
  });
  tell({ ctl: 'ready', from: who });
}

function receive() {
  /** The phase under way (a FanInState with a Checker), or null between phases. */
  let state = null;
  let socket = null;
  const parser = new FrameParser((bytes, offset, length) => state.checker.check(bytes, offset, length), () => {
    const done = state;
    state = null;
    done.done();
  });
  const server = net.createServer((connection) => {
    socket = connection;
    server.close(); // the one connection: from the sender
    connection.on('data', (chunk) => {
      if (state === null) return fail(new Error(`${chunk.length} bytes arrived between phases`));
      parser.push(chunk);
      state?.maybeSample();
    });
    connection.on('error', fail);
  });
  server.on('error', fail);
  onControl((message) => {
    if (message.ctl === 'phase') {
      state = new FanInState(who, new Checker(message.size), message.i);
      tell({ ctl: 'armed', from: who, i: message.i });
    } else if (message.ctl === 'window') {
      state?.window(message.start, message.end);
    } else if (message.ctl === 'exit') {
      socket?.destroy();
      finish({ ctl: 'bye', from: who });
    }
  });
  server.listen(paths[id], () => tell({ ctl: 'ready', from: who }));
}

if (role === 'sender') await send();
else receive();
