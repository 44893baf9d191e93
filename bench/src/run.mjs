// The cross-process benchmark: ringwire side by side with the ways Node processes usually
// talk (sockets, pipes, IPC, MessagePort) and with C floors and ceilings, measured in one
// run. Each system runs in fresh worker processes (workers/*.mjs), one system at a time; this
// process only creates and removes the rendezvous, relays control messages and collects.
// Throughput rows (S1-S3, S5, S8-S13) are measured in --runs interleaved rounds (default 3)
// and reported as the median with min-max and CPU time per message.
//
//   node bench/src/run.mjs [--quick] [--runs=N] [--only=...] [--scenarios=...] [--cpu-prof[=dir]] [--out=...]
//
// Prints a table per scenario, writes bench/results/latest.json and latest.svg.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, USAGE } from './cli.mjs';
import { installHandlers } from './harness/cleanup.mjs';
import { profiling } from './harness/spawn.mjs';
import { runBroadcast } from './scenarios/broadcast.mjs';
import { runFanOut } from './scenarios/fanout.mjs';
import { runFile } from './scenarios/file.mjs';
import { runIdle } from './scenarios/idle.mjs';
import { runLarge } from './scenarios/large.mjs';
import { runMicro } from './scenarios/micro.mjs';
import { runNats } from './scenarios/nats.mjs';
import { runPingPong } from './scenarios/pingpong.mjs';
import { runPool } from './scenarios/pool.mjs';
import { buildResults } from './report/json.mjs';
import { renderSvg } from './report/svg.mjs';
import { printTables } from './report/table.mjs';
import { printTargets } from './report/targets.mjs';
import { runNoisy, runSharedCpu, runThroughput } from './scenarios/throughput.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
let options;
try {
  options = parseArgs(process.argv.slice(2));
} catch (error) {
  if (error.message !== 'help') console.error(error.message);
  console.error(USAGE);
  process.exit(2);
}
installHandlers();

const startedAt = performance.now();
const machine = {
  cpus: os.cpus().length,
  model: os.cpus()[0]?.model.trim() ?? 'unknown',
  node: process.version,
  os: `${os.type()} ${os.release()} ${os.arch()}`,
};
const clock = () => `${((performance.now() - startedAt) / 1000).toFixed(1).padStart(5)} s`;
const rows = new Map();
const micro = [];
const ctx = {
  ...options,
  record(id, row) {
    if (!rows.has(id)) rows.set(id, []);
    rows.get(id).push(row);
  },
  log(line) {
    console.log(`[${clock()}] ${line}`);
  },
};

console.log(`ringwire bench: ${machine.cpus} x ${machine.model}, node ${machine.node}, ${machine.os}`
  + `${options.quick ? ' (quick)' : ''}, ${options.runs} round${options.runs === 1 ? '' : 's'}`);
if (options.profDir) {
  profiling.dir = options.profDir;
  console.log(`CPU profiles go to ${options.profDir}`);
}

try {
  await runThroughput(ctx);
  if (options.wanted.has('S4')) await runPingPong(ctx);
  if (options.wanted.has('S5')) await runFanOut(ctx);
  if (options.wanted.has('S6')) await runPool(ctx);
  if (options.wanted.has('S7')) await runIdle(ctx);
  if (options.wanted.has('S8')) await runSharedCpu(ctx);
  if (options.wanted.has('S9')) await runNoisy(ctx);
  if (options.wanted.has('S10')) await runBroadcast(ctx);
  if (options.wanted.has('S11')) await runLarge(ctx);
  if (options.wanted.has('S12')) await runFile(ctx);
  if (options.wanted.has('S13')) await runNats(ctx);
  if (options.wanted.has('micro') && (!options.only || options.only.has('ringwire'))) {
    micro.push(...await runMicro(ctx));
  }
} catch (error) {
  console.error(`\nbench failed: ${error.stack ?? error.message}`);
  process.exit(1); // the 'exit' handler kills the workers and removes what is left
}

const results = buildResults({
  machine, quick: options.quick, runs: options.runs, rows, micro, wanted: options.wanted,
  seconds: Number(((performance.now() - startedAt) / 1000).toFixed(1)),
});
printTables(results);
printTargets(results);

const out = options.out ?? (options.filtered ? null : path.join(here, '..', 'results', 'latest.json'));
if (out) {
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  const svg = out.replace(/\.json$/, '') + '.svg';
  writeFileSync(svg, renderSvg(results));
  console.log(`\nwrote ${path.relative(process.cwd(), out)} and ${path.relative(process.cwd(), svg)}`);
} else {
  console.log('\n(a filtered run: no JSON written; pass --out=<file.json> to keep it)');
}
console.log(`done in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
