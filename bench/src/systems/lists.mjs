// Which systems run where: plain data, imported by the harness and by check-results.mjs.

/** Throughput systems in the order they run and appear in tables. */
export const THROUGHPUT_SYSTEMS = [
  'ringwire', 'uds', 'uds-batched', 'tcp', 'tcp-batched', 'udp', 'pipe', 'fifo', 'ipc-json', 'ipc-advanced',
  'messageport', 'posix-mq', 'sysv-mq', 'sysv-shm', 'c-ring', 'js-ceiling',
];

/**
 * Systems measured by the C helpers in bench/native (through native-baselines.mjs): only
 * these may have rows that did not run (a size the kernel object cannot carry, no compiler).
 */
export const NATIVE_SYSTEMS = new Set(['posix-mq', 'sysv-mq', 'sysv-shm', 'c-ring', 'c-spin', 'c-futex']);

export const PINGPONG_SYSTEMS = ['ringwire', 'uds', 'tcp', 'c-spin', 'c-futex', 'sysv-mq', 'sysv-shm'];
export const RINGWIRE_VARIANTS = ['spin', 'park', 'default'];
export const IDLE_SYSTEMS = ['ringwire', 'uds'];
/** S5: ringwire's two rows (variants), then the Unix-socket fan-in/fan-out baselines. */
export const FANOUT_SYSTEMS = ['ringwire', 'uds', 'uds-batched'];
export const FANOUT_VARIANTS = ['per-message', 'batched'];
/** S6: ringwire's two rows (codecs), then piscina's own pool.run(). */
export const POOL_SYSTEMS = ['ringwire', 'piscina'];
export const POOL_VARIANTS = ['raw', 'raw batched', 'json', 'v8', 'pool.run()'];

/**
 * S1's size sweep runs these (per message, and the batched socket); the other S1 systems run
 * at 64 B only. S8 (one shared CPU) and S9 (noisy neighbours) run these too.
 */
export const SWEEP_SYSTEMS = ['ringwire', 'uds', 'uds-batched'];
/** S1's per-message size sweep: SWEEP_SYSTEMS and UDP (one datagram per message; not in S8, S9). */
export const S1_SWEEP_SYSTEMS = [...SWEEP_SYSTEMS, 'udp'];
/** The largest UDP payload over IPv4: 65535 - 20 (IP header) - 8 (UDP header). */
export const UDP_MAX_PAYLOAD = 65507;
/** S1's per-message sizes (S8's per-message rows too). */
export const S1_SIZES = [16, 64, 65, 256, 1024, 4096];
/** S9's sizes, per message and S3-like. */
export const S9_SIZES = [64, 1024, 65536];
/** S10: broadcast, 1 sender -> 4 receivers; ringwire's two rows (variants), then one Unix socket per receiver. */
export const BROADCAST_SYSTEMS = ['ringwire', 'uds', 'uds-batched'];
export const BROADCAST_VARIANTS = ['per-message', 'batched'];
/** S10's sizes. */
export const S10_SIZES = [64, 4096];
/** S10's receiver processes. */
export const BROADCAST_RECEIVERS = 4;
/** S11: large messages, 1 producer -> 1 consumer; ringwire (one SPSC channel), then one Unix socket. */
export const LARGE_SYSTEMS = ['ringwire', 'uds'];
/** S11's message sizes: 4 MiB and 64 MiB, both many rings long. */
export const S11_SIZES = [4 << 20, 64 << 20];
/** S11's ring: 1 MiB (not capacityFor: the point is messages much larger than the ring). */
export const S11_CAPACITY = 1 << 20;
/**
 * S12: file-backed channels against shared memory, 1 producer -> 1 consumer, SPSC: ringwire
 * (a channel in /dev/shm), the same channel in a file on a disk, and that file channel with a
 * sync() every S12_SYNC_EVERY messages.
 */
export const FILE_SYSTEMS = ['ringwire', 'ringwire-file', 'ringwire-file-sync'];
/** S12's message sizes. */
export const S12_SIZES = [64, 65536];
/**
 * S12's ringwire-file-sync: the producer awaits sender.sync() after every this many messages,
 * by size (64 KiB, then 1 MiB, of payload per sync).
 */
export const S12_SYNC_EVERY = { 64: 1024, 65536: 16 };
/**
 * S13: bridged throughput over NATS (core NATS, one nats-server), 1 producer -> 1 consumer:
 * plain nats.js (a publisher process -> a subscriber process), ringwire through the NATS bridge
 * (producer -> SPSC channel -> bridge out -> NATS -> bridge in -> SPSC channel -> consumer, five
 * processes with the server), and the same bridged path over JetStream (every publish acked).
 */
export const NATS_SYSTEMS = ['nats', 'ringwire-nats', 'ringwire-nats-jetstream'];
/** S13's message sizes. */
export const S13_SIZES = [64, 4096];
/**
 * S13: publishers flush (a PING/PONG round trip to the server) after every this many messages,
 * the cadence of ringwire/nats's bridge out (FLUSH_EVERY in packages/core/src/nats/bridge.ts).
 */
export const NATS_FLUSH_EVERY = 4096;
/** Why S13's rows are null when the server is missing (the only reason check-results accepts). */
export const NATS_MISSING = 'nats-server is not installed';
/** statfs magic numbers of file systems that keep files in memory: no place for S12's file rows. */
export const MEMORY_FILE_SYSTEMS = new Map([[0x01021994, 'tmpfs'], [0x858458f6, 'ramfs']]);
/** S8 and S9 rows: per message (S1-like, msg/s) or a copy the consumer owns and reuses (S3-like, GB/s). */
export const KINDS = ['per-message', 'S3'];

/** The systems each scenario lists, in table order. */
export const EXPECTED = {
  S1: ['ringwire', 'uds', 'uds-batched', 'tcp', 'udp', 'pipe', 'fifo', 'ipc-json', 'ipc-advanced', 'messageport',
    'posix-mq', 'sysv-mq', 'sysv-shm', 'c-ring', 'js-ceiling'],
  S2: ['ringwire', 'uds-batched', 'tcp-batched', 'pipe', 'fifo', 'ipc-json', 'ipc-advanced', 'messageport',
    'posix-mq', 'c-ring', 'js-ceiling'],
  S3: THROUGHPUT_SYSTEMS.filter((s) => s !== 'udp'),
  S4: PINGPONG_SYSTEMS,
  S5: FANOUT_SYSTEMS,
  S6: POOL_SYSTEMS,
  S7: IDLE_SYSTEMS,
  S8: SWEEP_SYSTEMS,
  S9: SWEEP_SYSTEMS,
  S10: BROADCAST_SYSTEMS,
  S11: LARGE_SYSTEMS,
  S12: FILE_SYSTEMS,
  S13: NATS_SYSTEMS,
};
