// Everything the harness must undo, kept so that success, an error, Ctrl-C or SIGTERM all
// leave nothing behind: worker processes (and the consumers they spawned), channels,
// sockets and fifos. Names carry the harness's pid, so a leftover can only be from a killed run.
import os from 'node:os';

const children = new Set();
const pids = new Set();
const undos = new Map();

/** A child process to kill if the run stops early; forgotten when it exits. */
export function trackChild(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** A process the harness did not fork itself (a worker's own consumer): killed by pid. */
export function trackPid(pid) {
  pids.add(pid);
}

export function forgetPid(pid) {
  pids.delete(pid);
}

/** Registers an undo step under `key` (replacing one there). */
export function onCleanup(key, undo) {
  undos.set(key, undo);
}

/** Runs and forgets the undo step under `key` now. */
export function cleanUp(key) {
  const undo = undos.get(key);
  undos.delete(key);
  undo?.();
}

export function killChildren() {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  pids.clear();
}

export function cleanUpAll() {
  killChildren();
  for (const undo of undos.values()) {
    try {
      undo();
    } catch {
      // best effort while exiting: report nothing
    }
  }
  undos.clear();
}

let installed = false;

/** Installs the exit and signal handlers (once). `extra` runs first on a signal. */
export function installHandlers(extra = () => {}) {
  if (installed) return;
  installed = true;
  process.on('exit', cleanUpAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      console.error(`\n${signal}: stopping workers and cleaning up`);
      try {
        extra();
      } finally {
        cleanUpAll();
        process.exit(128 + os.constants.signals[signal]);
      }
    });
  }
}
