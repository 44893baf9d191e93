// S13: bridged throughput over NATS, at 64 B and 4 KiB, through one nats-server (core NATS)
// that this scenario starts on free loopback ports and stops at its end (harness/nats-server.mjs):
//   nats                     plain nats.js: a publisher process -> a subscriber process
//                            (workers/nats.mjs): a publish per message, nc.flush() every
//                            NATS_FLUSH_EVERY, `for await` over the subscription
//   ringwire-nats            a ringwire producer -> an SPSC channel -> a bridge-out process
//                            (bridge({ direction: 'out' })) -> NATS -> a bridge-in process
//                            (bridge({ direction: 'in' })) -> an SPSC channel -> a ringwire
//                            consumer: four processes and the server, as they would be deployed
//                            (workers/ringwire.mjs at both ends, as S12 runs it;
//                            workers/nats-bridge.mjs in the middle); the bridge flushes every
//                            4096 messages too, or half a ring of bytes (it publishes views of
//                            the SPSC ring, freed once nats.js has copied them)
//   ringwire-nats-jetstream  the same, with jetstream: { stream, durable } on both bridges (a
//                            fresh stream and durable consumer per phase): every publish acked
//                            by JetStream, at most 256 in flight; the in bridge pulls and acks
//                            each message once it is in the ring. Much slower: the acks. Its
//                            rings hold 4 ack windows (jetStreamCapacity), its warm-ups are
//                            shorter (timing.nats.jetstream)
// The value is msg/s delivered to the final consumer, kept by it (workers/common.mjs's Meter,
// windows of timing.nats: long warm-ups, see cli.mjs). Every ringwire-nats* row carries vsNats:
// its per-round ratios to nats of the same size and round (the rounds are interleaved), and
// their median (the value), min and max. CPU time per message counts every process of the row
// and the server (cpuSeconds has each process's share).
//
// Each row runs in ctx.runs interleaved rounds, in fresh processes per row and round that run
// both sizes (a phase each: harness/phases.mjs), each phase with a fresh subject (and fresh
// channels). Before the producer starts, the server must show the subscription on the phase's
// subject (its monitoring port): core NATS drops what nobody is subscribed to.
//
// Every message must arrive, whole and in order, or the run fails: the producer writes every
// byte of each (frames.mjs), the consumer checks its length, seq and both stamps, and every
// byte of one in 16; the harness checks that the consumer counted what was sent and that each
// bridge passed that many on. Core NATS has no flow control: a subscriber that falls behind is
// cut off by the server (a slow consumer, its messages lost); the server's log is watched and
// its slow-consumer count read after every group, and either fails the run at once.
//
// Without nats-server on PATH every row is null with the reason NATS_MISSING.
import { execFileSync } from 'node:child_process';
import { sizeLabel } from '../harness/format.mjs';
import { findNatsServer, startNatsServer } from '../harness/nats-server.mjs';
import { runPhases } from '../harness/phases.mjs';
import { capacityFor, channel, release } from '../harness/rendezvous.mjs';
import { addRate, addRatios, RowSamples } from '../harness/samples.mjs';
import { NATS_FLUSH_EVERY, NATS_MISSING, NATS_SYSTEMS, S13_SIZES } from '../systems/lists.mjs';

const SUBSCRIBE_MS = 10000;
/** The bridges' JetStream window (ringwire/nats's default): publishes awaiting acks, messages pulled ahead. */
const JETSTREAM_WINDOW = 256;

/**
 * The JetStream row's rings: room for 4 windows of messages (a power of two, at least 64 KiB),
 * not S1's 1 MiB: the bridge out holds every message in its ring until JetStream acked it, so
 * the ring must hold a window; but at JetStream's few thousand msg/s, 1 MiB of 64 B messages
 * would take seconds to drain at the end of every phase.
 */
function jetStreamCapacity(size) {
  let capacity = 1 << 16;
  while (capacity < 4 * JETSTREAM_WINDOW * (size + 8)) capacity *= 2;
  return capacity;
}

let counter = 0;

const NOTES = {
  nats: `plain nats.js, a publisher process -> a subscriber process: a publish per message (a fresh Uint8Array), `
    + `await nc.flush() every ${NATS_FLUSH_EVERY}; the subscriber's for await over the subscription, every payload checked`,
  'ringwire-nats': 'ringwire producer -> SPSC channel -> bridge({ direction: \'out\' }) -> NATS -> '
    + 'bridge({ direction: \'in\' }) -> SPSC channel -> ringwire consumer, four processes; trySend / tryRecvInto at the ends, '
    + `the bridge publishes views of the ring (freed once nats.js copied them) and flushes every ${NATS_FLUSH_EVERY} messages `
    + 'or half a ring of bytes; every payload checked',
  'ringwire-nats-jetstream': 'as ringwire-nats, with jetstream: { stream, durable } on both bridges (a fresh stream, file '
    + `storage, per phase): every publish acked by JetStream (at most ${JETSTREAM_WINDOW} awaiting), the in bridge acks each `
    + 'message once it is in the ring; the acks make it much slower; rings of 4 ack windows (128 KiB at 64 B, 8 MiB at 4 KiB), '
    + 'shorter warm-ups',
};

