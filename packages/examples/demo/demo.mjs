// `npm start`: two Node processes pass 64-byte messages, first over a ringwire channel, then
// over a Unix domain socket, for about five seconds each; live throughput, then the ratio.
// This process only sets up and removes the channel / socket path; the producer and
// consumer (forked from producer.mjs and consumer.mjs) do the work.
import { fork } from 'node:child_process';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createChannel, unlinkChannel } from 'ringwire';

const here = path.dirname(fileURLToPath(import.meta.url));
const SECONDS = 5;

// What to undo however we leave: a normal exit, an error, or Ctrl-C.
const children = new Set();
const undo = new Map();

function cleanUp() {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  for (const fn of undo.values()) {
    try { fn(); } catch { /* leaving anyway */ }
  }
  undo.clear();
}

process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.log(`\n${signal === 'SIGINT' ? 'Interrupted' : signal}: stopping and cleaning up.`);
    cleanUp();
    process.exit(128 + os.constants.signals[signal]);
  });
}

/** Forks a demo process; rejects `failed` when it exits with an error. */
function start(script, args, onMessage, failed) {
  const child = fork(path.join(here, script), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  child.on('message', onMessage);
  child.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (code !== 0) failed(new Error(`${script} (${args[0]}) exited with ${signal ?? `code ${code}`}`));
      resolve();
    });
  });
  return child;
}

const label = { ringwire: 'ringwire', uds: 'unix socket' };
const formatRate = (rate) => `${(rate / 1e6).toFixed(2).padStart(6)} M msg/s`;

/** One round: consumer first (it must be ready to receive), then the producer. */
async function round(system, target) {
  let fail;
  const failed = new Promise((_, reject) => { fail = reject; });
  failed.catch(() => {}); // raced below; only an error while we wait for it matters
  let ready;
  let finished;
  const isReady = new Promise((resolve) => { ready = resolve; });
  const result = new Promise((resolve) => { finished = resolve; });
  const consumer = start('consumer.mjs', [system, target], (message) => {
    if (message.type === 'ready') ready();
    if (message.type === 'tick') {
      console.log(`${label[system].padEnd(12)} ${message.seconds.toFixed(1).padStart(4)} s  ${formatRate(message.rate)}`);
    }
    if (message.type === 'done') finished(message);
  }, fail);
  await Promise.race([isReady, failed]);
  const producer = start('producer.mjs', [system, target, String(SECONDS)], () => {}, fail);
  const outcome = await Promise.race([result, failed]);
  await Promise.race([Promise.all([consumer.exited, producer.exited]), failed]);
  if (outcome.bad !== 0) throw new Error(`${outcome.bad} ${system} messages arrived out of order or torn`);
  console.log(`${label[system].padEnd(12)} total  ${formatRate(outcome.rate)}  (${outcome.received.toLocaleString('en-US')} messages, all checked)\n`);
  return outcome.rate;
}

async function main() {
  console.log(`ringwire demo: 64-byte messages from one Node process to another, ${SECONDS} s each way\n`);

  // The pid keeps names unique; a channel with ours can only be a leftover of a killed run.
  const channel = `demo-${process.pid}`;
  unlinkChannel(channel);
  createChannel(channel, { capacity: 1 << 20 });
  undo.set('channel', () => unlinkChannel(channel));
  const ringwireRate = await round('ringwire', channel);
  undo.get('channel')();
  undo.delete('channel');

  const socketPath = path.join(os.tmpdir(), `ringwire-demo-${process.pid}.sock`);
  rmSync(socketPath, { force: true });
  undo.set('socket', () => rmSync(socketPath, { force: true }));
  const socketRate = await round('uds', socketPath);
  undo.get('socket')();
  undo.delete('socket');

  console.log(`ringwire moved 64-byte messages ${(ringwireRate / socketRate).toFixed(1)}x faster than a Unix socket`);
}

try {
  await main();
} catch (error) {
  console.error(`demo failed: ${error.message}`);
  // The other process may wait forever (a receiver cannot tell its sender died): exit now,
  // which kills it and cleans up through the 'exit' handler.
  process.exit(1);
}
