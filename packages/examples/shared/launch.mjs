// What every example's launcher needs: start child processes, wait for them, and leave nothing
// behind however it stops. A normal run ends in the launcher's `finally`; after a failure the
// children still running are killed (a receiver whose peer failed before opening the channel
// would wait for it forever); on Ctrl-C, the interrupt hooks (unlinking channels) run too.
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const children = new Set();
const interruptHooks = [];

/** Kills the children still running. */
export function stopChildren() {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
}

/** Runs `hook` if the launcher is interrupted (its `finally` blocks will not run then). */
export function onInterrupt(hook) {
  interruptHooks.push(hook);
}

process.on('exit', stopChildren);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping and cleaning up`);
    stopChildren();
    for (const hook of interruptHooks) {
      try { hook(); } catch { /* leaving anyway */ }
    }
    process.exit(128 + os.constants.signals[signal]);
  });
}

/**
 * Starts `command args`, writing to this process's stdout and stderr; `fds` are descriptors
 * it gets as 3, 4, … The child's `done` promise resolves when it exits with code 0 and
 * rejects otherwise.
 */
export function start(command, args, { label = path.basename(command), fds = [] } = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', ...fds] });
  children.add(child);
  child.done = new Promise((resolve, reject) => {
    child.on('error', (error) => {
      children.delete(child);
      reject(new Error(`${label} did not start: ${error.message}`));
    });
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (code === 0) resolve();
      else reject(new Error(`${label} exited with ${signal ?? `code ${code}`}`));
    });
  });
  child.done.catch(() => {}); // awaited by the launcher; this only keeps Node from warning early
  return child;
}

/**
 * Starts a Node script (a file: URL, e.g. `new URL('./producer.mjs', import.meta.url)`);
 * `options` as start()'s, the label defaulting to the script's file name.
 */
export function startNode(scriptUrl, args, options = {}) {
  const script = fileURLToPath(scriptUrl);
  return start(process.execPath, [script, ...args], { label: path.basename(script), ...options });
}
