// The addon's exports, loosely: ringwire (packages/core/src/native.ts) declares them precisely
// and is the only intended user. Install `ringwire`, not this package. index.cjs assigns the
// addon to module.exports (and names its properties for Node's ESM loader): `require()` it, or
// import it by default or by name.

/** An open mapping of a channel's shared-memory object (methods as in ringwire's NativeSegment). */
interface NativeSegment {
  readonly buffer: ArrayBuffer;
  readonly info: Readonly<Record<string, string | number>>;
  [method: string]: unknown;
}

declare const addon: {
  /** The segment layout: offsets (bytes) and constants from include/ringwire/layout.h. */
  readonly layout: Readonly<Record<string, number>>;
  /** Whether waits use futexes (Linux) rather than POSIX semaphores. */
  readonly platformHasFutex: boolean;
  createSegment(name: string, capacity: number, mode: number, waitMechanism: number,
    defaultWait: number, flags: number): void;
  unlinkSegment(name: string): boolean;
  setWaitDispatcher(dispatch: (id: number, status: number) => void): void;
  setErrorFactory(make: (code: string, message: string, errno?: number, syscall?: string) => Error): void;
  readonly Segment: new (name: string) => NativeSegment;
};

export = addon;
