// Throughput over child_process IPC: the producer forks the consumer with serialization
// 'json' or 'advanced' and sends Buffers over the IPC channel. With 'json' a Buffer travels
// as {type:'Buffer', data:[...]} and the consumer turns it back into bytes: that is the
// honest cost of that channel. Backpressure: when send() says false, wait for the callbacks
// of everything sent (the channel's write queue has drained), then go on.
//   mode 'single': one send() per message
//   mode 'batch':  length-prefixed messages coalesced into ~64 KiB Buffers per send()
import { Buffer } from 'node:buffer';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  adoptConsumer, config, dieOnError, finish, now, onControl, PhaseState, SLICE_MS, tell,
} from './common.mjs';
import { Checker, Coalescer, FrameParser, writeMessage } from './frames.mjs';

const settings = config();
const { role, serialization } = settings;
dieOnError(`ipc-${serialization} ${role}`);

function produce() {
  const child = fork(fileURLToPath(import.meta.url), [JSON.stringify({ ...settings, role: 'consumer' })],
    { serialization, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const consumer = adoptConsumer(child, `ipc-${serialization}`, (message) => child.send(message));
  let phase = null;
  let pending = 0;
  let blocked = false;
  const onSent = () => {
    if (--pending === 0 && blocked) {
      blocked = false;
      pump();
    }
  };
  // The coalescer writes through this: one send per ~64 KiB of messages.
  const channel = {
    write(chunk, release) {
      pending++;
      return child.send(chunk, () => {
        release();
        onSent();
      });
    },
  };

  function pump() {
    if (phase.stopped) {
      child.send({ ctl: 'end-of-phase', i: phase.i });
      tell({ ctl: 'done', from: 'producer', i: phase.i, sent: phase.seq });
      return;
    }
    const sliceEnd = now() + SLICE_MS;
    const { size, coalescer } = phase;
    for (let n = 1; ; n++) {
      let ok;
      if (coalescer !== null) {
        while (coalescer.fits) coalescer.add(phase.seq++);
        ok = coalescer.flush(channel);
      } else {
        const message = Buffer.allocUnsafe(size);
        writeMessage(message, 0, size, phase.seq++);
        pending++;
        ok = child.send(message, onSent);
      }
      if (!ok) {
        blocked = true;
        return;
      }
      if ((n & 63) === 0 && now() >= sliceEnd) {
        setImmediate(pump);
        return;
      }
    }
  }

  onControl((message) => {
    if (message.to === 'consumer') {
      consumer.forward(message);
    } else if (message.ctl === 'phase') {
      phase = {
        i: message.i, size: message.size, seq: 0, stopped: false,
        coalescer: message.mode === 'batch' ? new Coalescer(message.size) : null,
      };
      pump();
    } else if (message.ctl === 'stop') {
      phase.stopped = true; // seen at the pump's next turn (after a yield or the callbacks)
    } else if (message.ctl === 'exit') {
      consumer.exited.then(() => finish({ ctl: 'bye', from: 'producer' }));
    }
  });
  tell({ ctl: 'ready', from: 'producer' });
}

function consume() {
  let state = null;
  let parser = null;
  const check = (bytes, offset, length) => state.checker.check(bytes, offset, length);
  onControl((message) => {
    if (message.ctl === 'phase') {
      state = new PhaseState(message, Checker);
      parser = message.mode === 'batch' ? new FrameParser(check, () => {}) : null;
      tell({ ctl: 'armed', from: 'consumer', i: message.i });
    } else if (message.ctl === 'end-of-phase') {
      state.done();
      state = null;
    } else if (message.ctl === 'exit') {
      finish({ ctl: 'bye', from: 'consumer' });
    }
  });
  process.on('message', (message) => {
    if (typeof message.ctl === 'string') return;
    // 'advanced' delivers a Buffer; 'json' an object whose data array becomes our bytes.
    const bytes = serialization === 'json' ? Buffer.from(message.data) : message;
    if (parser !== null) parser.push(bytes);
    else check(bytes, 0, bytes.length);
    state.maybeSample();
  });
  tell({ ctl: 'ready', from: 'consumer', pid: process.pid });
}

if (role === 'producer') produce();
else consume();
