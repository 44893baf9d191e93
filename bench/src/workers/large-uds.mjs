// S11's baseline: messages of megabytes (4 MiB, 64 MiB) over one Unix domain stream socket.
// The consumer listens on the path the harness gives; the producer connects. The stream
// stays open across phases; an END_OF_PHASE prefix closes each phase (frames.mjs).
//
//   producer: the 4-byte length prefix and the message in one buffer, every byte written
//             (frames.mjs) with the message's seq, then one socket.write() of it per message.
//             Backpressure is respected: a write longer than the socket's high-water mark
//             says false, and the producer waits for 'drain' (the write is complete then,
//             and its buffer back on the free list) before it writes the next message.
//   consumer: the 'data' chunks as Node reads them (64 KiB), each copied into one buffer
//             of the message's size it owns and reuses (FrameAssembler), and the message
//             checked once it is whole.
// Every message is checked: length, seq, both stamps, a strided sample of bytes, and every
// byte of one in 16 (SampledChecker).
import { Buffer } from 'node:buffer';
import net from 'node:net';
import {
  config, dieOnError, finish, now, onControl, PhaseState, SLICE_MS, tell,
} from './common.mjs';
import {
  BufferPool, END_OF_PHASE, FrameAssembler, LENGTH_PREFIX, prefix, SampledChecker, writeMessage,
} from './frames.mjs';

const settings = config();
const { role } = settings;
dieOnError(`uds large ${role}`);

function fail(error) {
  console.error(`uds large ${role}: ${error.message}`);
  process.exit(1);
}

async function produce() {
  const socket = net.createConnection(settings.path);
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', fail);
  /** The phase under way: { i, size, seq, stopped, pool }. */
  let phase = null;

  function pump() {
    const p = phase;
    if (p.stopped) return endPhase(p);
    const sliceEnd = now() + SLICE_MS;
    for (;;) {
      const frame = p.pool.get();
      prefix(frame, 0, p.size);
      writeMessage(frame, LENGTH_PREFIX, p.size, p.seq++);
      p.pool.take(frame);
      if (!socket.write(frame, p.pool.release)) {
        socket.once('drain', pump);
        return;
      }
      // (A write the kernel took whole at once: not at these sizes, but then yield now and then.)
      if (p.stopped || now() >= sliceEnd) {
        setImmediate(pump);
        return;
      }
    }
  }

  function endPhase(p) {
    const end = Buffer.alloc(LENGTH_PREFIX);
    end.writeUInt32LE(END_OF_PHASE, 0);
    socket.write(end, () => tell({ ctl: 'done', from: 'producer', i: p.i, sent: p.seq }));
  }

  onControl((message) => {
    if (message.ctl === 'phase') {
      const pool = new BufferPool(LENGTH_PREFIX + message.size);
      // Two buffers, their pages touched before the first message ('drain' comes before the
      // write's callback, so the next message goes into the second while the first is handed
      // back): a fresh buffer of tens of MiB costs a page fault per 4 KiB (in this VM about 40
      // times a memcpy of it), which would land inside the window.
      pool.free.push(pool.get().fill(0), pool.get().fill(0));
      phase = { i: message.i, size: message.size, seq: 0, stopped: false, pool };
      pump();
    } else if (message.ctl === 'stop') {
      // The pump sees it at its next turn (after a 'drain': the consumer keeps reading).
      phase.stopped = true;
    } else if (message.ctl === 'exit') {
      socket.end(() => finish({ ctl: 'bye', from: 'producer' }));
    }
  });
  tell({ ctl: 'ready', from: 'producer' });
}

function consume() {
  /** The phase under way (a PhaseState with a SampledChecker), or null between phases. */
  let state = null;
  const assembler = new FrameAssembler((bytes, offset, length) => state.checker.check(bytes, offset, length), () => {
    const done = state;
    state = null;
    done.done();
  });
  let socket = null;
  const server = net.createServer((connection) => {
    server.close(); // one producer; no more connections
    socket = connection;
    connection.on('data', (chunk) => {
      if (state === null) return fail(new Error(`${chunk.length} bytes arrived between phases`));
      const current = state;
      assembler.push(chunk);
      if (current === state) state.maybeSample();
    });
    connection.on('error', fail);
  });
  server.on('error', fail);
  onControl((message) => {
    if (message.ctl === 'phase') {
      state = new PhaseState(message, SampledChecker);
      // The consumer's own buffer, reused for every message (its pages touched now).
      assembler.into(Buffer.allocUnsafe(message.size).fill(0));
      tell({ ctl: 'armed', from: 'consumer', i: message.i });
    } else if (message.ctl === 'exit') {
      socket?.destroy();
      finish({ ctl: 'bye', from: 'consumer' });
    }
  });
  server.listen(settings.path, () => tell({ ctl: 'ready', from: 'consumer' }));
}

if (role === 'producer') await produce();
else consume();
