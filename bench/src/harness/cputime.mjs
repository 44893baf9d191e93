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

/**
 * CPU seconds (user + system, every thread: what schedstat says they ran) of each process of
 * a group so far: `pids` is { role: pid } (a pid under two roles is read once, under the
 * first). Returns { role: seconds }, or null if any process could not be read (not Linux,
 * or gone).
 */
export function groupCpu(pids) {
  if (!pids) return null;
  const out = {};
  const seen = new Set();
  for (const [role, pid] of Object.entries(pids)) {
    if (!Number.isInteger(pid) || seen.has(pid)) continue;
    seen.add(pid);
    const t = threadTimes(pid);
    if (t === null) return null;
    out[role] = t.main.run + t.others.run;
  }
  return out;
}

/** The CPU seconds per role between two groupCpu() samples (null if either is). */
export function cpuBetween(before, after) {
  if (!before || !after) return null;
  const out = {};
  for (const role of Object.keys(before)) {
    if (after[role] === undefined) return null;
    out[role] = Math.max(0, after[role] - before[role]);
  }
  return out;
}

/** Total CPU nanoseconds per message over a window, from cpuBetween()'s answer; null if none. */
export function nsPerMessage(cpu, messages) {
  if (!cpu || !(messages > 0)) return null;
  const seconds = Object.values(cpu).reduce((a, b) => a + b, 0);
  return seconds > 0 ? (seconds * 1e9) / messages : null;
}
