// What the machine lets this process do in parallel: spinning while waiting for a peer pays
// only when the peer can run at the same time, on another CPU. And whether a process exists.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** The CPU sets can change (taskset, cgroups): look again at most this often. */
const RECHECK_MS = 100;

let cpus = availableParallelism();
let checkedAt = performance.now();

/** CPUs this thread may run on (its affinity mask), re-read at most every RECHECK_MS. */
export function cpusForThisProcess(): number {
  const now = performance.now();
  if (now - checkedAt >= RECHECK_MS) {
    checkedAt = now;
    cpus = availableParallelism();
  }
  return cpus;
}

/** The "Cpus_allowed_list" of a /proc status file, or null if it cannot be read. */
function allowedCpus(file: string): string | null {
  try {
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(file, 'latin1'))?.[1] ?? null;
  } catch {
    return null;
  }
}

const shared = new Map<number, { at: number; value: boolean }>();

/**
 * Whether this thread and process `peerPid` can only take turns on one CPU: this thread may
 * run on one CPU only, and the peer only on that same one (Linux /proc). A peer pinned to
 * another CPU can answer while we spin; one that needs our CPU cannot. When it cannot be
 * told (no peer pid, no /proc), a thread with one CPU assumes the peer shares it, as in a
 * one-CPU container. Re-read at most every RECHECK_MS per peer.
 */
export function sharesOnlyCpuWith(peerPid: number): boolean {
  if (cpusForThisProcess() > 1) return false;
  if (!(peerPid > 0)) return true;
  const now = performance.now();
  const known = shared.get(peerPid);
  if (known !== undefined && now - known.at < RECHECK_MS) return known.value;
  const mine = allowedCpus('/proc/thread-self/status');
  const theirs = allowedCpus(`/proc/${peerPid}/status`);
  const value = mine === null || theirs === null || mine === theirs;
  if (shared.size >= 64) shared.clear(); // peers come and go: keep the cache small
  shared.set(peerPid, { at: now, value });
  return value;
}

/** Whether a process with this pid exists (EPERM: it does, owned by another user). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
