// Throughput over byte streams: Unix domain socket, TCP on 127.0.0.1, an anonymous pipe and a
// named pipe (fifo). Every message goes with a 4-byte length prefix; the consumer cuts the
// messages out of the chunks it reads (FrameParser). Backpressure is respected: the producer
// stops when write() says false and resumes on 'drain'.
//   mode 'single': one write() per message
//   mode 'batch':  messages coalesced into ~64 KiB writes
// The stream stays open across phases; an END_OF_PHASE prefix closes each phase.
import { Buffer } from 'node:buffer';
import { fork } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  adoptConsumer, config, dieOnError, finish, now, onControl, PhaseState, SLICE_MS, tell,
} from './common.mjs';
import {
  BufferPool, Checker, Coalescer, END_OF_PHASE, FrameParser, LENGTH_PREFIX, prefix, writeMessage,
} from './frames.mjs';

const settings = config();
const { role, transport } = settings;
dieOnError(`${transport} ${role}`);

/** Messages up to this size get a fresh (pooled-slab) Buffer per write, as Node code does. */
const SMALL = 4096;

function openFd(file, flags) {
  return new Promise((resolve, reject) => fs.open(file, flags, (error, fd) => (error ? reject(error) : resolve(fd))));
}

// ---- producer -----------------------------------------------------------------------------

async function connect() {
  if (transport === 'uds' || transport === 'tcp') {
    const socket = transport === 'uds'
      ? net.createConnection(settings.path)
      : net.createConnection({ host: '127.0.0.1', port: settings.peer.port });
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    if (transport === 'tcp') socket.setNoDelay(settings.noDelay);
    return socket;
  }
  if (transport === 'fifo') {
    // Blocks (in the thread pool) until the consumer opens the read end.
    return new net.Socket({ fd: await openFd(settings.path, 'w'), readable: false, writable: true });
  }
  // pipe: the consumer is our child, reading its stdin; we write the other end.
  const child = fork(fileURLToPath(import.meta.url), [JSON.stringify({ ...settings, role: 'consumer' })],
    { stdio: ['pipe', 'inherit', 'inherit', 'ipc'] });
  consumer = adoptConsumer(child, 'pipe', (message) => child.send(message));
  return child.stdin;
}

/** The pipe's consumer (our child), or null. */
let consumer = null;

async function produce() {
  const writable = await connect();
  writable.on('error', (error) => {
    console.error(`${transport} producer: ${error.message}`);
    process.exit(1);
  });
  let phase = null;

  function pump() {
    if (phase.stopped) return endPhase();
    const sliceEnd = now() + SLICE_MS;
    const { size } = phase;
    for (let n = 1; ; n++) {
      let ok;
      if (phase.coalescer !== null) {
        const coalescer = phase.coalescer;
        while (coalescer.fits) coalescer.add(phase.seq++);
        ok = coalescer.flush(writable);
      } else if (size + LENGTH_PREFIX <= SMALL) {
        const frame = Buffer.allocUnsafe(size + LENGTH_PREFIX);
        prefix(frame, 0, size);
        writeMessage(frame, LENGTH_PREFIX, size, phase.seq++);
        ok = writable.write(frame);
      } else {
        const pool = phase.pool;
        const frame = pool.get();
        prefix(frame, 0, size);
        writeMessage(frame, LENGTH_PREFIX, size, phase.seq++);
        pool.take(frame);
        ok = writable.write(frame, pool.release);
      }
      if (!ok) {
        writable.once('drain', pump);
        return;
      }
      // If the kernel keeps taking everything, write() never says false: yield anyway.
      if ((n & 255) === 0 && now() >= sliceEnd) {
        setImmediate(pump);
        return;
      }
    }
  }

  function endPhase() {
    const end = Buffer.alloc(LENGTH_PREFIX, 0xff);
    const { i, seq } = phase;
    writable.write(end, () => tell({ ctl: 'done', from: 'producer', i, sent: seq }));
  }

  onControl((message) => {
    if (message.to === 'consumer') {
      consumer.forward(message); // pipe: the harness speaks to our child through us
    } else if (message.ctl === 'phase') {
      const batch = message.mode === 'batch';
      phase = {
        i: message.i, size: message.size, seq: 0, stopped: false,
        coalescer: batch ? new Coalescer(message.size) : null,
        pool: new BufferPool(message.size + LENGTH_PREFIX),
      };
      pump();
    } else if (message.ctl === 'stop') {
      // The pump sees it at its next turn (after a yield or a 'drain': the consumer keeps
      // reading, so a drain always comes).
      phase.stopped = true;
    } else if (message.ctl === 'exit') {
      writable.end(async () => {
        await consumer?.exited;
        finish({ ctl: 'bye', from: 'producer' });
      });
    }
  });
  tell({ ctl: 'ready', from: 'producer' });
}

// ---- consumer -----------------------------------------------------------------------------

function consume() {
  let state = null;
  const onMessage = (bytes, offset, length) => {
    if (state.own && bytes.length !== length) {
      // S3: the consumer keeps the message as a Buffer of its own (here a view of the chunk
      // it read, which nobody else holds).
      const message = bytes.subarray(offset, offset + length);
      state.checker.check(message, 0, length);
    } else {
      state.checker.check(bytes, offset, length);
    }
  };
  const parser = new FrameParser(onMessage, () => {
    state.done();
    state = null;
  });
  const onData = (chunk) => {
    const current = state;
    parser.push(chunk);
    if (current === state) state?.maybeSample();
  };
  const attach = (readable) => {
    readable.on('data', onData);
    readable.on('error', (error) => {
      console.error(`${transport} consumer: ${error.message}`);
      process.exit(1);
    });
  };
  let closeAll = () => {};

  onControl((message) => {
    if (message.ctl === 'phase') {
      state = new PhaseState(message, Checker);
      state.own = message.own;
      tell({ ctl: 'armed', from: 'consumer', i: message.i });
    } else if (message.ctl === 'exit') {
      closeAll();
      finish({ ctl: 'bye', from: 'consumer' });
    }
  });

  if (transport === 'uds' || transport === 'tcp') {
    const server = net.createServer((socket) => {
      server.close(); // one producer; no more connections
      if (transport === 'tcp') socket.setNoDelay(settings.noDelay);
      attach(socket);
      closeAll = () => socket.destroy();
    });
    const listening = () => tell({ ctl: 'ready', from: 'consumer', peer: { port: server.address()?.port } });
    if (transport === 'uds') server.listen(settings.path, listening);
    else server.listen(0, '127.0.0.1', listening);
  } else if (transport === 'fifo') {
    tell({ ctl: 'ready', from: 'consumer' });
    openFd(settings.path, 'r').then((fd) => {
      const socket = new net.Socket({ fd, readable: true, writable: false });
      attach(socket);
      closeAll = () => socket.destroy();
    }, (error) => {
      console.error(`fifo consumer: ${error.message}`);
      process.exit(1);
    });
  } else {
    attach(process.stdin);
    closeAll = () => process.stdin.destroy();
    tell({ ctl: 'ready', from: 'consumer', pid: process.pid });
  }
}

if (role === 'producer') await produce();
else consume();
