// The client's code: a TaskClient on a task channel of this machine, written as the `pool`
// example's producer is. Nothing in it knows where the pool runs — in another process here,
// or on another machine with NATS in between (main.mjs bridges the channel first): the code
// is the same either way.
import { TaskClient } from 'ringwire/pool';
import { answer, task } from './job.mjs';

const MALFORMED = 7; // task 7 goes with a bad id on purpose: the worker throws
const SLOW_MS = 1000; // and one slow task at the end, with a timeout shorter than that
const SLOW_TIMEOUT_MS = 200;

/**
 * Runs `count` tasks on task channel `name`, checking every answer, then one slow task that
 * times out; prints what happened (`via` says how the tasks travel). Resolves with whether
 * everything went as expected.
 */
export async function runTasks(name, count, via) {
  // Remote tasks need a timeout: a pool process on another machine that dies holding a
  // task is seen from here only as that task not answering in time.
  const client = new TaskClient(name, { timeout: 10_000 });
  const started = performance.now();
  let ok = 0;
  let wrong = 0;
  const failures = [];
  const results = [];
  for (let id = 1; id <= count; id++) { // ids as TaskClient counts them: the first is 1
    // submit() waits while the task channel is full: the pool's pace sets ours.
    const { result } = await client.submit(id === MALFORMED ? { id: 'seven' } : task(id));
    results.push(result.then((sha256) => {
      if (sha256 === answer(task(id))) ok++;
      else wrong++;
    }, (error) => { failures.push({ id, error }); }));
    // Keep a bounded window of results outstanding: wait for the oldest beyond it.
    if (results.length >= 4096) await results.shift();
  }
  await Promise.all(results);
  const seconds = (performance.now() - started) / 1000;
  for (const { id, error } of failures) {
    console.log(`client: task ${id} failed${id === MALFORMED ? ' as expected' : ''}: ${error.code}: ${error.message}`);
  }
  console.log(`client: ${count} tasks ${via}: ${ok} ok (every SHA-256 checked), ${failures.length} failed, `
    + `${wrong} wrong; ${seconds.toFixed(2)} s, ${Math.round(count / seconds)} tasks/s`);

  // A task slower than its own timeout: ERR_RINGWIRE_TIMEOUT here, while the pool finishes
  // it anyway (a late result is dropped).
  const late = await client.run({ id: count + 1, delayMs: SLOW_MS }, { timeout: SLOW_TIMEOUT_MS })
    .then(() => undefined, (error) => error);
  const timedOut = late?.code === 'ERR_RINGWIRE_TIMEOUT';
  console.log(`client: a ${SLOW_MS} ms task with { timeout: ${SLOW_TIMEOUT_MS} } ${timedOut
    ? `timed out as expected: ${late.code}: ${late.message}` : `did not time out: ${late ? late.message : 'it answered'}`}`);

  await client.drain(); // ends the task stream on this machine
  client.close();
  const failedAsExpected = failures.length === 1 && failures[0].id === MALFORMED && failures[0].error.code === 'ERR_RINGWIRE_TASK_FAILED';
  return ok === count - 1 && wrong === 0 && failedAsExpected && timedOut;
}
