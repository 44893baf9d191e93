// The ring's byte positions, which stats() does not report: how far the write and read
// positions have moved (top's bytes/s come from them).
import { layout, native } from '../native.js';
import { checkName } from '../options.js';

/**
 * Ring bytes written (SPSC: the published producer position; MPMC: the claim position) and
 * taken (the consumer / take position) since the channel was made, modulo 2^32. Each message
 * moves them by its record: 8 header bytes plus the payload, rounded up to 8, plus padding
 * where a record wraps around the ring's end.
 */
export interface RingPositions {
  written: number;
  taken: number;
}

/** Reads a channel's positions without opening an endpoint (as stats() reads its header). */
export function ringPositions(name: string): RingPositions {
  const segment = new native.Segment(checkName(name));
  try {
    const i32 = new Int32Array(segment.buffer);
    return {
      written: Atomics.load(i32, layout.OFF_PRODUCER_POSITION >> 2) >>> 0,
      taken: Atomics.load(i32, layout.OFF_CONSUMER_POSITION >> 2) >>> 0,
    };
  } finally {
    segment.close();
  }
}

/** Bytes a position moved from `before` to `after` (positions wrap at 2^32). */
export function advanced(before: number, after: number): number {
  return (after - before) >>> 0;
}
