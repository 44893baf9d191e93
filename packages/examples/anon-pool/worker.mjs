// One of the pool's child processes. The launcher handed it two anonymous channels in its
// stdio array: fd 3 is the jobs channel, fd 4 the results channel (both MPMC, JSON). It
// announces itself on the results channel, then competes with the other workers for jobs —
// each job goes to exactly one of them — answering each, until the job stream ends; then it
// ends its part of the results (the channel was created with endWhen: 'last-sender').
//   node worker.mjs <name> [crash]   ('crash': exit(1) on the first job, unanswered)
import { openReceiver, openSender } from 'ringwire';
import { digest } from './job.mjs';

const [name, crash] = process.argv.slice(2);
const jobs = openReceiver({ fd: 3 }, { codec: 'json' });
const results = openSender({ fd: 4 }, { codec: 'json' });
let taken = 0;
try {
  await results.send({ ready: name }); // both ends are open: the launcher may start
  for await (const job of jobs) {
    if (crash === 'crash') {
      console.error(`${name}: crashing on purpose with job ${job.id} in hand`);
      process.exit(1); // no close(), no end(): as a process that dies does
    }
    await results.send({ id: job.id, worker: name, sha256: digest(job) });
    taken++;
  }
  await results.end(); // this worker's part; the channel ends with the last worker's
} finally {
  jobs.close();
  results.close();
}
console.log(`${name}: answered ${taken} jobs, then the job stream ended`);
