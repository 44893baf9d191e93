// S11: large messages, 1 producer process -> 1 consumer process. 64 MiB messages (and 4 MiB)
// through a 1 MiB ringwire SPSC channel, so that every message is many rings long and goes
// in fragments as the receiver frees room (README, "Messages larger than the ring"), against
// one Unix domain stream socket (a 4-byte length prefix, one write per message). The value
// is GB/s of payload delivered (each row also keeps msg/s); CPU time per message is that of
// both processes, every thread, over the measurement window.
//
// Each row runs in ctx.runs interleaved rounds (each round runs every row once), in a fresh
// producer and consumer per row and round that run both sizes one after the other (a phase
// each: harness/phases.mjs, as S1-S3 do; ringwire makes a fresh channel per phase and unlinks
// its name once both ends have it open, the socket path goes once both ends are connected).
// A row is the median of its rounds, with min, max and every sample (harness/samples.mjs).
// The consumer keeps the window (workers/common.mjs's Meter): it opens at the first message
// after the warm-up (`warmupMs` and at least `minMessages` messages after the first one) and
// closes at the first message after `measureMs` that also makes at least `minMessages` inside
// it (ctx.timing.large: 3 in a full run, 2 in a quick one); the rate is the messages between
// those two over the time between them. Buffers that are reused (the producers' messages, the
// consumers' own buffers) have their pages touched before the first message: a fresh buffer
// of 64 MiB costs a page fault per 4 KiB, which must not land in anyone's window by accident.
//
// Every message must arrive, whole and in order, or the run fails: each carries its seq,
// the producer writes every byte of it, and the consumer checks its length, seq and both
// stamps, a strided sample of its bytes, and every byte of one in 16 (frames.mjs,
// SampledChecker); the harness checks that the consumer counted what the producer sent.
import { cleanUp } from '../harness/cleanup.mjs';
import { nsPerMessage } from '../harness/cputime.mjs';
import { formatCpuNs, formatValue, sizeLabel } from '../harness/format.mjs';
import { runPhases } from '../harness/phases.mjs';
import { median, RowSamples } from '../harness/samples.mjs';
import { channel, release, tmpPath } from '../harness/rendezvous.mjs';
import { S11_CAPACITY, S11_SIZES } from '../systems/lists.mjs';

/** The S11 rows, in table order: { system, worker, note }. */
export const LARGE_RUNS = [
  {
    system: 'ringwire', worker: 'large-ringwire.mjs',
    note: `one SPSC channel of ${sizeLabel(S11_CAPACITY)}: await send() (fragments of up to a quarter of the ring) / `
      + 'tryRecvInto a buffer the consumer owns and reuses, else await recv(); a message many rings long is only whole '
      + 'once recv() has waited for its last fragment, so recv() hands out nearly every message (the receiver\'s '
      + 'put-together copy, a new buffer per message)',
  },
  {
    system: 'uds', worker: 'large-uds.mjs',
    note: 'one Unix socket; a 4-byte length prefix and the message in one write per message, waiting for \'drain\'; '
      + 'the consumer copies the 64 KiB reads into one buffer it owns and reuses',
  },
];

/** The worker group of a row ({ name, worker, layout, config, ... }: harness/phases.mjs). */
function groupOf(run) {
  if (run.system === 'ringwire') {
    return { name: 'S11-ringwire', worker: run.worker, layout: 'pair', config: {}, opensPerPhase: true };
  }
  const path = tmpPath('sock');
  // Once both ends are connected, the path is no longer needed: removed at once.
  return { name: 'S11-uds', worker: run.worker, layout: 'pair', config: { path }, connected: () => cleanUp(path) };
}

/** Both sizes, in order, for one group of fresh processes (the first phase warms the JIT up longer). */
function phasesOf(run, timing) {
  return S11_SIZES.map((size, i) => {
    const phase = {
      i, size, mode: 'single', own: true, system: run.system, label: `S11 ${sizeLabel(size)}`,
      warmupMs: i === 0 ? timing.firstWarmupMs : timing.warmupMs, measureMs: timing.measureMs, minMessages: timing.minMessages,
    };
    if (run.system === 'ringwire') {
      let name = null;
      phase.prepare = () => {
        name = channel({ capacity: S11_CAPACITY });
        return name;
      };
      phase.release = () => {
        if (name !== null) release(name);
        name = null;
      };
    }
    return phase;
  });
}

export async function runLarge(ctx) {
  const runs = LARGE_RUNS.filter((run) => !ctx.only || ctx.only.has(run.system));
  const rows = new RowSamples();
  /** Each row's msg/s per round. */
  const rates = new Map();
  const key = (system, size) => `${system}|${size}`;
  for (let round = 0; round < ctx.runs; round++) {
    for (const run of runs) {
      const group = groupOf(run);
      try {
        await runPhases(group, phasesOf(run, ctx.timing.large), (p, result) => {
          const gbps = (result.rate * p.size) / 1e9;
          const cpuNsPerMsg = nsPerMessage(result.cpu, result.messages);
          rows.add('S11', { system: run.system, size: p.size, note: run.note },
            { value: gbps, cpuNsPerMsg, cpu: cpuNsPerMsg === null ? null : result.cpu });
          const k = key(run.system, p.size);
          if (!rates.has(k)) rates.set(k, []);
          rates.get(k).push(result.rate);
          const paths = result.consumer?.paths;
          const how = paths ? `; tryRecvInto ${paths.tryRecvInto}, recv ${paths.recv}` : '';
          ctx.log(`S11 ${run.system} ${sizeLabel(p.size)} [${round + 1}/${ctx.runs}] … ${formatValue(gbps, 'GB/s')} GB/s, `
            + `${result.rate.toFixed(1)} msg/s${cpuNsPerMsg ? `, ${formatCpuNs(cpuNsPerMsg)} CPU/msg` : ''}  `
            + `(${result.messages} msgs in ${result.seconds.toFixed(2)} s; ${result.sent} sent and checked${how})`);
        });
      } finally {
        if (group.config.path) cleanUp(group.config.path);
      }
    }
  }
  for (const { id, row } of rows.summaries()) {
    const samples = rates.get(key(row.system, row.size));
    if (row.value !== null && samples) {
      // msg/s, the same rounds: value × 1e9 / size, kept so that nobody has to work it out.
      const rounded = samples.map((x) => Number(x.toFixed(3)));
      row.msgPerSec = { value: median(rounded), min: Math.min(...rounded), max: Math.max(...rounded), samples: rounded };
    }
    const { note } = row;
    delete row.note;
    if (note !== undefined) row.note = note;
    ctx.record(id, row);
  }
}
