// The mapped segment as the ring protocols see it (include/ringwire/segment.h): one mapping,
// opened and validated by the addon, viewed as the words and bytes the protocols read and
// write, with the identity its opener checked (never re-read from shared memory).
import { Buffer } from 'node:buffer';
import { layout, type NativeSegment } from '../native.js';

export class RingView {
  readonly name: string;
  readonly segment: NativeSegment;
  readonly i32: Int32Array;
  readonly u8: Uint8Array;
  /** The same bytes as a Buffer (for writing strings as UTF-8 in place). */
  readonly bytes: Buffer;
  /** The header's 64-bit counters. */
  readonly f64: Float64Array;
  /** The ring's size in bytes (a power of two) and that minus one. */
  readonly capacity: number;
  readonly mask: number;
  /** The largest payload one record can carry. */
  readonly maxMessage: number;
  /** The largest message, whole or in fragments (layout.h, "Fragments"). */
  readonly maxMessageSize: number;
  /** The channel's FLAG_* bits, as created. */
  readonly flags: number;

  constructor(segment: NativeSegment) {
    const info = segment.info;
    this.name = info.name;
    this.segment = segment;
    this.i32 = new Int32Array(segment.buffer);
    this.u8 = new Uint8Array(segment.buffer);
    this.bytes = Buffer.from(segment.buffer);
    this.f64 = new Float64Array(segment.buffer, 0, layout.HEADER_SIZE >> 3);
    this.capacity = info.capacity;
    this.mask = info.capacity - 1;
    this.maxMessage = info.maxMessage;
    this.maxMessageSize = info.maxMessageSize;
    this.flags = info.flags;
  }
}