/** Polls the server until it has a subscription on `subject`. */
async function subscribed(server, subject) {
  const until = performance.now() + SUBSCRIBE_MS;
  while (!(await server.subscribed(subject))) {
    if (performance.now() > until) throw new Error(`S13: no subscription on ${subject} within ${SUBSCRIBE_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function groupOf(system, server) {
  const common = {
    name: `S13-${system}`, layout: 'pair', pids: { 'nats-server': server.pid }, watch: (fail) => server.watch(fail),
  };
  if (system === 'nats') return { ...common, worker: 'nats.mjs', config: { servers: server.url } };
  const bridge = (role, direction) => ({ role, worker: 'nats-bridge.mjs', config: { servers: server.url, direction } });
  return {
    ...common, worker: 'ringwire.mjs', config: {}, opensPerPhase: true,
    middle: [bridge('bridge-in', 'in'), bridge('bridge-out', 'out')],
  };
}

/** Both sizes, in order, for one group of fresh processes (the first phase warms up longer). */
function phasesOf(system, timing, server) {
  const t = system === 'ringwire-nats-jetstream' ? timing.nats.jetstream : timing.nats;
  const capacity = (size) => (system === 'ringwire-nats-jetstream' ? jetStreamCapacity(size) : capacityFor(size));
  return S13_SIZES.map((size, i) => {
    const n = ++counter;
    const subject = `rwbench.${process.pid}.${n}`;
    const jetstream = system === 'ringwire-nats-jetstream' ? { stream: `RWBENCH_${process.pid}_${n}`, durable: `in_${n}` } : undefined;
    let names = [];
    const phase = {
      i, size, mode: 'single', own: true, system, label: `S13 ${sizeLabel(size)}`,
      warmupMs: i === 0 ? Math.max(t.warmupMs, t.firstWarmupMs) : t.warmupMs, measureMs: t.measureMs,
      extra: { subject, ...(jetstream ? { jetstream } : {}) },
      // Core NATS drops what nobody is subscribed to (a JetStream stream keeps it).
      armed: jetstream ? undefined : () => subscribed(server, subject),
      prepare() {
        if (system === 'nats') return null;
        // The producer's channel (read by the bridge out) and the consumer's (fed by the bridge in).
        names = [channel({ capacity: capacity(size) }), channel({ capacity: capacity(size) })];
        phase.targets = { 'bridge-out': names[0], 'bridge-in': names[1], consumer: names[1] };
        return names[0];
      },
      release() {
        for (const name of names) release(name);
        names = [];
      },
    };
    return phase;
  });
}

export async function runNats(ctx) {
  const systems = NATS_SYSTEMS.filter((system) => !ctx.only || ctx.only.has(system));
  if (systems.length === 0) return;
  const rows = new RowSamples();
  const binary = findNatsServer();
  if (binary === null) {
    ctx.log(`S13 … not run: ${NATS_MISSING} (bash tools/ensure-nats-server.sh installs it)`);
    for (const system of systems) for (const size of S13_SIZES) rows.add('S13', { system, size }, { reason: NATS_MISSING });
    for (const { id, row } of rows.summaries()) ctx.record(id, row);
    return;
  }
  const version = execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim().replace(/^nats-server:\s*/, '');
  const server = await startNatsServer(binary);
  ctx.log(`S13 … nats-server ${version} at ${server.url} (JetStream on, its store in a temporary directory)`);
  try {
    for (let round = 0; round < ctx.runs; round++) {
      for (const system of systems) {
        await runPhases(groupOf(system, server), phasesOf(system, ctx.timing, server), (p, result) => {
          addRate(ctx, rows, 'S13', { system, size: p.size, natsServer: version, note: NOTES[system] }, round, result);
        });
        const slow = await server.slowConsumers();
        if (slow !== 0) throw new Error(`S13 ${system}: the server counted ${slow} slow consumer(s): messages were lost`);
      }
    }
  } finally {
    await server.stop();
  }
  const summaries = rows.summaries();
  addRatios(summaries, 'nats', 'vsNats', 'median');
  for (const { id, row } of summaries) ctx.record(id, row);
}
