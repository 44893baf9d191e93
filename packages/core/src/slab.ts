// Where received copies live. V8 keeps a typed array of at most 64 bytes on its heap (cheap),
// and gives a larger one its own malloc'd backing store: tryRecv() of a 65-byte message cost
// ~6x one of 64 bytes. Messages from 65 bytes to SLAB_MAX are therefore carved from a shared
// slab, as Buffer.allocUnsafe carves from its pool: one allocation per SLAB_BYTES of messages.
//
// What a caller must know (README, "Received messages"): a message's bytes are its own, but
// its `.buffer` may be shared with other received messages, and a small message keeps its
// whole slab alive while it is referenced. Use `message.slice()` for a message that must own
// its ArrayBuffer (to transfer it, or to keep one message for long).

/** Messages up to this many bytes are carved from the slab. */
export const SLAB_MAX = 4096;
/** Bytes per slab (zero-filled when allocated: nothing from elsewhere in the heap shows through). */
const SLAB_BYTES = 64 * 1024;
/** Heap-allocated typed arrays are cheaper than a carve up to this size (V8's on-heap limit). */
const ON_HEAP_MAX = 64;

let slab = new ArrayBuffer(SLAB_BYTES);
let used = 0;

/**
 * A copy of source[start, start + length) that the caller owns: on V8's heap when small, in
 * the current slab up to SLAB_MAX, in its own ArrayBuffer above that.
 */
export function copyOut(source: Uint8Array, start: number, length: number): Uint8Array {
  if (length <= ON_HEAP_MAX || length > SLAB_MAX) return source.slice(start, start + length);
  // A slab that was transferred (postMessage with transfer) is detached: byteLength 0.
  if (used + length > slab.byteLength) {
    slab = new ArrayBuffer(SLAB_BYTES);
    used = 0;
  }
  const message = new Uint8Array(slab, used, length);
  used = (used + length + 7) & ~7; // each message starts 8-byte aligned, as in the ring
  message.set(source.subarray(start, start + length));
  return message;
}
