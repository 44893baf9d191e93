// Command-line options and the timing of a full or a quick run.
import os from 'node:os';
import path from 'node:path';
import { EXPECTED } from './systems/lists.mjs';

export const SCENARIO_IDS = ['S1', 'S2', 'S3', 'S4', 'S5', 'S6', 'S7', 'S8', 'S9', 'S10', 'S11', 'S12', 'S13', 'micro'];

export const USAGE = `usage: node bench/src/run.mjs [--quick] [--runs=N] [--only=<system>[,<system>...]]
       [--scenarios=S1,...,S13,micro] [--sizes=<bytes>,...] [--cpu-prof[=dir]] [--out=<file.json>]
  --quick      a short run (about two minutes; shorter windows, the same rows)
  --runs       rounds of every throughput row (S1-S3, S5, S8-S13): each round runs every system
               once, in fresh processes, interleaved; a row's value is the median (default 3;
               check-results.mjs wants at least 3)
  --only       run only these systems (ringwire, uds, uds-batched, tcp, tcp-batched, udp, pipe,
               fifo, ipc-json, ipc-advanced, messageport, posix-mq, sysv-mq, sysv-shm, c-ring,
               js-ceiling, c-spin, c-futex, piscina; S12's ringwire-file, ringwire-file-sync;
               S13's nats, ringwire-nats, ringwire-nats-jetstream)
  --scenarios  run only these scenarios (S8: one shared CPU; S9: noisy neighbours; S10: broadcast;
               S11: large messages; S12: file-backed channels against shared memory; S13: bridged
               over NATS, needs nats-server on PATH: bash tools/ensure-nats-server.sh)
  --sizes      the S3 sweep's message sizes in bytes, S8's S3-like rows too (default: the full
               or quick sweep)
  --cpu-prof   write a V8 CPU profile of every worker process (default dir: <tmp>/ringwire-prof)
  --out        where to write the JSON (and the SVG beside it); a filtered run (--only,
               --scenarios, --sizes or --runs below 3) writes only when this is given, so it never
               replaces latest.json`;

// Windows: `rate` for per-message and batch rows (S1, S2, S8 / S9 per message, and S12), `sweep`
// for S3-like rows; the first phase of every group of fresh processes warms up for
// `firstWarmupMs` (the JIT starts cold in every round).
const FULL = {
  rate: { warmupMs: 250, measureMs: 1000 },
  sweep: { warmupMs: 100, measureMs: 400 },
  firstWarmupMs: 600,
  sizes: [16, 256, 1024, 4096, 16384, 65536, 1 << 20],
  pingpong: { warmup: 2000, warmupMs: 300, iterations: 20000, parkIterations: 20000 },
  fan: { warmupMs: 400, measureMs: 1500 },
  // S10: both sizes run in one group of fresh processes per row and round; the first warms up longer.
  broadcast: { firstWarmupMs: 400, warmupMs: 200, measureMs: 1000 },
  // S11: both sizes run in one group of fresh processes per row and round; a 64 MiB message
  // takes tens of ms (hundreds on a slow box), so the window is long, and both the warm-up
  // (after the first message) and the window hold at least `minMessages` messages.
  large: { firstWarmupMs: 600, warmupMs: 300, measureMs: 2500, minMessages: 3 },
  // S6: tasks per row (after `warmup` tasks); pool.run() also runs `sweep` tasks per window tried.
  pool: { tasks: 1000000, warmup: 100000, sweep: 20000 },
  // S13: both sizes run in one group of fresh processes per row and round; the first warms up
  // longer. The bridged path (four fresh processes) takes 2-3 s to reach its steady rate, plain
  // nats.js well under one: both warm up for as long. JetStream's row is bound by its acks
  // (a few thousand msg/s from the start): shorter warm-ups (`jetstream`).
  nats: { firstWarmupMs: 2500, warmupMs: 1500, measureMs: 1000, jetstream: { firstWarmupMs: 500, warmupMs: 300, measureMs: 1000 } },
  idleMs: 5000,
  microMs: 300,
};

// Quick: every row of the full run, in windows long enough to check that everything works
// (CI runs it), not to quote.
const QUICK = {
  rate: { warmupMs: 50, measureMs: 80 },
  sweep: { warmupMs: 25, measureMs: 40 },
  firstWarmupMs: 150,
  sizes: [16, 4096, 65536, 1 << 20],
  pingpong: { warmup: 1000, warmupMs: 100, iterations: 2000, parkIterations: 1000 },
  fan: { warmupMs: 150, measureMs: 150 },
  broadcast: { firstWarmupMs: 300, warmupMs: 100, measureMs: 150 },
  large: { firstWarmupMs: 150, warmupMs: 50, measureMs: 300, minMessages: 2 },
  pool: { tasks: 50000, warmup: 5000, sweep: 2500 },
  nats: { firstWarmupMs: 200, warmupMs: 80, measureMs: 150, jetstream: { firstWarmupMs: 150, warmupMs: 50, measureMs: 150 } },
  idleMs: 1500,
  microMs: 50,
};

const list = (value) => new Set(value.split(',').map((s) => s.trim()).filter(Boolean));

export function parseArgs(argv) {
  const options = { quick: false, only: null, wanted: new Set(SCENARIO_IDS), profDir: null, out: null, runs: 3 };
  for (const arg of argv) {
    if (arg === '--quick') options.quick = true;
    else if (arg.startsWith('--runs=')) {
      options.runs = Number(arg.slice(7));
      if (!Number.isInteger(options.runs) || options.runs < 1 || options.runs > 50) throw new Error('runs must be 1 to 50');
    }
    else if (arg.startsWith('--only=')) {
      options.only = list(arg.slice(7));
      const known = new Set(Object.values(EXPECTED).flat());
      for (const system of options.only) if (!known.has(system)) throw new Error(`unknown system ${system}`);
    }
    else if (arg.startsWith('--scenarios=') || arg.startsWith('--scenario=')) {
      options.wanted = list(arg.slice(arg.indexOf('=') + 1));
      for (const id of options.wanted) if (!SCENARIO_IDS.includes(id)) throw new Error(`unknown scenario ${id}`);
    } else if (arg.startsWith('--sizes=')) {
      options.sizes = [...list(arg.slice(8))].map(Number);
      if (!options.sizes.every((n) => Number.isInteger(n) && n >= 16 && n <= 64 << 20)) throw new Error('sizes must be 16 bytes to 64 MiB');
    } else if (arg === '--cpu-prof' || arg.startsWith('--cpu-prof=')) {
      options.profDir = path.resolve(arg.slice(11) || path.join(os.tmpdir(), 'ringwire-prof'));
    } else if (arg.startsWith('--out=')) options.out = path.resolve(arg.slice(6));
    else if (arg === '--help' || arg === '-h') throw new Error('help');
    else throw new Error(`unknown argument ${arg}`);
  }
  options.timing = options.quick ? QUICK : FULL;
  if (options.sizes) options.timing = { ...options.timing, sizes: options.sizes };
  // Fewer than 3 rounds is for trying things out: check-results.mjs would refuse it.
  options.filtered = options.only !== null || options.wanted.size !== SCENARIO_IDS.length || Boolean(options.sizes)
    || options.runs < 3;
  return options;
}
