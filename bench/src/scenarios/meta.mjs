// What each scenario is called and its unit (plain data, like systems/lists.mjs).
export const SCENARIOS = {
  S1: { title: 'per-message API by size (16 B - 4 KiB; other systems 64 B), 1 producer process -> 1 consumer process', unit: 'msg/s' },
  S2: { title: '64-byte messages, the fastest batch path each system offers', unit: 'msg/s' },
  S3: { title: 'throughput by message size; the consumer ends up with a copy it owns', unit: 'GB/s' },
  S4: { title: 'ping-pong round trip of 64 bytes between two processes (value = p50)', unit: 'us' },
  S5: { title: '64-byte messages, 2 producer processes x 2 consumer processes (aggregate received)', unit: 'msg/s' },
  S6: { title: 'tiny tasks (add two numbers) through a 2-thread piscina pool, fed by ringwire from another process or by pool.run()', unit: 'tasks/s' },
  S7: { title: 'an idle receiver waiting for a message: CPU time of its process (event-loop lag in extra fields)', unit: '%' },
  // S8 and S9 rows carry their own unit: msg/s for kind 'per-message', GB/s for kind 'S3'.
  S8: { title: 'one shared CPU: producer and consumer pinned to the same CPU (taskset), per message (msg/s) and S3-like (GB/s)', unit: 'msg/s | GB/s' },
  S9: { title: 'noisy neighbours: two CPU-bound processes running the whole time, per message (msg/s) and S3-like (GB/s)', unit: 'msg/s | GB/s' },
  // S10 rows also carry the slowest receiver's rate (slowest) and each round's receiver rates.
  S10: { title: 'broadcast, 1 sender process -> 4 receiver processes, each gets every message (aggregate delivered)', unit: 'msg/s' },
  // S11 rows also carry msg/s (msgPerSec: { value, min, max, samples }).
  S11: { title: 'large messages (4 MiB, 64 MiB) through a 1 MiB ring, 1 producer process -> 1 consumer process, against a Unix socket', unit: 'GB/s' },
  // S12 file rows also carry fileSystem (where the file was), sync rows syncEvery, both vsRingwire.
  S12: { title: 'file-backed channels against shared memory (64 B, 64 KiB), 1 producer process -> 1 consumer process, with and without a sync() every N messages', unit: 'msg/s' },
  // S13 ringwire-nats rows also carry vsNats (their per-round ratios to nats, and the median).
  S13: { title: 'bridged throughput over NATS (64 B, 4 KiB), 1 producer process -> 1 consumer process through one nats-server: plain nats.js against ringwire bridged out and in', unit: 'msg/s' },
};

/** The unit of a row: its own (S8, S9) or its scenario's. */
export const unitOf = (id, row) => row.unit ?? SCENARIOS[id].unit;

/** Scenarios measured once (not in rounds): their tables say so. */
export const SINGLE_RUN = new Set(['S4', 'S6', 'S7']);

export const SCENARIO_ORDER = ['S1', 'S2', 'S3', 'S4', 'S5', 'S6', 'S7', 'S8', 'S9', 'S10', 'S11', 'S12', 'S13'];
