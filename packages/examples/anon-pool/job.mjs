// The pool's work, shared by the workers (which do it) and the launcher (which checks it): job
// `id` is the SHA-256 of 16 KiB of pseudo-random bytes drawn from a seed that `id` gives.
import { createHash } from 'node:crypto';

const BYTES = 16 * 1024;
const words = new Uint32Array(BYTES / 4);

/** The job message for `id`: what a worker needs to rebuild its bytes. */
export const job = (id) => ({ id, seed: (Math.imul(id + 1, 2654435761) >>> 0) || 1 });

/** The job's answer: the SHA-256 (hex) of its bytes, an xorshift32 stream from its seed. */
export function digest({ seed }) {
  let x = seed;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    words[i] = x;
  }
  return createHash('sha256').update(words).digest('hex');
}
