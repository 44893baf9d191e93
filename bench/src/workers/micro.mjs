// Per-operation costs of ringwire inside one process, measured with tinybench. Each timed
// call does BATCH operations (a timer read costs about as much as one), and the hooks around
// it (untimed) keep the ring from filling or emptying: what one side adds, the other takes.
// The last task times a trySend that must wake a receiver parked (in recvSync, spinMicros 0)
// in a worker thread: it waits, untimed, until that receiver is parked again before each call.
import { Bench } from 'tinybench';
import { isMainThread, Worker, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { openReceiver, openSender, stats } from 'ringwire';
import { config, dieOnError, finish, tell } from './common.mjs';
import { writeMessage } from './frames.mjs';

const SIZE = 64;
const BATCH = 256;

if (!isMainThread) {
  // The parked receiver: takes each message, parks again; ends when the sender ends.
  const receiver = openReceiver(workerData.channel, { spinMicros: 0 });
  while (receiver.recvSync() !== null);
  receiver.close();
} else {
  const { channels, timeMs } = config();
  dieOnError('micro');
  const sender = openSender(channels.main);
  const receiver = openReceiver(channels.main);
  // Both ends of the main channel are open: its name can go. The wake channel keeps its name
  // to the end: stats() reads the parked receiver's waiter count through it.
  tell({ ctl: 'opened', from: 'micro' });
  const frame = new Uint8Array(SIZE);
  writeMessage(frame, 0, SIZE, 1);
  const frames = Array.from({ length: BATCH }, (_, k) => {
    const f = new Uint8Array(SIZE);
    writeMessage(f, 0, SIZE, k);
    return f;
  });
  const text = 'ringwire-'.repeat(8).slice(0, 64); // 64 ASCII characters: UTF-8 encoded into the ring
  let sink = 0;
  const read = (bytes, offset, length) => {
    sink ^= bytes[offset] ^ bytes[offset + length - 1];
  };
  const fill = () => {
    if (sender.trySendMany(frames, 0, BATCH) !== BATCH) throw new Error('micro: the ring is full');
  };
  const drain = () => {
    if (receiver.poll(read, BATCH) !== BATCH) throw new Error('micro: the ring ran dry');
  };
  const tasks = [
    ['trySend 64 B (no receiver parked: no wake)', () => { for (let k = 0; k < BATCH; k++) sender.trySend(frame); }, { afterEach: drain }],
    ['tryRecv 64 B (returns a copy)', () => {
      for (let k = 0; k < BATCH; k++) sink ^= receiver.tryRecv()[0];
    }, { beforeEach: fill }],
    ['trySend 64-char string (UTF-8 encode)', () => { for (let k = 0; k < BATCH; k++) sender.trySend(text); }, { afterEach: drain }],
    ['trySendMany 256 x 64 B, per message', () => sender.trySendMany(frames, 0, BATCH), { afterEach: drain }],
    ['poll 256 x 64 B (zero-copy view), per message', () => receiver.poll(read, BATCH), { beforeEach: fill }],
  ];

  const bench = new Bench({ time: timeMs, warmupTime: Math.min(200, timeMs), iterations: 64 });
  for (const [name, fn, hooks] of tasks) bench.add(name, fn, hooks);

  // The wake: one trySend per timed call, each with the receiver parked in another thread.
  const waker = openSender(channels.wake);
  const parked = new Worker(fileURLToPath(import.meta.url), { workerData: { channel: channels.wake } });
  await new Promise((resolve) => parked.once('online', resolve));
  const waitParked = () => {
    const deadline = performance.now() + 5000;
    while (stats(channels.wake).receiver.waiters === 0) {
      if (performance.now() > deadline) throw new Error('micro: the receiver thread never parked');
    }
  };
  bench.add('trySend 64 B waking a receiver parked in another thread (futex wake)',
    () => { waker.trySend(frame); }, { beforeEach: waitParked });

  await bench.run();
  waker.end();
  waker.close();
  await new Promise((resolve) => parked.once('exit', resolve));
  sender.close();
  receiver.close();

  const results = bench.tasks.map((task) => {
    const r = task.result;
    if (r.state !== 'completed' && r.error) throw r.error;
    const perCall = task.name.includes('waking') ? 1 : BATCH;
    return { name: task.name, nsPerOp: (r.latency.mean * 1e6) / perCall, samples: r.latency.samplesCount };
  });
  tell({ ctl: 'sink', from: 'micro', sink });
  finish({ ctl: 'result', from: 'micro', results });
}
