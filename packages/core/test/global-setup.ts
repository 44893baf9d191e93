// The suite must leave /dev/shm as it found it: every channel a test makes, it removes. Every
// name this run makes starts with one prefix (RINGWIRE_TEST_PREFIX, random per run unless
// given), and only entries with it are judged: channels of other processes come and go as
// they like.
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';

const SHM = '/dev/shm';

export function setup(): void {
  // Inherited by the test workers, which are started after this runs.
  process.env.RINGWIRE_TEST_PREFIX ??= `t${randomBytes(4).readUInt32LE(0).toString(36).slice(0, 5)}.`;
}

export function teardown(): void {
  const prefix = `rw.${process.env.RINGWIRE_TEST_PREFIX}`;
  const left = readdirSync(SHM).filter((entry) => entry.startsWith(prefix));
  if (left.length > 0) {
    throw new Error(`the test suite left ${left.length} entries in ${SHM}: ${left.join(', ')}`);
  }
}
