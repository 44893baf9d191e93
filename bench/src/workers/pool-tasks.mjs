// S6: the piscina worker file (loaded by piscina inside workers/pool-host.mjs, never forked
// by the harness). The task is tiny on purpose, adding two numbers, so that what is measured
// is the cost of getting a task to a worker thread and its result back.
//
//   default  the pool.run() baseline: one piscina task per addition, ({ a, b }) -> a + b
//   addRaw   a ringwire serveTasks() loop over raw bytes: two float64 (16 bytes) -> their
//            float64 sum (8 bytes)
//   addV8    the same loop over objects: { a, b } -> a + b (codec v8 or json, as servePool says)
//
// A loop tells the pool's main thread (over a BroadcastChannel) once it has opened both
// channels, so that the harness can unlink their names knowing no endpoint is still to open.
import { BroadcastChannel } from 'node:worker_threads';
import { serveTasks } from 'ringwire/pool';
import { OPENED } from './pool-common.mjs';

export default ({ a, b }) => a + b;

/** serve, announcing the loop once its endpoints are open (serveTasks opens them synchronously). */
function announced(serve) {
  return (spec) => {
    const loop = serve(spec);
    const bc = new BroadcastChannel(OPENED);
    bc.postMessage(spec.channel);
    return loop.finally(() => bc.close());
  };
}

export const addRaw = announced(serveTasks((bytes) => {
  const task = new DataView(bytes.buffer, bytes.byteOffset, 16);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setFloat64(0, task.getFloat64(0, true) + task.getFloat64(8, true), true);
  return out;
}));

export const addV8 = announced(serveTasks(({ a, b }) => a + b));
