// S6 over ringwire: the producer process. A TaskClient on the task channel the harness
// created (served by workers/pool-host.mjs in mode 'serve'). On 'go' it pushes a warm-up,
// then the measured `tasks`, each with at most `window` tasks in flight: submit() in a loop
// (it resolves once the task is in the channel, waiting for room when the ring is full), and
// once `window` are out, the oldest result is awaited and checked before the next submit.
// The rate is tasks over the time from the first submit to the last result. Every result
// is checked against its sum. Then drain() ends the task stream (the pool's loops finish and
// servePool() returns) and the client closes.
//
//   codec 'raw': a task is 16 bytes (two float64: a, b), a result 8 bytes (their sum)
//   codec 'v8' or 'json': a task is { a, b }, a result the number a + b
import { TaskClient } from 'ringwire/pool';
import { config, dieOnError, finish, now, onControl, tell } from './common.mjs';
import { expectedSum, taskA, taskB } from './pool-common.mjs';

const { channel, codec, tasks, warmup, window, batch = 1 } = config();
const who = 'producer';
dieOnError(`S6 producer (${codec})`);

const client = new TaskClient(channel, { codec });
// raw: one 16-byte payload, rewritten for every task (submit() copies it before it returns).
const payload = new Uint8Array(16);
const task = new DataView(payload.buffer);
const makeTask = codec === 'raw'
  ? (i) => {
    task.setFloat64(0, taskA(i), true);
    task.setFloat64(8, taskB(i), true);
    return payload;
  }
  : (i) => ({ a: taskA(i), b: taskB(i) });
const sumOf = codec === 'raw'
  ? (out) => (out.length === 8 ? new DataView(out.buffer, out.byteOffset, 8).getFloat64(0, true) : NaN)
  : (out) => out;

/** Tasks first .. first + count - 1, at most `window` in flight; returns { seconds, bad }. */
async function pump(first, count) {
  if (batch > 1) return pumpBatches(first, count);
  const slots = new Array(window);
  let bad = 0;
  const started = now();
  for (let k = 0; k < count; k++) {
    if (k >= window) {
      const j = k - window;
      if (sumOf(await slots[j % window]) !== expectedSum(first + j)) bad++;
    }
    slots[k % window] = (await client.submit(makeTask(first + k))).result;
  }
  for (let j = Math.max(0, count - window); j < count; j++) {
    if (sumOf(await slots[j % window]) !== expectedSum(first + j)) bad++;
  }
  return { seconds: (now() - started) / 1000, bad };
}

/** The same with submitMany(): `batch` tasks per call, at most `window` in flight. */
async function pumpBatches(first, count) {
  const inFlight = [];
  let bad = 0;
  const started = now();
  const check = async ({ from, results }) => {
    for (let k = 0; k < results.length; k++) if (sumOf(await results[k]) !== expectedSum(from + k)) bad++;
  };
  for (let k = 0; k < count; k += batch) {
    const n = Math.min(batch, count - k);
    // raw payloads are copied into the channel by submitMany(), so each needs its own array.
    const payloads = Array.from({ length: n }, (_, j) => (codec === 'raw' ? makeTask(first + k + j).slice() : makeTask(first + k + j)));
    while (inFlight.length * batch >= window) await check(inFlight.shift());
    inFlight.push({ from: first + k, results: await client.submitMany(payloads) });
  }
  while (inFlight.length !== 0) await check(inFlight.shift());
  return { seconds: (now() - started) / 1000, bad };
}

onControl(async (message) => {
  if (message.ctl === 'go') {
    const warm = await pump(0, warmup);
    tell({ ctl: 'measuring', from: who }); // (the harness samples CPU times now and at 'result')
    const measured = await pump(warmup, tasks);
    tell({
      ctl: 'result', from: who, tasks, seconds: measured.seconds, rate: tasks / measured.seconds,
      window, bad: warm.bad + measured.bad, checked: warmup + tasks,
    });
    await client.drain();
    client.close();
    tell({ ctl: 'done', from: who });
  } else if (message.ctl === 'exit') {
    finish({ ctl: 'bye', from: who });
  }
});
tell({ ctl: 'ready', from: who });
