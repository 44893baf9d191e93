// S7: a receiver with nothing to receive. The receiver waits (ringwire: `await recv()` with
// default options; uds: a client socket idle on 'data') while it measures the CPU time its
// process uses (process.cpuUsage) and its event-loop lag (monitorEventLoopDelay). Then the
// sender sends one message, and the receiver must get it: a wait that never wakes fails.
import net from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { openReceiver, openSender } from 'ringwire';
import { config, dieOnError, finish, now, onControl, tell } from './common.mjs';
import { Checker, FrameParser, LENGTH_PREFIX, prefix, writeMessage } from './frames.mjs';

const SIZE = 64;
/** The lag monitor's timer fires this often (ms); its own cost is part of what is measured. */
const RESOLUTION_MS = 20;
const { role, system, target, idleMs } = config();
dieOnError(`${system} idle ${role}`);

/** Milliseconds on a clock both processes share (for the time from send to wake-up). */
const clock = () => performance.timeOrigin + now();

function message() {
  const bytes = Buffer.alloc(SIZE);
  writeMessage(bytes, 0, SIZE, 0);
  return bytes;
}

/** Measures while `waiting` is pending; reports, then lets the harness trigger the send. */
function measure(received) {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  const cpu = process.cpuUsage();
  const start = now();
  setTimeout(() => {
    const used = process.cpuUsage(cpu);
    const elapsed = now() - start;
    histogram.disable();
    tell({
      ctl: 'measured', from: 'receiver',
      cpuPercent: ((used.user + used.system) / 1000 / elapsed) * 100,
      userPercent: (used.user / 1000 / elapsed) * 100,
      // The histogram records each interval between the timer's firings: lag is what
      // exceeds the resolution.
      lagP99Ms: Math.max(0, histogram.percentile(99) / 1e6 - RESOLUTION_MS),
      lagMaxMs: Math.max(0, histogram.max / 1e6 - RESOLUTION_MS),
      elapsedMs: elapsed,
    });
  }, idleMs);
  received.then((bytes) => {
    const receivedAt = clock();
    const checker = new Checker(SIZE);
    checker.check(bytes, 0, bytes.length);
    finish({ ctl: 'done', from: 'receiver', bad: checker.bad, receivedAt });
  });
}

if (system === 'ringwire') {
  if (role === 'sender') {
    const sender = openSender(target);
    onControl((m) => {
      if (m.ctl !== 'send') return;
      const bytes = message();
      const sentAt = clock();
      sender.trySend(bytes);
      sender.close();
      finish({ ctl: 'sent', from: 'sender', sentAt });
    });
    tell({ ctl: 'ready', from: 'sender' });
  } else {
    const receiver = openReceiver(target);
    onControl((m) => {
      if (m.ctl !== 'go') return;
      measure(receiver.recv().then((bytes) => {
        receiver.close();
        return bytes;
      }));
    });
    tell({ ctl: 'ready', from: 'receiver' });
  }
} else if (role === 'sender') {
  // uds: the sender listens; the receiver connects and then sits on 'data'.
  const server = net.createServer((socket) => {
    server.close();
    onControl((m) => {
      if (m.ctl !== 'send') return;
      const frame = Buffer.alloc(LENGTH_PREFIX + SIZE);
      prefix(frame, 0, SIZE);
      frame.set(message(), LENGTH_PREFIX);
      const sentAt = clock();
      socket.end(frame, () => finish({ ctl: 'sent', from: 'sender', sentAt }));
    });
  });
  server.listen(target, () => tell({ ctl: 'ready', from: 'sender' }));
} else {
  const socket = net.createConnection(target);
  let deliver;
  const received = new Promise((resolve) => { deliver = resolve; });
  const parser = new FrameParser((bytes, offset, length) => deliver(bytes.subarray(offset, offset + length)), () => {});
  socket.on('data', (chunk) => parser.push(chunk));
  socket.on('connect', () => tell({ ctl: 'ready', from: 'receiver' }));
  onControl((m) => {
    if (m.ctl === 'go') measure(received);
  });
}
