// A piscina pool in one process consuming tasks produced by another, results returned over
// a second channel (ringwire/pool). This launcher creates the two channels, starts both
// processes, and removes the channels when they are done.
// usage: node pool/main.mjs [count]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createTaskChannels, unlinkTaskChannels } from 'ringwire/pool';

const count = process.argv[2] ?? '20000';
const channel = `ex-pool-${process.pid}`;
createTaskChannels(channel, { capacity: 1 << 16 });
const run = (file, args) => {
  const child = spawn(process.execPath, [new URL(file, import.meta.url).pathname, ...args], { stdio: 'inherit' });
  return once(child, 'exit').then(([code]) => {
    if (code !== 0) throw new Error(`${file} exited with ${code}`);
  });
};
const cleanUp = () => unlinkTaskChannels(channel);
process.once('SIGINT', () => { cleanUp(); process.exit(130); });
try {
  await Promise.all([run('./pool-host.mjs', [channel, '2']), run('./producer.mjs', [channel, count])]);
} finally {
  cleanUp();
}
