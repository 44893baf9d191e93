// What the machine lets this process do in parallel: spinning while waiting for a peer pays
// only when the peer can run at the same time, on another CPU.
import { availableParallelism } from 'node:os';

/** The CPU set can change (taskset, cgroups): look again at most this often. */
const RECHECK_MS = 100;

let cpus = availableParallelism();
let checkedAt = performance.now();

/** CPUs this process may run on (its affinity mask), re-read at most every RECHECK_MS. */
export function cpusForThisProcess(): number {
  const now = performance.now();
  if (now - checkedAt >= RECHECK_MS) {
    checkedAt = now;
    cpus = availableParallelism();
  }
  return cpus;
}
