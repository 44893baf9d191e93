// Creating channels when the system pushes back: a /dev/shm too small, a creator killed at any
// instant, descriptors running out, and every error the native layer raises.
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createChannel, gc, openReceiver, openSender, RingwireError, stats, unlinkChannel,
} from '../src/index.js';
import { channelName, fixture, freshName, RUN_PREFIX } from './helpers.js';

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a shell command line (a fixture under unshare or ulimit), resolving when it ends. */
function sh(line: string, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', line], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`'${line}' did not finish in ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const node = (file: string, ...args: string[]) => [process.execPath, fixture(file), ...args].map((a) => `'${a}'`).join(' ');
const canUnshare = spawnSync('unshare', ['-m', 'true']).status === 0;

describe('creating a channel', () => {
  it.skipIf(!canUnshare)('a /dev/shm too small: ERR_RINGWIRE_NO_SPACE at creation (never SIGBUS later), nothing left behind, and what fits works', async () => {
    // A private mount namespace with its own 512 KiB /dev/shm: the machine's is never touched.
    const run = await sh(`exec unshare -m --propagation private sh -c 'mount -t tmpfs -o size=512k tmpfs /dev/shm && exec ${node('no-space.mjs').replace(/'/g, '"')}'`);
    expect(run.signal, `killed by ${run.signal}: ${run.stderr}`).toBeNull();
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.big).toMatchObject({ ringwire: true, code: 'ERR_RINGWIRE_NO_SPACE', syscall: 'posix_fallocate', errno: 28 });
    // It says how much was needed and free, and how to give /dev/shm more room.
    expect(report.big.message).toMatch(/needs 1\.0 MiB .* has \d+ KiB free/);
    expect(report.big.message).toMatch(/--shm-size/);
    expect(report.leftAfterBig).toEqual([]);
    expect(report.smallReceived).toBeGreaterThan(64);
    expect(report.leftWhileOpen).toEqual(['rw.small']); // a semaphore channel is one object
    expect(report.leftAtEnd).toEqual([]);
  });

  it('a creator killed at any instant leaves nothing, or a complete channel that gc() collects', async () => {
    const prefix = freshName('k', 20);
    const debris: string[] = [];
    // Named semaphores (and glibc's temporary files for them) would show up as sem.*. (Those
    // of other test files' 'named-semaphore' channels, sem.rws.<key>.*, come and go meanwhile.)
    const semaphores = () => readdirSync('/dev/shm').filter((e) => e.startsWith('sem.') && !e.startsWith('sem.rws.'));
    const semaphoresBefore = new Set(semaphores());
    let complete = 0;
    for (let round = 0; round < 40; round++) {
      const child = spawn(process.execPath, [fixture('create-loop.mjs'), prefix], { stdio: ['ignore', 'pipe', 'inherit'] });
      const closed = new Promise((resolve) => child.on('close', resolve));
      await new Promise((resolve) => child.stdout.once('data', resolve));
      // A random instant inside the loop (each turn is tens of microseconds).
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 15));
      child.kill('SIGKILL');
      await closed;
      for (const entry of readdirSync('/dev/shm').filter((e) => e.startsWith(`rw.${prefix}`) || e.includes(prefix))) {
        const name = entry.slice(3);
        try {
          expect(stats(name).messagesSent).toBe(0);
          complete++;
        } catch (error) {
          debris.push(`${entry}: ${(error as Error).message}`);
        }
      }
      // Its creator is dead and it was never used: gc() takes it.
      gc({ prefix });
      for (const entry of readdirSync('/dev/shm').filter((e) => e.includes(prefix))) {
        debris.push(`${entry} (left by gc)`);
        unlinkChannel(entry.slice(3));
      }
    }
    expect(debris).toEqual([]);
    expect(semaphores().filter((e) => !semaphoresBefore.has(e))).toEqual([]);
    expect(complete).toBeGreaterThan(0); // some kills came between a create and its unlink
  }, 120_000);
});

describe('gc() and what a creator left half-made where creation cannot be atomic', () => {
  it('removes an object with no magic once it is older than any creation takes; keeps fresh and foreign ones', () => {
    const file = (name: string) => `/dev/shm/rw.${name}`;
    const past = new Date(Date.now() - 60_000);
    const empty = channelName('half0');
    writeFileSync(file(empty), Buffer.alloc(0), { mode: 0o600 });
    utimesSync(file(empty), past, past);
    const noMagic = channelName('half1');
    writeFileSync(file(noMagic), Buffer.alloc(8192), { mode: 0o600 });
    utimesSync(file(noMagic), past, past);
    const fresh = channelName('half2');
    writeFileSync(file(fresh), Buffer.alloc(0), { mode: 0o600 });
    const foreign = channelName('half3');
    writeFileSync(file(foreign), Buffer.concat([Buffer.from('not ours'), randomBytes(8184)]), { mode: 0o600 });
    utimesSync(file(foreign), past, past);
    const removed = gc({ prefix: RUN_PREFIX });
    expect(removed).toEqual(expect.arrayContaining([empty, noMagic]));
    expect(removed).not.toContain(fresh);
    expect(removed).not.toContain(foreign);
    expect([empty, noMagic, fresh, foreign].map((n) => existsSync(file(n)))).toEqual([false, false, true, true]);
  });
});

describe('errors from the native layer', () => {
  it('are RingwireErrors with stable codes', () => {
    const expectRingwire = (fn: () => unknown, code: string) => {
      let caught: unknown;
      try {
        fn();
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(RingwireError);
      expect(caught).toMatchObject({ code, name: 'RingwireError' });
    };
    const name = channelName('errs');
    createChannel(name, { capacity: 1024 });
    expectRingwire(() => createChannel(name), 'ERR_RINGWIRE_EXISTS');
    expectRingwire(() => openSender(`${name}.none`), 'ERR_RINGWIRE_NOT_FOUND');
    expectRingwire(() => stats(`${name}.none`), 'ERR_RINGWIRE_NOT_FOUND');
    const garbage = channelName('garbage');
    writeFileSync(`/dev/shm/rw.${garbage}`, randomBytes(8192), { mode: 0o600 });
    expectRingwire(() => openReceiver(garbage), 'ERR_RINGWIRE_INCOMPATIBLE');
    const empty = channelName('empty');
    writeFileSync(`/dev/shm/rw.${empty}`, Buffer.alloc(0), { mode: 0o600 });
    expectRingwire(() => openReceiver(empty), 'ERR_RINGWIRE_CORRUPT');
    if (process.getuid?.() === 0) {
      const foreign = channelName('foreign');
      createChannel(foreign, { capacity: 1024 });
      chownSync(`/dev/shm/rw.${foreign}`, 65534, 65534);
      expectRingwire(() => openSender(foreign), 'ERR_RINGWIRE_PERMISSION');
    }
  });

  it('running out of descriptors: ERR_RINGWIRE_SYSTEM with errno and syscall', async () => {
    const run = await sh(`ulimit -n 64 && exec ${node('open-many.mjs', freshName('fd', 22))}`);
    expect(run.code, run.stderr).toBe(0);
    const { opened, failure } = JSON.parse(run.stdout);
    expect(opened).toBeGreaterThan(5);
    expect(failure).toMatchObject({ ringwire: true, code: 'ERR_RINGWIRE_SYSTEM', errno: 24 });
    expect(['shm_open', 'open']).toContain(failure.syscall);
    expect(failure.message).toMatch(/EMFILE/);
  });
});
