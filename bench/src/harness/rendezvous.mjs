// The names systems meet at, created by the harness and removed by it (also after a crash or
// a signal, through the cleanup registry): ringwire channels (in shared memory, or in a file:
// S12), socket paths and fifos.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statfsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createChannel, unlinkChannel } from 'ringwire';
import { MEMORY_FILE_SYSTEMS } from '../systems/lists.mjs';
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

/**
 * The file system holding `dir`: { dir, type, source, mount, magic } (type, source and mount
 * from the mount that covers it in /proc/self/mounts, the last one mounted there; magic:
 * statfs's f_type). Where /proc cannot tell, type is the magic number in hex.
 */
export function fileSystemOf(dir) {
  const real = realpathSync(dir);
  const magic = statfsSync(real).type;
  let best = null;
  try {
    // "source mountpoint type options 0 0", with blanks and the like as octal escapes.
    const unescape = (f) => f.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
    for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
      const [source, mount, type] = line.split(' ').map(unescape);
      if (type === undefined) continue;
      const inside = mount === '/' || real === mount || real.startsWith(`${mount}/`);
      if (inside && (best === null || mount.length >= best.mount.length)) best = { type, source, mount };
    }
  } catch {
    // not Linux: the magic number says what it can
  }
  return { dir, ...(best ?? { type: `0x${magic.toString(16)}`, source: null, mount: null }), magic };
}

const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'results');
let fileBase = null;

/**
 * Where file-backed channels go (S12), chosen once per run: the temp directory, unless its
 * file system keeps files in memory (tmpfs, ramfs: a file there is shared memory by another
 * name), then /var/tmp, then bench/results; the first writable one on a disk. Returns its
 * fileSystemOf().
 */
export function fileChannelBase() {
  if (fileBase !== null) return fileBase;
  const tried = [];
  for (const dir of [os.tmpdir(), '/var/tmp', resultsDir]) {
    try {
      if (dir === resultsDir) mkdirSync(dir, { recursive: true });
      accessSync(dir, constants.W_OK);
      const fs = fileSystemOf(dir);
      if (!MEMORY_FILE_SYSTEMS.has(fs.magic)) {
        fileBase = fs;
        return fs;
      }
      tried.push(`${dir} is on ${MEMORY_FILE_SYSTEMS.get(fs.magic)}`);
    } catch (error) {
      tried.push(`${dir}: ${error.code ?? error.message}`);
    }
  }
  throw new Error(`no writable directory on a disk for a file-backed channel (${tried.join('; ')})`);
}

/**
 * Creates a file-backed channel, a file in a fresh directory of its own under
 * fileChannelBase(); both are registered for removal (the file by unlinkChannel, then the
 * directory, whatever is in it). Returns the file's path: the key for release().
 */
export function fileChannel(options) {
  const dir = mkdtempSync(path.join(fileChannelBase().dir, `${channelName()}.`));
  const file = path.join(dir, 'channel.ring');
  onCleanup(file, () => {
    try {
      unlinkChannel(file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  try {
    createChannel(file, options);
  } catch (error) {
    cleanUp(file);
    throw error;
  }
  return file;
}
