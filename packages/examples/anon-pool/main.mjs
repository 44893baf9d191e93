// `npm run anon-pool [-- <jobs> [crash]]`: a parent process feeding a pool of child processes
// through anonymous channels — channels with no name, nothing in /dev/shm, nothing to remove.
// Two MPMC channels: jobs (this process sends, the workers compete: each job goes to exactly
// one) and results (the workers send, this process receives). Each worker gets both as file
// descriptors 3 and 4 in spawn's stdio array; once the workers are started this process
// closes its own descriptors (its endpoints keep working), and the memory goes when the last
// process holding it exits. This process checks every answer against its own computation.
// With 'crash', worker-2 dies on its first job: the launcher fails loudly instead of waiting.
import { readdirSync, readlinkSync } from 'node:fs';
import { createAnonymousChannel } from 'ringwire';
import { startNode, stopChildren } from '../shared/launch.mjs';
import { digest, job } from './job.mjs';

const count = Number(process.argv[2] ?? 3000);
const crash = process.argv[3];
if (!(Number.isInteger(count) && count >= 1) || (crash !== undefined && crash !== 'crash')) {
  console.error('usage: node anon-pool/main.mjs [jobs] [crash]');
  process.exit(2);
}
const WORKERS = 3;

const shmEntries = () => readdirSync('/dev/shm').filter((entry) => entry.startsWith('rw.'));
const before = new Set(shmEntries());
const expected = Array.from({ length: count }, (_, id) => digest(job(id)));

const jobsChannel = createAnonymousChannel({ mode: 'mpmc', capacity: 16 * 1024 });
// The results end once every worker has ended its part (or died); each worker's first
// message says it is open, so none can end the channel before another has opened.
const resultsChannel = createAnonymousChannel({ mode: 'mpmc', capacity: 64 * 1024, endWhen: 'last-sender' });
const backing = readlinkSync(`/proc/self/fd/${jobsChannel.fd}`);
// Our ends open before any worker starts: should this process die, a worker waiting for
// jobs gets ERR_RINGWIRE_PEER_DEAD instead of waiting forever.
const jobs = jobsChannel.openSender({ codec: 'json' });
const results = resultsChannel.openReceiver({ codec: 'json' });
try {
  const workers = Array.from({ length: WORKERS }, (_, i) => {
    const name = `worker-${i + 1}`;
    return startNode(new URL('./worker.mjs', import.meta.url), [name, ...(crash && i === 1 ? ['crash'] : [])],
      { label: name, fds: [jobsChannel.fd, resultsChannel.fd] }); // the child's fds 3 and 4
  });
  jobsChannel.close(); // the workers and our endpoints hold the channels now
  resultsChannel.close();
  console.log(`anon-pool: ${WORKERS} workers, each given the jobs and results channels as fds 3 and 4 (anonymous, MPMC: ${backing})`);

  const perWorker = new Map();
  const seen = new Uint8Array(count);
  let received = 0, duplicated = 0, wrong = 0, started = 0;
  const feed = async () => {
    for (let id = 0; id < count; id++) await jobs.send(job(id)); // waits while the ring is full
    await jobs.end(); // each worker's loop ends once the jobs are taken
  };
  const collect = async () => {
    for await (const { id, worker, sha256 } of results) { // until the last worker has ended
      received++;
      if (!(Number.isInteger(id) && id >= 0 && id < count) || sha256 !== expected[id]) wrong++;
      else if (seen[id]++ > 0) duplicated++;
      perWorker.set(worker, (perWorker.get(worker) ?? 0) + 1);
    }
  };
  const work = (async () => {
    for (let ready = 0; ready < WORKERS; ready++) await results.recv(); // { ready: name }
    started = performance.now();
    await Promise.all([feed(), collect()]); // at once: a full results ring holds the workers up
  })();
  // Promise.all rejects as soon as one worker exits with an error: a crash ends the run here
  // rather than leaving us waiting for an answer that will never come.
  const exits = Promise.all(workers.map((worker) => worker.done));
  await Promise.race([work, exits.then(() => work)]);
  await exits;
  const seconds = (performance.now() - started) / 1000;

  const missing = seen.reduce((n, times) => n + (times === 0 ? 1 : 0), 0);
  const ok = received === count && missing === 0 && duplicated === 0 && wrong === 0;
  console.log(`anon-pool: ${count} jobs, ${received} results: ${ok ? 'each job answered exactly once, every SHA-256 checked'
    : `${missing} missing, ${duplicated} duplicated, ${wrong} wrong`}`);
  const shares = [...perWorker].sort(([a], [b]) => a.localeCompare(b)).map(([worker, n]) => `${worker} ${n}`);
  console.log(`anon-pool: per worker: ${shares.join(', ')}; ${seconds.toFixed(2)} s (${Math.round(count / seconds)} jobs/s)`);
  if (!ok) process.exitCode = 1;
} catch (error) {
  console.error(`anon-pool: ${error.message}`);
  process.exitCode = 1;
} finally {
  jobs.close(); // settles a send or an iteration still pending after a failure
  results.close();
  jobsChannel.close();
  resultsChannel.close();
  stopChildren();
}

const appeared = shmEntries().filter((entry) => !before.has(entry));
console.log(`anon-pool: /dev/shm: ${appeared.length === 0 ? 'no new rw.* entry, nothing to remove' : `new: ${appeared.join(', ')}`}`);
