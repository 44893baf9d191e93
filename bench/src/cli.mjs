// Command-line options and the timing of a full or a quick run.
import os from 'node:os';
import path from 'node:path';
import { EXPECTED } from './systems/lists.mjs';

export const SCENARIO_IDS = ['S1', 'S2', 'S3', 'S4', 'S5', 'S6', 'S7', 'micro'];

export const USAGE = `usage: node bench/src/run.mjs [--quick] [--only=<system>[,<system>...]]
       [--scenarios=S1,S2,S3,S4,S5,S6,S7,micro] [--sizes=<bytes>,...] [--cpu-prof[=dir]] [--out=<file.json>]
  --quick      a short run (under a minute)
  --only       run only these systems (ringwire, uds, uds-batched, tcp, tcp-batched, pipe, fifo,
               ipc-json, ipc-advanced, messageport, posix-mq, c-ring, js-ceiling, c-spin, c-futex,
               piscina)
  --scenarios  run only these scenarios
  --sizes      the S3 sweep's message sizes in bytes (default: the full or quick sweep)
  --cpu-prof   write a V8 CPU profile of every worker process (default dir: <tmp>/ringwire-prof)
  --out        where to write the JSON (and the SVG beside it); a filtered run (--only or
               --scenarios) writes only when this is given, so it never replaces latest.json`;

const FULL = {
  rate: { warmupMs: 500, measureMs: 2000 },
  sweep: { warmupMs: 200, measureMs: 700 },
  sizes: [16, 256, 1024, 4096, 16384, 65536, 1 << 20],
  pingpong: { warmup: 2000, warmupMs: 300, iterations: 20000, parkIterations: 20000 },
  fan: { warmupMs: 500, measureMs: 2000 },
  // S6: tasks per row (after `warmup` tasks); pool.run() also runs `sweep` tasks per window tried.
  pool: { tasks: 1000000, warmup: 100000, sweep: 20000 },
  idleMs: 5000,
  microMs: 300,
};

const QUICK = {
  rate: { warmupMs: 400, measureMs: 200 },
  sweep: { warmupMs: 80, measureMs: 80 },
  sizes: [16, 256, 4096, 65536, 1 << 20],
  pingpong: { warmup: 2000, warmupMs: 150, iterations: 5000, parkIterations: 2000 },
  fan: { warmupMs: 300, measureMs: 300 },
  pool: { tasks: 100000, warmup: 10000, sweep: 5000 },
  idleMs: 2000,
  microMs: 50,
};

const list = (value) => new Set(value.split(',').map((s) => s.trim()).filter(Boolean));

export function parseArgs(argv) {
  const options = { quick: false, only: null, wanted: new Set(SCENARIO_IDS), profDir: null, out: null };
  for (const arg of argv) {
    if (arg === '--quick') options.quick = true;
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
  options.filtered = options.only !== null || options.wanted.size !== SCENARIO_IDS.length || Boolean(options.sizes);
  return options;
}
