// Which channels exist: the entries of /dev/shm that open as ringwire channels.
import { lstatSync, readdirSync } from 'node:fs';
import { constants } from 'node:os';
import { stats, type ChannelStats } from './channel.js';
import { invalidArg, RingwireError } from './errors.js';
import { checkName } from './options.js';

/** Where POSIX shared-memory objects appear on Linux: "/rw.<name>" is the file rw.<name>. */
const SHM_DIR = '/dev/shm';
const ENTRY_PREFIX = 'rw.';

/**
 * Whether what stats() threw is about this process rather than the entry (out of
 * descriptors or memory): then listing cannot go on. Anything else means the entry is not a
 * channel this process can read: someone else's (PERMISSION), another layout version or not
 * ringwire's at all (INCOMPATIBLE), broken or half-made (CORRUPT), or a file the system will
 * not map as shared memory (SYSTEM, INVALID_ARG).
 */
const PROCESS_ERRNOS: ReadonlySet<number> = new Set([constants.errno.EMFILE, constants.errno.ENFILE, constants.errno.ENOMEM]);
function aboutThisProcess(error: RingwireError): boolean {
  return error.code === 'ERR_RINGWIRE_SYSTEM' && error.errno !== undefined && PROCESS_ERRNOS.has(Math.abs(error.errno));
}

/** One entry that looks like a channel: its stats, or why they could not be read. */
export type ChannelEntry =
  | { name: string; stats: ChannelStats; error?: undefined }
  | { name: string; stats?: undefined; error: RingwireError };

function checkPrefix(options: { prefix?: string } | undefined): string {
  if (options !== undefined && (options === null || typeof options !== 'object')) throw invalidArg('options must be an object');
  const prefix = options?.prefix ?? '';
  if (typeof prefix !== 'string') throw invalidArg('prefix must be a string');
  return prefix;
}

/**
 * Names under /dev/shm of the form rw.<name> with a valid channel name starting with
 * `prefix`, sorted; nothing is opened. [] where there is no /dev/shm.
 */
function candidateNames(prefix: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(SHM_DIR);
  } catch (error) {
    const { code, errno } = error as NodeJS.ErrnoException;
    if (code === 'ENOENT') return [];
    throw new RingwireError(code === 'EACCES' ? 'ERR_RINGWIRE_PERMISSION' : 'ERR_RINGWIRE_SYSTEM',
      `cannot list ${SHM_DIR}: ${(error as Error).message}`, { errno: errno === undefined ? undefined : -errno, syscall: 'scandir' });
  }
  const names: string[] = [];
  for (const entry of entries) {
    if (!entry.startsWith(ENTRY_PREFIX + prefix)) continue;
    const name = entry.slice(ENTRY_PREFIX.length);
    try {
      checkName(name); // ringwire never makes any other name
      if (!lstatSync(`${SHM_DIR}/${entry}`).isFile()) continue; // a directory, a link: not ours
    } catch {
      continue; // an invalid name, or removed meanwhile
    }
    names.push(name);
  }
  return names.sort();
}

/**
 * Every entry under /dev/shm that is named like a channel (starting with `prefix`, if given),
 * sorted by name, with its stats() or, for one that cannot be read as a channel (corrupt,
 * incompatible, someone else's), the error saying why. Entries removed while this runs, and
 * entries that are not regular files, are left out. Errors about this process rather than an
 * entry (out of descriptors or memory) are thrown.
 */
export function readChannels(options?: { prefix?: string }): ChannelEntry[] {
  const result: ChannelEntry[] = [];
  for (const name of candidateNames(checkPrefix(options))) {
    try {
      result.push({ name, stats: stats(name) });
    } catch (error) {
      if (!(error instanceof RingwireError)) throw error;
      if (error.code === 'ERR_RINGWIRE_NOT_FOUND') continue;
      if (aboutThisProcess(error)) throw error;
      result.push({ name, error });
    }
  }
  return result;
}

/**
 * Names of the channels in /dev/shm (only those starting with `prefix`, if given), sorted.
 * Entries that do not open as channels this process can read (corrupt, another layout
 * version, someone else's, or removed meanwhile) are skipped. Linux only; [] without /dev/shm.
 * The `ringwire ls` command lists the same channels, with their stats.
 *
 * @example
 * ```ts
 * import { listChannels, stats } from 'ringwire';
 *
 * for (const name of listChannels({ prefix: 'jobs.' })) {
 *   const s = stats(name);
 *   console.log(`${name}: ${s.messagesSent - s.messagesReceived} messages waiting`);
 * }
 * ```
 */
export function listChannels(options?: { prefix?: string }): string[] {
  return readChannels(options).filter((entry) => entry.error === undefined).map((entry) => entry.name);
}
