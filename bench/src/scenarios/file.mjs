// S12: file-backed channels against shared memory, 1 producer process -> 1 consumer process,
// SPSC, at 64 B and 64 KiB. Three rows, the same worker (workers/ringwire.mjs, as S3 runs it:
// trySend / tryRecvInto a buffer the consumer owns and reuses, the library's own waiting when
// full or empty), the same ring size (capacityFor(size), as S1-S3), only the channel differs:
//   ringwire            a channel in shared memory (/dev/shm)
//   ringwire-file       the same channel in a regular file (createChannel(path)) on a disk:
//                       the temp directory unless it is in memory (tmpfs, ramfs), else /var/tmp,
//                       else bench/results (harness/rendezvous.mjs, fileChannelBase); each row
//                       says which file system in `fileSystem` and in its note
//   ringwire-file-sync  that file channel, the producer awaiting sender.sync() (msync MS_SYNC on
//                       the thread pool) after every S12_SYNC_EVERY[size] messages; the rate
//                       counts every message and the time spent in sync
// The value is msg/s, kept by the consumer (workers/common.mjs's Meter, the `rate` windows of
// S1); a sync row's warm-up and window each also hold at least SYNCS_PER_WINDOW syncs.
//
// Each row runs in ctx.runs interleaved rounds (each round runs every row once), in a fresh
// producer and consumer per row and round that run both sizes one after the other (a phase
// each: harness/phases.mjs), each phase with a fresh channel. A shared-memory channel's name
// goes once both ends have it open (as in S1-S3); a file-backed channel's file stays linked
// until the phase is over (unlinked as the name of a channel on a disk, it would be a file no
// longer), then unlinkChannel removes it and its fresh directory goes too (also on a failure
// or a signal: harness/cleanup.mjs). A row is the median of its rounds, with min, max and every
// sample (harness/samples.mjs), and CPU time per message (both processes, every thread, over
// the window). Each file row's vsRingwire is its median over ringwire's at the same size (a
// ratio of medians, from this run), with the paired per-round ratios (round k of both ran in
// round k) and their min and max.
//
// Every message must arrive, whole and in order, or the run fails: the producer writes every
// byte of each (frames.mjs), the consumer checks its length, seq and both stamps, and every
// byte of one in 16 (Checker); the harness checks that the consumer counted what was sent.
import { sizeLabel } from '../harness/format.mjs';
import { runPhases } from '../harness/phases.mjs';
import { capacityFor, channel, fileChannel, fileChannelBase, release } from '../harness/rendezvous.mjs';
import { addRate, addRatios, RowSamples } from '../harness/samples.mjs';
import { noteFor } from '../systems/index.mjs';
import { FILE_SYSTEMS, S12_SIZES, S12_SYNC_EVERY } from '../systems/lists.mjs';

/** A sync row's warm-up and window each hold at least this many syncs. */
const SYNCS_PER_WINDOW = 4;

const syncs = S12_SIZES.map((size) => `${S12_SYNC_EVERY[size]} at ${sizeLabel(size)}`).join(', ');

/** Each row's note: how its channel was made (and where the file was). */
function noteOf(system, fs) {
  if (system === 'ringwire') return `a channel in shared memory (/dev/shm); ${noteFor('ringwire', 'S3')}`;
  const where = `a file-backed channel: a file in a fresh directory under ${fs.dir}, on ${fs.type}`
    + `${fs.source ? ` (${fs.source}, mounted at ${fs.mount})` : ''}, linked until the phase ends; otherwise as ringwire`;
  if (system === 'ringwire-file') return `${where}; no sync() (the kernel writes dirty pages back when it likes)`;
  return `${where}; the producer awaits sender.sync() (msync MS_SYNC) after every N messages, N = ${syncs}; `
    + 'the rate counts the time in sync';
}

/** Both sizes, in order, for one group of fresh processes (the first phase warms the JIT up longer). */
function phasesOf(system, timing) {
  const file = system !== 'ringwire';
  return S12_SIZES.map((size, i) => {
    const syncEvery = system === 'ringwire-file-sync' ? S12_SYNC_EVERY[size] : undefined;
    let key = null;
    return {
      i, size, mode: 'single', own: true, system, label: `S12 ${sizeLabel(size)}`,
      warmupMs: i === 0 ? Math.max(timing.rate.warmupMs, timing.firstWarmupMs) : timing.rate.warmupMs,
      measureMs: timing.rate.measureMs, minMessages: syncEvery ? SYNCS_PER_WINDOW * syncEvery : 0, syncEvery,
      keepName: file,
      prepare() {
        key = file ? fileChannel({ capacity: capacityFor(size) }) : channel({ capacity: capacityFor(size) });
        return key;
      },
      release() {
        if (key !== null) release(key);
        key = null;
      },
    };
  });
}

export async function runFile(ctx) {
  const systems = FILE_SYSTEMS.filter((system) => !ctx.only || ctx.only.has(system));
  if (systems.length === 0) return;
  const fs = systems.some((system) => system !== 'ringwire') ? fileChannelBase() : null;
  if (fs) ctx.log(`S12 … file-backed channels in fresh directories under ${fs.dir} (${fs.type}${fs.source ? ` on ${fs.source}` : ''})`);
  const rows = new RowSamples();
  for (let round = 0; round < ctx.runs; round++) {
    for (const system of systems) {
      const group = { name: `S12-${system}`, worker: 'ringwire.mjs', layout: 'pair', config: {}, opensPerPhase: true };
      await runPhases(group, phasesOf(system, ctx.timing), (p, result) => {
        const fields = { system, size: p.size };
        if (system !== 'ringwire') fields.fileSystem = fs;
        if (p.syncEvery) fields.syncEvery = p.syncEvery;
        fields.note = noteOf(system, fs);
        addRate(ctx, rows, 'S12', fields, round, result);
      });
    }
  }
  const summaries = rows.summaries();
  addRatios(summaries, 'ringwire', 'vsRingwire', 'medians');
  for (const { id, row } of summaries) ctx.record(id, row);
}
