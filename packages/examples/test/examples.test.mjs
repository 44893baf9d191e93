// Smoke tests: run each example as a user would (short runs), check its exit code and the
// lines it prints, and check that it left nothing in /dev/shm.
import { spawn } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { unlinkChannel } from 'ringwire';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

// The examples' channels in /dev/shm (one object each: semaphores live inside).
const EXAMPLE_ENTRY = /^rw\.((?:basics|rpc-re[qs]|fanin|cpeer-re[qs]|ticker|snapshots)-\d+|ex-(?:pool|natspool-[ab])-\d+\.[tr])$/;
const exampleEntries = () => readdirSync('/dev/shm').filter((entry) => EXAMPLE_ENTRY.test(entry));

/**
 * Runs `command args` in packages/examples in a process group of its own; resolves with its
 * exit code and output. Past `timeoutMs` the group gets SIGINT (the launcher cleans up), then
 * SIGKILL.
 */
function run(command, args, { timeoutMs = 30_000, env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    let timedOut = false;
    const killGroup = (signal) => {
      try { process.kill(-child.pid, signal); } catch { /* gone already */ }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGINT');
      setTimeout(() => killGroup('SIGKILL'), 2000).unref();
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      killGroup('SIGKILL'); // anything the launcher left running
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** Runs a Node script; a last argument that is an object holds run()'s options. */
const node = (script, ...args) => {
  const options = typeof args.at(-1) === 'object' ? args.pop() : {};
  return run(process.execPath, [script, ...args], options);
};

/** Asserts a clean exit and returns stdout's lines. */
function lines(result) {
  expect(result.timedOut, `timed out; stderr:\n${result.stderr}`).toBe(false);
  expect(result.code, `stderr:\n${result.stderr}\nstdout:\n${result.stdout}`).toBe(0);
  return result.stdout.trim().split('\n');
}

let before;
beforeEach(() => {
  before = new Set(exampleEntries());
});
afterEach(() => {
  const left = exampleEntries().filter((entry) => !before.has(entry));
  for (const entry of left) unlinkChannel(EXAMPLE_ENTRY.exec(entry)[1]); // do not leak into the next test
  expect(left, 'channels left in /dev/shm').toEqual([]);
});

describe('examples', () => {
  it('basics: one producer process, one consumer process', async () => {
    const out = lines(await node('basics/main.mjs', '200'));
    expect(out).toContain('producer: sent 200 messages');
    expect(out).toContain("consumer: received 200 messages, last: 'message 199'");
  });

  it('basics runs as `npm run basics`, with the default count', async () => {
    const out = lines(await run(npm, ['run', '--silent', 'basics']));
    expect(out).toContain("consumer: received 1000 messages, last: 'message 999'");
  });

  it('pool: a piscina pool in one process runs tasks another process produces', async () => {
    const out = lines(await node('pool/main.mjs', '3000'));
    expect(out).toContain("producer: one task failed as expected: ERR_RINGWIRE_TASK_FAILED: task 8 on '"
      + out.find((l) => l.includes('task 8 on'))?.split("'")[1] + "' failed: TypeError: not an integer: seven");
    expect(out.find((l) => l.startsWith('producer: 3000 tasks'))).toMatch(/^producer: 3000 tasks, 429 primes, 1 failed, \d+ tasks\/s$/);
    expect(out).toContain('pool: ran 3000 tasks on 2 threads (0 worker deaths)');
  });

  it('rpc: concurrent calls, a server error, a timed-out call and its late reply', async () => {
    const out = lines(await node('rpc/main.mjs'));
    expect(out).toContain('client: add(2, 3) = 5, multiply(6, 7) = 42, divide(1, 4) = 0.25');
    expect(out).toContain('client: divide(1, 0) failed: ERR_DIVIDE_BY_ZERO');
    expect(out).toContain('client: sleep(600) failed: ERR_RPC_TIMEOUT (sleep (id 5) got no reply within 200 ms)');
    expect(out).toContain('client: add(40, 2) = 42');
    expect(out).toContain('client: closed; late replies ignored: 1');
    expect(out).toContain('server: handled 6 requests');
  });

  it('fan-in: several producers, one consumer, one mpmc channel', async () => {
    const out = lines(await node('fan-in/main.mjs', '3', '100'));
    for (const id of [1, 2, 3]) {
      expect(out).toContain(`producer-${id}: sent 100 lines`);
      expect(out).toContain(`consumer: producer-${id}: 100 lines (info 80, warn 15, error 5)`);
    }
    expect(out).toContain('consumer: 300 lines from 3 sources, each source in order');
  });

  it('ticker: one publisher, three subscriber processes, every tick to each on one broadcast channel', async () => {
    const out = lines(await node('ticker/main.mjs', '2000'));
    expect(out).toContain('dashboard: 2000 ticks; last AAPL 103.24, MSFT 102.43, NVDA 101.62, TSLA 100.81');
    expect(out).toContain('vwap: 2000 ticks; AAPL 104.9960, MSFT 104.9967, NVDA 104.9840, TSLA 104.9767');
    expect(out).toContain('audit: 2000 ticks, every one in order, none missed');
    expect(out).toContain('publisher: sent 2000 ticks to 3 subscribers');
  });

  it('snapshots: messages far larger than the ring arrive whole', async () => {
    const out = lines(await node('snapshots/main.mjs', '16'));
    for (const version of [1, 2, 3]) expect(out).toContain(`consumer: snapshot-${version}, ${16 << 20} bytes, SHA-256 matches`);
    expect(out.some((line) => line.startsWith('producer: sent 3 snapshots of 16 MiB through a 64 KiB ring in '))).toBe(true);
  });

  it('anon-pool: a parent feeds three child processes through anonymous channels, nothing in /dev/shm', async () => {
    const out = lines(await node('anon-pool/main.mjs'));
    expect(out).toContain('anon-pool: 3000 jobs, 3000 results: each job answered exactly once, every SHA-256 checked');
    const shares = out.find((line) => line.startsWith('anon-pool: per worker: '));
    const [, ...taken] = /^anon-pool: per worker: worker-1 (\d+), worker-2 (\d+), worker-3 (\d+); [\d.]+ s \(\d+ jobs\/s\)$/.exec(shares) ?? [];
    expect(taken.map(Number), shares).toSatisfy((counts) => counts.length === 3 && counts.every((n) => n > 0));
    expect(taken.reduce((sum, n) => sum + Number(n), 0)).toBe(3000);
    // Each worker's own count agrees with what the parent received from it.
    taken.forEach((n, i) => expect(out).toContain(`worker-${i + 1}: answered ${n} jobs, then the job stream ended`));
    expect(out).toContain('anon-pool: /dev/shm: no new rw.* entry, nothing to remove');
  });

  it('anon-pool: a worker that crashes with a job in hand fails the run at once, not a hang', async () => {
    const result = await node('anon-pool/main.mjs', '3000', 'crash');
    expect(result.timedOut, `stderr:\n${result.stderr}`).toBe(false);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^worker-2: crashing on purpose with job \d+ in hand$/m);
    expect(result.stderr).toContain('anon-pool: worker-2 exited with code 1');
    expect(result.stdout).toContain('anon-pool: /dev/shm: no new rw.* entry, nothing to remove');
  });

  it('nats-pool: a TaskClient here, a piscina pool "on another machine", through two nats-servers in a cluster', async () => {
    const out = lines(await node('nats-pool/main.mjs', '2000', { timeoutMs: 90_000 })); // starts the servers first
    const line = (start) => out.find((l) => l.startsWith(start));
    expect(line('client: task 7 failed')).toMatch(
      /^client: task 7 failed as expected: ERR_RINGWIRE_TASK_FAILED: task 7 on 'ex-natspool-a-\d+' failed: TypeError: not an integer: seven$/);
    expect(line('client: 2000 tasks')).toMatch(
      /^client: 2000 tasks through nats a → b: 1999 ok \(every SHA-256 checked\), 1 failed, 0 wrong; [\d.]+ s, \d+ tasks\/s$/);
    expect(line('client: a 1000 ms task')).toMatch(
      /^client: a 1000 ms task with \{ timeout: 200 \} timed out as expected: ERR_RINGWIRE_TIMEOUT: task 2001 on 'ex-natspool-a-\d+' got no result within 200 ms$/);
    // The slow task's late result may or may not have crossed before the bridges closed.
    expect(line('client machine: bridged')).toMatch(/^client machine: bridged 2001 tasks out, 200[01] results in$/);
    expect(line('pool machine: SIGTERM')).toMatch(
      /^pool machine: SIGTERM: bridged 2001 tasks in, 200[01] results out; ran 2001 tasks on 2 threads \(0 worker deaths\)$/);
    expect(out).toContain('nats-pool: servers stopped, their directories removed; /dev/shm: no rw.* entry of this run left');
  });

  it('c-peer: a clear error without a C++ compiler, and nothing left behind', async () => {
    rmSync(path.join(root, 'c-peer/build'), { recursive: true, force: true }); // so it must compile
    const result = await node('c-peer/main.mjs', { env: { CXX: 'no-such-compiler' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('c-peer: no-such-compiler not found: this example needs a C++17 compiler');
  });

  it('c-peer: a C++ program answers over two spsc channels', async () => {
    const out = lines(await node('c-peer/main.mjs', { timeoutMs: 90_000 })); // compiles first
    expect(out).toContain('c-peer: [1, 2, 3] -> sum 6, sum of squares 14');
    expect(out).toContain('c-peer: [0.5, -0.5] -> sum 0, sum of squares 0.5');
    expect(out).toContain('c-peer: [] -> sum 0, sum of squares 0');
    expect(out).toContain('c-peer: [10, 20, 30, 40] -> sum 100, sum of squares 3000');
    expect(out).toContain('peer: answered 4 requests');
    expect(out).toContain('c-peer: 4 requests answered by C++');
  });
});
