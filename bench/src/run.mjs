// The cross-process benchmark harness. Each system runs in two fresh processes, a producer
// and a consumer (workers/<system>.mjs), one system at a time; the harness only creates and
// removes the rendezvous (channel or socket path), relays progress and collects results.
//
//   node bench/src/run.mjs [--quick] [--only=ringwire|uds] [--cpu-prof[=dir]]
//
// Scenario S1: 64-byte messages, one producer process, one consumer process.
import { fork } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createChannel, unlinkChannel } from 'ringwire';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((a) => a.startsWith('--only='))?.slice(7);
const profArg = args.find((a) => a === '--cpu-prof' || a.startsWith('--cpu-prof='));
const profDir = profArg && path.resolve(profArg.slice(11) || path.join(os.tmpdir(), 'ringwire-prof'));
const known = (a) => a === '--quick' || /^--only=(ringwire|uds)$/.test(a) || a === profArg;
if (!args.every(known)) {
  console.error('usage: node bench/src/run.mjs [--quick] [--only=ringwire|uds] [--cpu-prof[=dir]]');
  process.exit(2);
}
const timing = quick ? { warmupMs: 300, measureMs: 1000 } : { warmupMs: 700, measureMs: 3000 };

// Everything to undo, kept so that an error, Ctrl-C or SIGTERM still leaves nothing behind.
const children = new Set();
const cleanups = new Map();

function cleanUp() {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  for (const undo of cleanups.values()) {
    try { undo(); } catch { /* best effort: report nothing while exiting */ }
  }
  cleanups.clear();
}

process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping workers and cleaning up`);
    cleanUp();
    process.exit(128 + os.constants.signals[signal]);
  });
}

/** A rendezvous per system: created here, removed by cleanUp (also after a crash). */
const systems = {
  ringwire: {
    open() {
      // The pid makes the name ours; one with it can only be left over from a killed run.
      const name = `rwbench-${process.pid}`;
      unlinkChannel(name);
      createChannel(name, { capacity: 1 << 20 });
      cleanups.set(name, () => unlinkChannel(name));
      return name;
    },
  },
  uds: {
    open() {
      const socketPath = path.join(os.tmpdir(), `rwbench-${process.pid}.sock`);
      rmSync(socketPath, { force: true });
      cleanups.set(socketPath, () => rmSync(socketPath, { force: true }));
      return socketPath;
    },
  },
};

function close(target) {
  cleanups.get(target)?.();
  cleanups.delete(target);
}

/** Forks a worker; its messages go to `listener`; rejects `failed` if it dies unexpectedly. */
function spawnWorker(system, role, target, listener, failed) {
  const execArgv = profDir
    ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=${system}-${role}-${process.pid}.cpuprofile`]
    : [];
  const child = fork(path.join(here, 'workers', `${system}.mjs`),
    [role, target, String(timing.warmupMs), String(timing.measureMs)],
    { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  child.on('message', listener);
  child.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (code !== 0) failed(new Error(`${system} ${role} exited with ${signal ?? `code ${code}`}`));
      resolve();
    });
  });
  return child;
}

/** Runs one system end to end and returns the consumer's measured rate. */
async function measure(system) {
  const target = systems[system].open();
  let fail;
  const failed = new Promise((_, reject) => { fail = reject; });
  failed.catch(() => {}); // it is raced below; a late failure (our own kill) is no error
  const waiters = new Map();
  const expect = (role, type) => new Promise((resolve) => waiters.set(`${role}:${type}`, resolve));
  const listen = (role) => (message) => {
    if (message.type === 'progress') {
      console.log(`  ${system.padEnd(9)} ${message.seconds.toFixed(1).padStart(4)} s  ${format(message.rate)} msg/s`);
    }
    waiters.get(`${role}:${message.type}`)?.(message);
  };
  const race = (promise) => Promise.race([promise, failed]);
  try {
    // The consumer first (it listens, for uds), then the producer; the warm-up starts with the
    // consumer's first message.
    const consumerReady = expect('consumer', 'ready');
    const consumer = spawnWorker(system, 'consumer', target, listen('consumer'), fail);
    await race(consumerReady);
    const result = expect('consumer', 'result');
    const sent = expect('producer', 'done');
    const received = expect('consumer', 'done');
    const producer = spawnWorker(system, 'producer', target, listen('producer'), fail);
    console.log(`  ${system.padEnd(9)} warming up (${timing.warmupMs} ms), then measuring ${timing.measureMs} ms`);
    const measured = await race(result);
    producer.send({ type: 'stop' });
    const [{ sent: total }, end] = await race(Promise.all([sent, received]));
    await race(Promise.all([producer.exited, consumer.exited]));
    // Every message must have arrived, in order and whole, or the number means nothing.
    const bad = measured.bad + end.bad;
    if (end.received !== total || bad !== 0) {
      throw new Error(`${system}: sent ${total}, received ${end.received}, ${bad} out of order or torn`);
    }
    return { value: Math.round(measured.rate), messages: measured.messages, seconds: measured.seconds, total };
  } finally {
    for (const child of children) child.kill('SIGKILL');
    close(target);
  }
}

function format(rate) {
  return rate >= 1e6 ? `${(rate / 1e6).toFixed(2).padStart(6)} M` : `${(rate / 1e3).toFixed(1).padStart(6)} k`;
}

const machine = {
  cpus: os.cpus().length,
  model: os.cpus()[0]?.model.trim() ?? 'unknown',
  node: process.version,
  os: `${os.type()} ${os.release()} ${os.arch()}`,
};
console.log(`ringwire bench: ${machine.cpus} x ${machine.model}, node ${machine.node}, ${machine.os}${quick ? ' (quick)' : ''}`);
if (profDir) console.log(`CPU profiles go to ${profDir}`);

const scenario = { id: 'S1', title: '64-byte messages, 1 producer process -> 1 consumer process', unit: 'msg/s', results: [] };
console.log(`\n${scenario.id}: ${scenario.title}`);
for (const system of Object.keys(systems)) {
  if (only && only !== system) continue;
  let r;
  try {
    r = await measure(system);
  } catch (error) {
    console.error(`bench failed: ${error.message}`);
    process.exit(1); // the 'exit' handler kills the workers and removes what is left
  }
  console.log(`  ${system.padEnd(9)} ${format(r.value)} msg/s (${r.messages} messages in ${r.seconds.toFixed(2)} s; ${r.total} sent and checked)`);
  scenario.results.push({ system, size: 64, value: r.value });
}

const base = scenario.results.find((r) => r.system === 'ringwire')?.value;
console.log(`\n${'system'.padEnd(10)}${'msg/s'.padStart(14)}${'ringwire ÷ system'.padStart(20)}`);
for (const { system, value } of scenario.results) {
  const ratio = base ? `${(base / value).toFixed(1)}x` : '-';
  console.log(`${system.padEnd(10)}${Math.round(value).toLocaleString('en-US').padStart(14)}${ratio.padStart(20)}`);
}

const out = path.join(here, '..', 'results', 'latest.json');
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ machine, when: new Date().toISOString(), quick, scenarios: [scenario] }, null, 2)}\n`);
console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
