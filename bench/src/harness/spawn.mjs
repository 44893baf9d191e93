// Forking workers and waiting for their control messages.
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { trackChild, trackPid } from './cleanup.mjs';

const workersDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workers');

/** Where --cpu-prof puts profiles (null: no profiling). Set by run.mjs. */
export const profiling = { dir: null };

/**
 * Forks workers/<file> with `config` as JSON in argv[2]. Every control message goes to
 * `mailbox`; an exit the caller did not ask for (see `expectExit`) fails the mailbox.
 */
export function spawnWorker(file, config, label, mailbox) {
  const execArgv = profiling.dir
    ? ['--cpu-prof', `--cpu-prof-dir=${profiling.dir}`, `--cpu-prof-name=${label}-${process.pid}-${Date.now()}.cpuprofile`]
    : [];
  const child = fork(path.join(workersDir, file), [JSON.stringify(config)],
    { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  trackChild(child);
  child.expectedExit = false;
  child.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      if (!child.expectedExit || code !== 0) {
        mailbox.fail(new Error(`${label} exited with ${signal ?? `code ${code}`}`));
      }
      resolve();
    });
  });
  child.on('message', (message) => {
    if (typeof message?.pid === 'number' && message.ctl === 'ready') trackPid(message.pid);
    mailbox.put(message);
  });
  child.on('error', (error) => mailbox.fail(error));
  return child;
}

/** Control messages from workers, taken by (from, ctl, i); a failure rejects every take. */
export class Mailbox {
  constructor(name) {
    this.name = name;
    this.messages = [];
    this.waiters = [];
    this.failure = null;
  }

  put(message) {
    if (message === null || typeof message !== 'object' || typeof message.ctl !== 'string') return;
    const index = this.waiters.findIndex((w) => matches(w, message));
    if (index < 0) {
      this.messages.push(message);
      return;
    }
    const [waiter] = this.waiters.splice(index, 1);
    clearTimeout(waiter.timer);
    waiter.resolve(message);
  }

  /** The next message from `from` of type `ctl` (for phase `i`, if given); rejects after timeoutMs. */
  take(from, ctl, i, timeoutMs = 30000) {
    if (this.failure) return Promise.reject(this.failure);
    const want = { from, ctl, i };
    const index = this.messages.findIndex((m) => matches(want, m));
    if (index >= 0) return Promise.resolve(this.messages.splice(index, 1)[0]);
    return new Promise((resolve, reject) => {
      const waiter = { ...want, resolve, reject, timer: undefined };
      waiter.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`${this.name}: no '${ctl}' from the ${from}${i === undefined ? '' : ` (phase ${i})`} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiter.timer.unref(); // a take nobody awaits any more must not keep the harness alive
      this.waiters.push(waiter);
    });
  }

  fail(error) {
    if (this.failure) return;
    this.failure = error;
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
  }
}

function matches(want, message) {
  return message.from === want.from && message.ctl === want.ctl
    && (want.i === undefined || message.i === want.i);
}

/** Resolves as `promise` does, or rejects with `message` after `ms`; never holds the process. */
export function withTimeout(promise, ms, message) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
