/**
 * `ringwire/internal`: the segment layout (offsets and constants of a channel's
 * shared-memory object, from packages/native/include/ringwire/layout.h) and the raw addon.
 *
 * **Not a stable API.** It is for tools that read or write a channel's memory directly (a C
 * peer, a debugger, ringwire's own tests); it changes whenever the layout or the addon does,
 * in any release, without notice.
 *
 * @module
 */
export { layout, native } from './native.js';
export type { Layout, NativeAddon, NativeSegment, SegmentInfo } from './native.js';
