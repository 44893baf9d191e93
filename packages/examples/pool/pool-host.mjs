// A process with a piscina pool, fed from the task channel another process writes to.
// usage: node pool-host.mjs <channel> [threads]
import Piscina from 'piscina';
import { servePool } from 'ringwire/pool';

const [channel, threads = '2'] = process.argv.slice(2);
const pool = new Piscina({
  filename: new URL('./worker.mjs', import.meta.url).href,
  minThreads: Number(threads),
  maxThreads: Number(threads),
});
// One long-lived loop per thread; returns once the producer ends the task stream and every
// task sent has been answered.
const { tasks, deaths } = await servePool(pool, channel);
await pool.destroy();
console.log(`pool: ran ${tasks} tasks on ${threads} threads (${deaths} worker deaths)`);
