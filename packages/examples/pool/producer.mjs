// A process producing tasks for a pool in another process, and collecting the results.
// usage: node producer.mjs <channel> [count]
import { TaskClient } from 'ringwire/pool';

const [channel, countText = '20000'] = process.argv.slice(2);
const count = Number(countText);
const client = new TaskClient(channel, { timeout: 30_000 });
const started = performance.now();
let primes = 0;
let failed = 0;
const results = [];
for (let n = 0; n < count; n++) {
  // submit() waits while the task channel is full: the pool's pace sets ours.
  const { result } = await client.submit({ n: n === 7 ? 'seven' : n });
  results.push(result.then(({ prime }) => { if (prime) primes++; }, (error) => {
    failed++;
    if (failed === 1) console.log(`producer: one task failed as expected: ${error.code}: ${error.message}`);
  }));
  // Keep a bounded window of results outstanding: wait for the oldest beyond it.
  if (results.length >= 4096) await results.shift();
}
await Promise.all(results);
await client.drain(); // ends the task stream: the pool finishes and stops
client.close();
const seconds = (performance.now() - started) / 1000;
console.log(`producer: ${count} tasks, ${primes} primes, ${failed} failed, ${Math.round(count / seconds)} tasks/s`);
