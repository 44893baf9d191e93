// The suite must leave /dev/shm as it found it: every segment and semaphore a test makes,
// it removes. This compares the ringwire entries before and after the whole run.
import { readdirSync } from 'node:fs';

const SHM = '/dev/shm';
const ours = (entry: string) => /^(rw\.|sem\.rw[ds]\.)/.test(entry);
const list = () => new Set(readdirSync(SHM).filter(ours));

let before = new Set<string>();

export function setup(): void {
  before = list();
}

export function teardown(): void {
  const left = [...list()].filter((entry) => !before.has(entry));
  if (left.length > 0) {
    throw new Error(`the test suite left ${left.length} entries in ${SHM}: ${left.join(', ')}`);
  }
}
