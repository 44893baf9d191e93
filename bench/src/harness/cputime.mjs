// CPU time of a process's threads, from /proc (Linux; null elsewhere): how long its main
// thread and its other threads (worker threads, and V8's and libuv's helpers) ran, and how
// long they were runnable but waiting for a core (the run queue: what contention costs).
import { readdirSync, readFileSync } from 'node:fs';

/** { main: { run, wait }, others: { run, wait } } in seconds so far, or null. */
export function threadTimes(pid) {
  try {
    const out = { main: { run: 0, wait: 0 }, others: { run: 0, wait: 0 } };
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      let stat;
      try {
        stat = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ');
      } catch {
        continue; // the thread is gone
      }
      const into = Number(tid) === pid ? out.main : out.others;
      into.run += Number(stat[0]) / 1e9;
      into.wait += Number(stat[1]) / 1e9;
    }
    return out;
  } catch {
    return null;
  }
}

/** What ran between two threadTimes() samples (null if either is). */
export function timesBetween(before, after) {
  if (!before || !after) return null;
  const d = (k) => ({
    run: Math.max(0, after[k].run - before[k].run),
    wait: Math.max(0, after[k].wait - before[k].wait),
  });
  return { main: d('main'), others: d('others') };
}
