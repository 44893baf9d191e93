// The names systems meet at, created by the harness and removed by it (also after a crash or
// a signal, through the cleanup registry): ringwire channels, socket paths and fifos.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createChannel, unlinkChannel } from 'ringwire';
import { cleanUp, onCleanup } from './cleanup.mjs';

let counter = 0;

/**
 * A channel name of our own: the pid makes it ours; a counter makes it new. A run that judges
 * what it leaves in /dev/shm (.ci/run) sets RINGWIRE_TEST_PREFIX for every name it makes.
 */
export function channelName() {
  return `${process.env.RINGWIRE_TEST_PREFIX ?? ''}rwb-${process.pid}-${++counter}`;
}

/** Creates a channel, registered for removal; returns its name. */
export function channel(options) {
  const name = channelName();
  createChannel(name, options);
  onCleanup(name, () => unlinkChannel(name));
  return name;
}

/** Removes a channel made by channel() (or registered under its name). */
export function release(key) {
  cleanUp(key);
}

/** Ring capacity for messages of `size` bytes: room for several, at least 1 MiB. */
export function capacityFor(size) {
  let capacity = 1 << 20;
  while (capacity < 8 * (size + 8)) capacity *= 2;
  return capacity;
}

/** A path in the temp directory for a socket or fifo, removed at cleanup. */
export function tmpPath(suffix) {
  const file = path.join(os.tmpdir(), `rwbench-${process.pid}-${++counter}.${suffix}`);
  rmSync(file, { force: true });
  onCleanup(file, () => rmSync(file, { force: true }));
  return file;
}

/** A named pipe made with mkfifo, removed at cleanup. */
export function fifo() {
  const file = tmpPath('fifo');
  execFileSync('mkfifo', ['-m', '600', file]);
  return file;
}
