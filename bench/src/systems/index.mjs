// The systems under test and how the harness runs each in the throughput scenarios (S1-S3,
// S8, S9):
// which worker, in which layout, with which rendezvous, and how a phase's mode is chosen.
import { capacityFor, channel, fifo, release, tmpPath } from '../harness/rendezvous.mjs';
import { cleanUp } from '../harness/cleanup.mjs';
import { EXPECTED } from './lists.mjs';

export { NATIVE_SYSTEMS, THROUGHPUT_SYSTEMS } from './lists.mjs';
/** Which systems each throughput scenario has. */
export const SCENARIO_SYSTEMS = { S1: EXPECTED.S1, S2: EXPECTED.S2, S3: EXPECTED.S3, S8: EXPECTED.S8, S9: EXPECTED.S9 };

/** The mode a system runs in a scenario: 'batch' (S2, and the *-batched systems) or 'single' (S1, S3, S8, S9). */
export function modeFor(system, scenario) {
  return scenario === 'S2' || system.endsWith('-batched') ? 'batch' : 'single';
}

/** What a row says about how the system was run, where the system name does not. */
export function noteFor(system, scenario, variant) {
  const batch = modeFor(system, scenario) === 'batch';
  switch (system) {
    case 'ringwire': {
      // Every ringwire row falls back on the library's own waiting, as an application would.
      const wait = '; await send() when full, await recv() when empty';
      if (variant === 'tryClaim') return `tryClaim + every byte written in place, commit() per 256 / poll (zero-copy both ends)${wait}`;
      if (scenario === 'S2') return `trySendMany (arrays of 256) / poll (zero-copy views)${wait}`;
      return scenario === 'S3' ? `trySend / tryRecvInto (a copy into a buffer the consumer owns and reuses)${wait}`
        : `trySend / tryRecv (a copy the consumer owns)${wait}`;
    }
    case 'uds': case 'tcp':
      return 'one write per message';
    case 'uds-batched': case 'tcp-batched':
      return 'messages coalesced into ~64 KiB writes';
    case 'pipe': case 'fifo':
      return batch ? 'messages coalesced into ~64 KiB writes' : 'one write per message';
    case 'ipc-json': case 'ipc-advanced':
      return batch ? 'messages coalesced into ~64 KiB Buffers per send()' : 'one send() per message';
    case 'messageport':
      return `worker threads in one process, not two processes; ${batch ? 'arrays of 256 per postMessage' : 'one postMessage per message'}`;
    case 'js-ceiling':
      return 'one thread copying into and out of a SharedArrayBuffer ring; no second process';
    case 'posix-mq':
      return scenario === 'S2' ? 'no batch API: one mq_send / mq_receive per message' : 'one mq_send / mq_receive per message';
    case 'sysv-mq':
      return 'C, two processes, one System V queue (IPC_PRIVATE): one msgsnd / msgrcv per message, mtype 1; '
        + 'queue of msg_qbytes (msgmnb, 16 KiB by default); msgmax (8 KiB by default) caps the size';
    case 'sysv-shm':
      return 'C, two processes, a ring of slots in a System V shm segment; one semop on a System V semaphore '
        + '(data / space) before and after every message, each side, blocking when empty / full';
    case 'udp':
      return '127.0.0.1, one datagram per message; credit-based flow control (consumer acks every quarter '
        + 'window; window sized to its receive buffer), so nothing is dropped: a lost datagram fails the run';
    case 'c-ring':
      return 'C, two processes, shared-memory ring: the ceiling';
    default:
      return undefined;
  }
}

/**
 * The worker group for a throughput system: { name, worker, layout, config, prepare(size) }.
 * prepare(size) makes the phase's rendezvous and returns { target, release }.
 */
export function groupFor(system) {
  const stream = (transport, extra = {}) => ({
    name: system, worker: 'stream.mjs', layout: transport === 'pipe' ? 'relay' : 'pair',
    config: { transport, noDelay: system === 'tcp', ...extra },
    // Once connected, the socket path or fifo is no longer needed: remove it at once.
    connected: extra.path ? () => cleanUp(extra.path) : undefined,
  });
  switch (system) {
    case 'ringwire':
      return {
        name: system, worker: 'ringwire.mjs', layout: 'pair', config: {}, opensPerPhase: true,
        prepare(size) {
          const name = channel({ capacity: capacityFor(size) });
          return { target: name, release: () => release(name) };
        },
      };
    case 'uds': case 'uds-batched':
      return stream('uds', { path: tmpPath('sock') });
    case 'tcp': case 'tcp-batched':
      return stream('tcp');
    case 'udp':
      return { name: system, worker: 'udp.mjs', layout: 'pair', config: {} };
    case 'pipe':
      return stream('pipe');
    case 'fifo':
      return stream('fifo', { path: fifo() });
    case 'ipc-json': case 'ipc-advanced':
      return { name: system, worker: 'ipc.mjs', layout: 'relay', config: { serialization: system.slice(4) } };
    case 'messageport':
      return { name: system, worker: 'messageport.mjs', layout: 'relay', config: {} };
    case 'js-ceiling':
      return { name: system, worker: 'js-ceiling.mjs', layout: 'solo', config: {} };
    default:
      throw new Error(`no worker group for ${system}`);
  }
}

/** The rendezvous a group made for itself (socket path, fifo), to remove when it is done. */
export function groupCleanupKey(group) {
  return group.config.path;
}
