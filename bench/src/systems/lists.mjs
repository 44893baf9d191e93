// Which systems run where: plain data, imported by the harness and by check-results.mjs.

/** Throughput systems in the order they run and appear in tables. */
export const THROUGHPUT_SYSTEMS = [
  'ringwire', 'uds', 'uds-batched', 'tcp', 'tcp-batched', 'pipe', 'fifo', 'ipc-json', 'ipc-advanced',
  'messageport', 'posix-mq', 'c-ring', 'js-ceiling',
];

/** Systems measured by the C helpers in bench/native (through native-baselines.mjs). */
export const NATIVE_SYSTEMS = new Set(['posix-mq', 'c-ring', 'c-spin', 'c-futex']);

export const PINGPONG_SYSTEMS = ['ringwire', 'uds', 'tcp', 'c-spin', 'c-futex'];
export const RINGWIRE_VARIANTS = ['spin', 'park', 'default'];
export const IDLE_SYSTEMS = ['ringwire', 'uds'];
/** S5: ringwire's two rows (variants), then the Unix-socket fan-in/fan-out baselines. */
export const FANOUT_SYSTEMS = ['ringwire', 'uds', 'uds-batched'];
export const FANOUT_VARIANTS = ['per-message', 'batched'];
/** S6: ringwire's two rows (codecs), then piscina's own pool.run(). */
export const POOL_SYSTEMS = ['ringwire', 'piscina'];
export const POOL_VARIANTS = ['raw', 'raw batched', 'json', 'v8', 'pool.run()'];

/** The systems each scenario lists, in table order. */
export const EXPECTED = {
  S1: ['ringwire', 'uds', 'uds-batched', 'tcp', 'pipe', 'fifo', 'ipc-json', 'ipc-advanced', 'messageport',
    'posix-mq', 'c-ring', 'js-ceiling'],
  S2: ['ringwire', 'uds-batched', 'tcp-batched', 'pipe', 'fifo', 'ipc-json', 'ipc-advanced', 'messageport',
    'posix-mq', 'c-ring', 'js-ceiling'],
  S3: THROUGHPUT_SYSTEMS,
  S4: PINGPONG_SYSTEMS,
  S5: FANOUT_SYSTEMS,
  S6: POOL_SYSTEMS,
  S7: IDLE_SYSTEMS,
};
