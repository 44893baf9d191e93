// The work, shared by the pool's worker (which does it) and the client (which checks every
// answer): task `{ id }` is answered with the SHA-256 (hex) of `ringwire task <id>`.
import { createHash } from 'node:crypto';

/** Task `id`. */
export const task = (id) => ({ id });

/** Its answer; a task whose id is not an integer is refused with a TypeError. */
export function answer({ id }) {
  if (!Number.isInteger(id)) throw new TypeError(`not an integer: ${id}`);
  return createHash('sha256').update(`ringwire task ${id}`).digest('hex');
}
