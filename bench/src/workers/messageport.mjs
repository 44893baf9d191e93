// Throughput over a worker_threads MessagePort: the producer is the main thread of this
// process, the consumer a worker thread (threads, not processes). postMessage clones each
// Uint8Array. MessagePort has no backpressure of its own, so the consumer grants credit: it
// acknowledges what it has taken, and the producer keeps at most about 4 MiB in flight.
//   mode 'single': one postMessage per message
//   mode 'batch':  arrays of 256 messages per postMessage
import { fileURLToPath } from 'node:url';
import { isMainThread, MessageChannel, Worker } from 'node:worker_threads';
import {
  adoptConsumer, config, dieOnError, finish, now, onControl, PhaseState, SLICE_MS, tell,
} from './common.mjs';
import { Checker, writeMessage } from './frames.mjs';

const BATCH = 256;
const WINDOW_BYTES = 4 << 20;
const settings = config();
dieOnError(`messageport ${isMainThread ? 'producer' : 'consumer'}`);

/** Messages the producer may have in flight, and how often the consumer acknowledges. */
function credit(size) {
  const window = Math.max(4, Math.floor(WINDOW_BYTES / size));
  return { window, ackEvery: Math.max(1, Math.floor(window / 4)) };
}

function produce() {
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(fileURLToPath(import.meta.url),
    { workerData: { ...settings, role: 'consumer', port: port2 }, transferList: [port2] });
  const consumer = adoptConsumer(worker, 'messageport', (message) => worker.postMessage(message));
  let phase = null;

  function pump() {
    if (phase.stopped) {
      port1.postMessage({ end: true, i: phase.i });
      tell({ ctl: 'done', from: 'producer', i: phase.i, sent: phase.seq });
      return;
    }
    const sliceEnd = now() + SLICE_MS;
    const { size, batch, window } = phase;
    for (let n = 1; phase.seq - phase.acked < window; n++) {
      if (batch !== null) {
        for (let k = 0; k < BATCH; k++) writeMessage(batch[k], 0, size, phase.seq + k);
        port1.postMessage(batch); // cloned now: the arrays can be written again at once
        phase.seq += BATCH;
      } else {
        writeMessage(phase.message, 0, size, phase.seq++);
        port1.postMessage(phase.message);
      }
      if ((n & 63) === 0 && now() >= sliceEnd) {
        setImmediate(pump);
        return;
      }
    }
    phase.waiting = true; // out of credit: an acknowledgement resumes the pump
  }

  port1.on('message', (ack) => {
    if (phase === null || ack.i !== phase.i) return;
    phase.acked = ack.count;
    if (phase.waiting) {
      phase.waiting = false;
      pump();
    }
  });
  onControl((message) => {
    if (message.to === 'consumer') {
      consumer.forward(message);
    } else if (message.ctl === 'phase') {
      const { size, mode } = message;
      phase = {
        i: message.i, size, seq: 0, acked: 0, stopped: false, waiting: false,
        window: credit(size).window,
        message: new Uint8Array(size),
        batch: mode === 'batch' ? Array.from({ length: BATCH }, () => new Uint8Array(size)) : null,
      };
      pump();
    } else if (message.ctl === 'stop') {
      phase.stopped = true;
      if (phase.waiting) {
        phase.waiting = false;
        pump();
      }
    } else if (message.ctl === 'exit') {
      port1.close();
      consumer.exited.then(() => finish({ ctl: 'bye', from: 'producer' }));
    }
  });
  tell({ ctl: 'ready', from: 'producer' });
}

function consume() {
  const { port } = settings;
  let state = null;
  let ackEvery = 1;
  let nextAck = 0;
  port.on('message', (data) => {
    if (data.end === true) {
      state.done();
      state = null;
      return;
    }
    const { checker } = state;
    if (Array.isArray(data)) {
      for (let k = 0; k < data.length; k++) checker.check(data[k], 0, data[k].length);
    } else {
      checker.check(data, 0, data.length);
    }
    if (checker.count >= nextAck) {
      nextAck = checker.count + ackEvery;
      port.postMessage({ i: state.i, count: checker.count });
    }
    state.maybeSample();
  });
  onControl((message) => {
    if (message.ctl === 'phase') {
      state = new PhaseState(message, Checker);
      ackEvery = credit(message.size).ackEvery;
      nextAck = ackEvery;
      tell({ ctl: 'armed', from: 'consumer', i: message.i });
    } else if (message.ctl === 'exit') {
      port.close();
      process.exit(0); // in a worker thread: ends this thread only
    }
  });
  tell({ ctl: 'ready', from: 'consumer' });
}

if (isMainThread) produce();
else consume();
