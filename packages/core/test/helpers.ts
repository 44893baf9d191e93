import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { unlinkChannel } from '../src/index.js';

const created: string[] = [];
let counter = 0;

/**
 * The prefix of every name this test run makes (see global-setup.ts), with this worker's own
 * part: test files run in parallel workers.
 */
const runPrefix = process.env.RINGWIRE_TEST_PREFIX;
if (runPrefix === undefined) throw new Error('RINGWIRE_TEST_PREFIX is unset: run the tests through vitest (global-setup.ts)');
export const RUN_PREFIX = `${runPrefix}${(process.pid % 1296).toString(36)}.`;

/** A fresh name with this run's prefix, at most `max` characters (the tag may be cut). */
export function freshName(tag: string, max = 26): string {
  return `${RUN_PREFIX}${(counter++).toString(36)}.${tag}`.slice(0, max);
}

/** A fresh channel name, unlinked after the current test whatever happens. */
export function channelName(tag: string): string {
  const name = freshName(tag);
  created.push(name);
  return name;
}

afterEach(() => {
  for (const name of created.splice(0)) unlinkChannel(name);
});

export const fixture = (file: string) => fileURLToPath(new URL(`./fixtures/${file}`, import.meta.url));

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a fixture script in a child process (built JS), failing after `timeoutMs`. */
export function runChild(file: string, args: string[], timeoutMs = 60_000,
  env?: Record<string, string>, fds: number[] = []): Promise<ChildResult> & { pid: number; output(): string } {
  // `fds`: descriptors of this process the child gets as its 3, 4, ...
  const child = spawn(process.execPath, [fixture(file), ...args], {
    stdio: ['ignore', 'pipe', 'pipe', ...fds], env: env === undefined ? process.env : { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const done = new Promise<ChildResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not finish in ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    // 'close', not 'exit': output may still be in the pipes when the process exits.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return Object.assign(done, { pid: child.pid!, output: () => stdout });
}

/** Resolves when `predicate` holds, polling; rejects after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * Starts fixtures/hold.mjs (an endpoint that stays open until killed) and resolves once it has
 * opened; `kill()` ends it with SIGKILL, as a crash would.
 */
export async function holder(...args: string[]): Promise<{ kill(): Promise<void> }> {
  const child = spawn(process.execPath, [fixture('hold.mjs'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  await once(child.stdout, 'data');
  return { kill: async () => { child.kill('SIGKILL'); await exited; } };
}
