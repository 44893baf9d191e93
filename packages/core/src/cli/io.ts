// Writing to stdout with backpressure, stopping quietly when its reader goes away (EPIPE):
// `ringwire recv ... | head -1` ends as `head` does.
import type { Writable } from 'node:stream';

export interface Output {
  /** Writes, waiting while the stream's buffer is full. Does nothing once the reader is gone. */
  write(chunk: string | Uint8Array): Promise<void>;
  /** True once the reader has gone away. */
  readonly broken: boolean;
}

export function output(stream: Writable = process.stdout): Output {
  let broken = false;
  let failure: Error | undefined;
  const wake = new Set<() => void>();
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') broken = true;
    else failure = error;
    for (const resolve of wake) resolve();
  });
  return {
    get broken() {
      return broken;
    },
    async write(chunk) {
      if (failure !== undefined) throw failure;
      if (broken || stream.write(chunk)) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          wake.delete(done);
          stream.off('drain', done);
          resolve();
        };
        wake.add(done);
        stream.on('drain', done);
      });
      if (failure !== undefined) throw failure;
    },
  };
}
