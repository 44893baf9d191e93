// Bridges between a ringwire channel and a NATS subject (ringwire/nats), so that processes on
// other machines join a channel through NATS rather than through a protocol of our own.
//
// out: the bridge is a receiver of the channel (a competing receiver on MPMC, a subscriber on
// broadcast) and publishes every message it takes to the subject. Core NATS: taken in runs
// (poll), published as the client batches them, flushed (a round trip to the server) often
// enough that the client's buffer stays bounded (at most once, as any core NATS publisher;
// serverConfirm keeps each message in the ring until the server has answered for it). JetStream: each
// message is published with a Nats-Msg-Id, at most `window` publishes await their ack at once,
// and a publish that fails is retried with the same id (JetStream's duplicate window drops a
// repeat). When the channel's stream ends, the bridge publishes an end marker (an empty
// message with the header Ringwire-End) and stops.
//
// in: the bridge is a sender into the channel. Core NATS: it subscribes (with a queue group,
// bridges of one group share the subject's messages) and sends what each socket read brought
// into the channel in one batch (trySendMany), waiting while the ring is full; core NATS has no flow control, so while it waits the
// client queues what the server sends (the server cuts off a subscriber that falls too far
// behind). JetStream: it pulls from a durable consumer at most `window` messages ahead and
// acks a message only once it is in the ring: a full ring stops the pulling, and a bridge that
// dies leaves every message it had not put in the ring for the next one. The end marker ends
// the channel's stream.
import { invalidArg, RingwireError } from '../errors.js';
import { openReceiver, openSender, stats as channelStats } from '../channel.js';
import type { ChannelName } from '../options.js';
import { BridgeRecord } from './registry.js';
import type { Receiver } from '../receiver.js';
import type { Sender } from '../sender.js';

import type * as NatsClient from '@nats-io/transport-node';
import type * as JetStreamClient from '@nats-io/jetstream';

// `headers` is re-exported from @nats-io/nats-core/internal, which the CommonJS build's
// module resolution (Node10: no "exports") cannot see: typed here.
interface MsgHeaders {
  set(key: string, value: string): void;
  get(key: string): string;
}
type NatsModule = typeof NatsClient & { headers(): MsgHeaders };
type JetStreamModule = typeof JetStreamClient;
type NatsConnection = Awaited<ReturnType<NatsModule['connect']>>;
type PublishHeaders = NonNullable<Parameters<NatsConnection['publish']>[2]>['headers'];

/** The header of the empty message that carries a channel's end of stream across NATS. */
export const END_HEADER = 'Ringwire-End';
/** Core NATS out: a flush (a round trip to the server) after this many publishes. */
const FLUSH_EVERY = 4096;
/** JetStream: publishes awaiting their ack (out), messages pulled ahead (in), by default. */
const DEFAULT_WINDOW = 256;
/** JetStream out: attempts of one publish before the bridge fails. */
const PUBLISH_ATTEMPTS = 5;

/** Options of {@link bridge}. */
export interface BridgeOptions {
  /** The ringwire channel: its name, a file-backed channel's path, or `{ fd }`. */
  channel: ChannelName;
  /** The NATS subject. */
  subject: string;
  /** 'out': channel → NATS (the bridge receives from the channel); 'in': NATS → channel. */
  direction: 'out' | 'in';
  /** The NATS server(s), e.g. 'nats://127.0.0.1:4222'. */
  servers: string | readonly string[];
  /** in, core NATS: a queue group; the bridges of one group share the subject's messages. */
  queue?: string;
  /**
   * Use JetStream: the stream (created, holding `subject`, if it does not exist) and, for
   * 'in', the durable consumer to pull from (created if missing; required).
   */
  jetstream?: { stream: string; durable?: string };
  /** JetStream: publishes awaiting their ack ('out'), or messages pulled ahead ('in'); default 256. */
  window?: number;
  /**
   * out, core NATS, an SPSC channel: keep each message in the ring until the server has
   * answered a flush sent after it, so that a bridge killed mid-stream loses nothing the
   * server had not got (the next bridge publishes it again; a subscriber may see a message
   * twice). The ring is then the window of messages on their way: slower. Without it a
   * message leaves the ring once the client has copied it for the socket, as with any core
   * NATS publisher (at most once). Refused on other channels and with JetStream (its acks
   * already keep every message until it is stored).
   */
  serverConfirm?: boolean;
  /**
   * How long (µs) the bridge's end of the channel spins before it parks when the channel is
   * empty ('out') or full ('in'); default 0: it parks at once, leaving the CPU to the
   * processes it serves (NATS's round trip dwarfs the wake). See the endpoint option.
   */
  spinMicros?: number;
  /** Ends the bridge (as close()). */
  signal?: AbortSignal;
}

/** What a bridge has done so far. */
export interface BridgeStats {
  direction: 'out' | 'in';
  subject: string;
  /** Messages moved (out: published and, with JetStream, acked; in: put in the ring). */
  messages: number;
  /** Their payload bytes. */
  bytes: number;
  /** JetStream out: publishes awaiting their ack now. */
  pendingAcks: number;
  /** Publishes retried (JetStream out). */
  retries: number;
  /** When the bridge started (ms since the epoch). */
  startedAt: number;
}

/** How a bridge stopped. */
export interface BridgeResult {
  /** 'ended': the channel's stream ended (out) or the end marker came (in); 'closed': close() or the signal. */
  reason: 'ended' | 'closed';
  stats: BridgeStats;
}

/** A running bridge (see {@link bridge}). */
export interface Bridge {
  /** Counters, read now. */
  stats(): BridgeStats;
  /** Settles when the bridge stops: the result, or the error that stopped it. */
  readonly done: Promise<BridgeResult>;
  /**
   * Stops the bridge: out publishes what it has taken and waits for the acks; in stops
   * consuming (with JetStream, what it had pulled and not put in the ring stays unacked for
   * the next bridge). Resolves as `done` does.
   */
  close(): Promise<BridgeResult>;
}

let client: Promise<{ nats: NatsModule; js: JetStreamModule }> | undefined;

/** The NATS client, an optional peer dependency: ERR_RINGWIRE_MISSING_DEPENDENCY without it. */
function loadNatsClient(): Promise<{ nats: NatsModule; js: JetStreamModule }> {
  const loading = client ?? (async () => {
    try {
      // Both are CommonJS: their module.exports (`default` from ESM and from CommonJS alike)
      // has every export, re-exported ones included.
      const nats = await import('@nats-io/transport-node') as unknown as { default: NatsModule };
      const js = await import('@nats-io/jetstream') as unknown as { default: JetStreamModule };
      return { nats: nats.default, js: js.default };
    } catch (error) {
      client = undefined;
      throw new RingwireError('ERR_RINGWIRE_MISSING_DEPENDENCY',
        'ringwire/nats needs the NATS client, an optional peer dependency of ringwire: '
        + 'npm install @nats-io/transport-node @nats-io/jetstream', { cause: error });
    }
  })();
  client = loading;
  return loading;
}

function checkOptions(options: BridgeOptions): Required<Pick<BridgeOptions, 'window'>> {
  if (options === null || typeof options !== 'object') throw invalidArg('bridge options must be an object');
  const { subject, direction, servers, queue, jetstream, window = DEFAULT_WINDOW } = options;
  if (typeof subject !== 'string' || subject.length === 0 || /\s/.test(subject)) {
    throw invalidArg(`subject must be a NATS subject (no spaces), got ${JSON.stringify(subject)}`);
  }
  if (direction !== 'out' && direction !== 'in') throw invalidArg(`direction must be 'out' or 'in', got ${String(direction)}`);
  const list = typeof servers === 'string' ? [servers] : servers;
  if (!Array.isArray(list) || list.length === 0 || list.some((s) => typeof s !== 'string' || s.length === 0)) {
    throw invalidArg('servers must be a NATS server URL or a non-empty list of them');
  }
  if (queue !== undefined && (typeof queue !== 'string' || queue.length === 0)) throw invalidArg('queue must be a non-empty string');
  if (queue !== undefined && direction === 'out') throw invalidArg("queue is for direction 'in' (subscribers share a subject)");
  if (queue !== undefined && jetstream !== undefined) {
    throw invalidArg('queue is for core NATS; with JetStream, bridges that share a durable consumer share its messages');
  }
  if (jetstream !== undefined) {
    if (jetstream === null || typeof jetstream !== 'object' || typeof jetstream.stream !== 'string' || jetstream.stream.length === 0) {
      throw invalidArg('jetstream must be { stream, durable? }');
    }
    if (direction === 'in' && (typeof jetstream.durable !== 'string' || jetstream.durable.length === 0)) {
      throw invalidArg("jetstream.durable is required for direction 'in': the durable consumer keeps what was not yet acked");
    }
  }
  if (!Number.isInteger(window) || window < 1 || window > 65536) throw invalidArg(`window must be an integer from 1 to 65536, got ${String(window)}`);
  const { serverConfirm, spinMicros } = options;
  if (spinMicros !== undefined && !(typeof spinMicros === 'number' && spinMicros >= 0 && spinMicros <= 1e6)) {
    throw invalidArg(`spinMicros must be a number from 0 to 1000000, got ${String(spinMicros)}`);
  }
  if (serverConfirm !== undefined && typeof serverConfirm !== 'boolean') throw invalidArg(`serverConfirm must be a boolean, got ${String(serverConfirm)}`);
  if (serverConfirm === true && (direction !== 'out' || jetstream !== undefined)) {
    throw invalidArg("serverConfirm is for direction 'out' over core NATS (JetStream's acks keep every message until it is stored)");
  }
  return { window };
}

/** Whether a NATS message is the end marker. */
function isEnd(headers: { get(key: string): string } | undefined): boolean {
  return headers !== undefined && headers.get(END_HEADER) !== '';
}

/**
 * Starts a bridge between a ringwire channel and a NATS subject: 'out' publishes what the
 * channel carries, 'in' sends what the subject carries into the channel (see the README's
 * "Beyond one machine: NATS"). Resolves once it is connected and its endpoint is open.
 *
 * @example
 * ```ts
 * import { bridge } from 'ringwire/nats';
 *
 * // This machine: what the local producers send to 'orders' goes to NATS.
 * const out = await bridge({ channel: 'orders', subject: 'orders', direction: 'out', servers: 'nats://hub:4222',
 *   jetstream: { stream: 'ORDERS' } });
 * // Another machine: the stream feeds a local channel, acked once each message is in the ring.
 * const into = await bridge({ channel: 'orders', subject: 'orders', direction: 'in', servers: 'nats://hub:4222',
 *   jetstream: { stream: 'ORDERS', durable: 'orders-eu' } });
 * await out.done;  // the local channel's stream ended: everything was published and acked
 * ```
 */
export async function bridge(options: BridgeOptions): Promise<Bridge> {
  return startBridge(options, {});
}

/** What ringwire's own bridges (bridgeTasks) set beyond BridgeOptions. */
export interface BridgeExtras {
  /** out: messages not to publish (still taken from the channel). */
  skip?: (message: Uint8Array) => boolean;
  /** false: out publishes no end marker, in ignores them (the channel's stream is not the subject's). */
  forwardEnd?: boolean;
  /**
   * out, core NATS: take each message from the ring at once, copied (a bridge killed
   * mid-stream loses what it had taken), instead of publishing it as a view of the ring held
   * until the client has copied it: held messages the client kept while reconnecting would
   * go again after a kill, and ringwire's pool runs a task at most once, never twice.
   */
  copyOut?: boolean;
}

/** bridge(), with what ringwire's own bridges add. */
export async function startBridge(options: BridgeOptions, extras: BridgeExtras): Promise<Bridge> {
  const { window } = checkOptions(options);
  const { nats, js } = await loadNatsClient();
  const { subject, direction, jetstream } = options;
  const stats: BridgeStats = { direction, subject, messages: 0, bytes: 0, pendingAcks: 0, retries: 0, startedAt: Date.now() };
  const nc: NatsConnection = await nats.connect({
    servers: typeof options.servers === 'string' ? options.servers : [...options.servers],
    name: `ringwire bridge ${direction} ${subject}`,
  }).catch((error: unknown) => { throw natsError(error, `could not connect to NATS (${String(options.servers)})`); });
  let endpoint: Sender<Uint8Array> | Receiver<Uint8Array>;
  try {
    if (jetstream !== undefined) await ensureStream(js, nc, jetstream.stream, subject);
    const endpointOptions = { spinMicros: options.spinMicros ?? 0 };
    endpoint = direction === 'out' ? openReceiver(options.channel, endpointOptions)
      : openSender(options.channel, endpointOptions) as Sender<Uint8Array>;
    const mode = (endpoint.protocol as unknown as { mode: string }).mode;
    if (options.serverConfirm === true && mode !== 'spsc') {
      endpoint.close();
      throw invalidArg(`serverConfirm needs an SPSC channel (the bridge its one receiver, holding what the server has not answered for); this one is ${mode}`);
    }
  } catch (error) {
    await nc.close();
    throw natsError(error, 'NATS');
  }
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) stop.abort();
  const reporter = startReporting(js, nc, options, stats);
  // An in bridge is ready once the server has its subscription (or its consumer is made).
  let ready: () => void = () => undefined;
  const subscribed = new Promise<void>((resolve) => { ready = resolve; });
  const run = direction === 'out'
    ? runOut(nats, js, nc, endpoint as Receiver<Uint8Array>, options, extras, window, stats, stop.signal)
    : runIn(js, nc, endpoint as Sender<Uint8Array>, options, extras, window, stats, stop.signal, ready);
  const done = run.then(
    async (reason) => { await finish(); return { reason, stats: { ...stats } }; },
    async (error: unknown) => {
      await finish();
      if (stop.signal.aborted && isAbort(error)) return { reason: 'closed' as const, stats: { ...stats } };
      throw natsError(error, 'NATS');
    },
  );
  async function finish(): Promise<void> {
    options.signal?.removeEventListener('abort', onAbort);
    reporter.stop();
    endpoint.close();
    if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
  }
  if (direction === 'in') await Promise.race([subscribed, done]);
  return {
    stats: () => ({ ...stats }),
    done,
    close: () => {
      stop.abort();
      return done;
    },
  };
}

/** How often a bridge rewrites its status file (ringwire ls / stat read it). */
const REPORT_MS = 1000;

/**
 * Keeps the bridge's status file (nats/registry.ts) up to date: counters, rates over the last
 * interval, and its lag — out: the messages in its channel not yet taken (or, held, not yet
 * acked); in with JetStream: those waiting in its durable consumer.
 */
function startReporting(js: JetStreamModule, nc: NatsConnection, options: BridgeOptions, stats: BridgeStats): { stop(): void } {
  const record = new BridgeRecord();
  const { jetstream } = options;
  const base = {
    pid: process.pid, direction: options.direction, subject: options.subject,
    channel: typeof options.channel === 'string' ? options.channel : `fd:${options.channel.fd}`,
    servers: typeof options.servers === 'string' ? [options.servers] : [...options.servers],
    ...(jetstream === undefined ? {} : { jetstream: { ...jetstream } }),
    ...(options.queue === undefined ? {} : { queue: options.queue }),
    startedAt: stats.startedAt,
  };
  let last = { at: Date.now(), messages: 0, bytes: 0 };
  let lag: number | undefined;
  let asking = false;
  const write = () => {
    const now = Date.now();
    const seconds = Math.max(1e-3, (now - last.at) / 1000);
    if (options.direction === 'out') {
      try {
        const channel = channelStats(options.channel);
        lag = Math.max(0, channel.messagesSent - channel.messagesReceived);
      } catch {
        lag = undefined;
      }
    } else if (jetstream?.durable !== undefined && !asking && !nc.isClosed()) {
      asking = true;
      void js.jetstreamManager(nc).then((jsm) => jsm.consumers.info(jetstream.stream, jetstream.durable!))
        .then((info) => { lag = info.num_pending; }, () => undefined).finally(() => { asking = false; });
    }
    try {
      record.write({
        ...base, updatedAt: now, messages: stats.messages, bytes: stats.bytes, pendingAcks: stats.pendingAcks,
        retries: stats.retries, messagesPerSecond: (stats.messages - last.messages) / seconds,
        bytesPerSecond: (stats.bytes - last.bytes) / seconds, ...(lag === undefined ? {} : { lag }),
      });
    } catch {
      // a status file that cannot be written only leaves ls without this bridge
    }
    last = { at: now, messages: stats.messages, bytes: stats.bytes };
  };
  write();
  const timer = setInterval(write, REPORT_MS);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      record.remove();
    },
  };
}

/** A RingwireError as it is; anything else (the NATS client's errors) as ERR_RINGWIRE_SYSTEM, with it as the cause. */
function natsError(error: unknown, what: string): RingwireError {
  if (error instanceof RingwireError) return error;
  return new RingwireError('ERR_RINGWIRE_SYSTEM', `${what}: ${String((error as Error)?.message ?? error)}`, { cause: error });
}

function isAbort(error: unknown): boolean {
  return (error as { name?: string } | null)?.name === 'AbortError' || (error as { code?: string } | null)?.code === 'ABORT_ERR';
}

/** Whether a JetStream API call failed because the stream or consumer does not exist. */
function notFound(js: JetStreamModule, error: unknown): boolean {
  return error instanceof js.JetStreamApiError && (error as unknown as { status: number }).status === 404;
}

/** The stream, created holding `subject` if it does not exist. */
async function ensureStream(js: JetStreamModule, nc: NatsConnection, stream: string, subject: string): Promise<void> {
  const jsm = await js.jetstreamManager(nc);
  try {
    await jsm.streams.info(stream);
  } catch (error) {
    if (!notFound(js, error)) throw error;
    await jsm.streams.add({ name: stream, subjects: [subject] });
  }
}

/** Core NATS out: publishes are copied into chunks of this size (a message longer than a quarter of one gets its own copy). */
const CHUNK_BYTES = 64 * 1024;

/**
 * channel → NATS over core NATS: messages are taken in runs with poll() (one publish of the
 * ring position, at most one wake of the sender, per run). nats.js writes what it is given at
 * the end of the task; a flush (a round trip to the server) bounds what it buffers: one is in
 * flight at a time, and the next waits for its answer, so for a slow (or stopped) server the
 * bridge stops taking after a few runs' worth, and the sender waits for room. A flush goes
 * after FLUSH_EVERY messages; held on the client's copy (SPSC, by default: see below), after
 * every half ring of bytes and after a run the client's copy did not confirm; otherwise after
 * every run. nats.js keeps the bytes it is
 * given until it copies them for the socket (at the end of the task, or at once past 32 KiB;
 * while disconnected, until it redials, when it drops them), so what it is given must stay put until then:
 *  - on an SPSC channel (the bridge is its one receiver) delivery is held (ring/spsc.ts): a
 *    message is published as a view of the ring, and its room goes back to the sender once
 *    the client's buffer is seen empty after its run (outboundDrained), else once the server
 *    has answered the flush after it. At 4 KiB the copy out of the ring this saves was over a
 *    third of the bridge's CPU time. At most once, as any core NATS publisher: a bridge killed
 *    mid-stream loses what the client had copied and the server had not yet got.
 *    With serverConfirm, every message waits for the server's answer: a bridge killed
 *    loses nothing the server had not answered for (the next receiver takes those messages
 *    again, so a subscriber may see again some the server did get: core NATS has no
 *    duplicate window, JetStream's Nats-Msg-Id has one); but the ring is then the window of
 *    messages on their way, and one round trip per ring's worth slows the stream.
 *    ringwire's own pool bridges (at most once, never twice) ask for `copyOut` instead.
 *  - otherwise (MPMC, broadcast, a message longer than the ring, copyOut) each message is
 *    copied into a shared chunk, and taken from the ring at once.
 */
async function runOutCore(nats: NatsModule, nc: NatsConnection, receiver: Receiver<Uint8Array>, options: BridgeOptions,
  extras: BridgeExtras, stats: BridgeStats, signal: AbortSignal): Promise<'ended' | 'closed'> {
  const { subject } = options;
  const protocol = receiver.protocol as unknown as Partial<HeldDelivery> & { mode: string };
  const held = protocol.mode === 'spsc' && extras.copyOut !== true ? protocol as HeldDelivery : undefined;
  // poll() hands over views of this (the whole mapping), or a copy of a message that came in fragments.
  const ring = (receiver as unknown as { view: { u8: Uint8Array } }).view.u8;
  held?.hold();
  // Held: marks are confirmed in the order they were taken (a later one covers the earlier).
  let marks = 0;
  let confirmedMark = 0;
  const takeMark = () => (held === undefined ? undefined : { ...held.mark(), n: ++marks });
  const confirmMark = (mark: { position: number; count: number; n: number }) => {
    // The bridge may have stopped meanwhile (an error) and closed its receiver: what it had
    // not confirmed stays in the ring for the next one.
    if (mark.n <= confirmedMark || receiver.isClosed) return;
    confirmedMark = mark.n;
    held!.confirm(mark);
  };
  // Held until the client has copied a message for the socket, or (serverConfirm, or a client
  // whose buffer cannot be seen) until the server has answered a flush after it.
  const drained = held === undefined || options.serverConfirm === true ? undefined : outboundDrained(nc);
  let tookSinceMark = false;
  // Confirmed as the client copies them, messages need no flush for their room: a flush is
  // then the bound on what the client buffers (after every half ring of bytes; one in flight).
  // Otherwise a flush follows every run (its answer confirms the run).
  const flushBytes = drained !== undefined ? Math.max(1, held!.capacity >>> 1) : Infinity;
  let unflushedBytes = 0;
  let chunk = new Uint8Array(CHUNK_BYTES);
  let used = 0;
  let unflushed = 0;
  const publish = (bytes: Uint8Array, offset: number, length: number): void => {
    tookSinceMark = true;
    if (extras.skip !== undefined && extras.skip(bytes.subarray(offset, offset + length))) return;
    let data: Uint8Array;
    if (held !== undefined && bytes === ring) {
      data = bytes.subarray(offset, offset + length); // stays in the ring until confirmed
    } else if (length > CHUNK_BYTES / 4) {
      data = bytes.slice(offset, offset + length);
    } else {
      if (used + length > CHUNK_BYTES) {
        chunk = new Uint8Array(CHUNK_BYTES); // the old one goes once nats.js has written it
        used = 0;
      }
      chunk.set(bytes.subarray(offset, offset + length), used);
      data = chunk.subarray(used, used + length);
      used += length;
    }
    nc.publish(subject, data);
    stats.messages++;
    stats.bytes += length;
    unflushed++;
    unflushedBytes += length;
  };
  // One flush in flight at a time: the next run is taken while the server answers the last,
  // instead of standing still for each round trip. Held: the server's answer confirms what was
  // taken before the flush (its room goes back), if the client's buffer has not already.
  let flushing: Promise<void> | undefined;
  // The connection dropped: when nats.js redials it drops what it had not written and rejects
  // the flushes waiting for an answer. With serverConfirm the server may not have got what
  // was taken: it stays in the ring, and the bridge stops (a recv() waiting included) so that
  // the next one publishes it. Otherwise the bridge goes on: what the client dropped is lost,
  // as nats.js's own publishes are (at most once), and nothing of the ring is held any more.
  let lost: RingwireError | undefined;
  const waiting = new AbortController();
  const stopWaiting = () => waiting.abort(signal.reason);
  signal.addEventListener('abort', stopWaiting, { once: true });
  const flushAndConfirm = (): Promise<void> => {
    const mark = takeMark();
    return nc.flush().then(() => { if (mark !== undefined) confirmMark(mark); }, (error: unknown) => {
      if (nc.isClosed() || options.serverConfirm === true) {
        lost ??= new RingwireError('ERR_RINGWIRE_SYSTEM', nc.isClosed()
          ? `the connection to NATS closed (${String((error as Error)?.message ?? error)})`
          : `the connection to NATS dropped before the server answered for what the bridge published to ${subject}; `
            + 'what it had not answered for stays in the channel for the next receiver', { cause: error });
        waiting.abort(lost);
        throw lost;
      }
      if (mark !== undefined) confirmMark(mark);
    });
  };
  const flush = async () => {
    if (flushing !== undefined) await flushing;
    flushing = flushAndConfirm();
    flushing.catch(() => undefined); // awaited above or at the end; a bridge stopped by an error no longer waits for it
    unflushed = 0;
    unflushedBytes = 0;
  };
  try {
    return await pump();
  } finally {
    signal.removeEventListener('abort', stopWaiting);
  }

  async function pump(): Promise<'ended' | 'closed'> {
    for (;;) {
      if (lost !== undefined) throw lost;
      if (signal.aborted) {
        // close(): what was taken is published, nothing more is taken.
        if (flushing !== undefined) await flushing;
        await flushAndConfirm();
        return 'closed';
      }
      receiver.poll(publish, FLUSH_EVERY - unflushed);
      if (tookSinceMark && drained !== undefined) {
        // nats.js copies what it was given into one buffer of its own when it writes to the
        // socket: inline past 32 KiB, else in a microtask queued by the run's first publish,
        // which runs before this await returns. Then the run's room can go back at once.
        tookSinceMark = false;
        const mark = takeMark()!;
        await null;
        if (drained()) confirmMark(mark);
      }
      if (unflushed >= FLUSH_EVERY || unflushedBytes >= flushBytes) {
        await flush();
        continue;
      }
      // The channel is empty: what was published goes now (nats.js writes it at the end of the
      // task), then wait for more; a flush when the server's answer is what confirms it.
      if (unflushed > 0 && (drained === undefined || confirmedMark < marks)) {
        await flush();
        continue;
      }
      const next = waiting.signal.aborted ? undefined : await receiver.recv({ signal: waiting.signal }).catch((error: unknown) => {
        if (waiting.signal.aborted && isAbort(error)) return undefined;
        throw error;
      });
      if (next === undefined) continue; // aborted, or the connection lost: the top of the loop ends it
      if (next === null) break;
      publish(next, 0, next.length);
    }
    if (extras.forwardEnd !== false) {
      const headers = nats.headers();
      headers.set(END_HEADER, '1');
      nc.publish(subject, new Uint8Array(0), { headers: headers as unknown as PublishHeaders });
    }
    if (flushing !== undefined) await flushing;
    await flushAndConfirm();
    return 'ended';
  }
}

/**
 * Whether nats.js holds none of the bytes it was given: its outbound buffer (ProtocolHandler's,
 * public in nats-core's declarations, not in its documented API) is empty. When it is, every
 * publish before was packed into a buffer of nats.js's own (a publish is at least two pieces,
 * so the drain always copies) and handed to the socket. While the client is disconnected the
 * buffer keeps what was published, views of the ring included, until it redials (and drops
 * it). Undefined when the client does not look like that: the server's answer to a flush is
 * waited for instead.
 */
function outboundDrained(nc: NatsConnection): (() => boolean) | undefined {
  const protocol = (nc as unknown as { protocol?: { outbound?: { size?: unknown } } }).protocol;
  if (typeof protocol?.outbound?.size !== 'function') return undefined;
  return () => (protocol.outbound as { size(): number }).size() === 0;
}

/** Held delivery on an SPSC receiver (ring/spsc.ts): what the bridge has not confirmed stays in the ring. */
interface HeldDelivery {
  readonly capacity: number;
  hold(): void;
  mark(): { position: number; count: number };
  confirm(mark: { position: number; count: number }): void;
}

/**
 * channel → NATS. With JetStream on an SPSC channel, delivery is held (the bridge is the
 * channel's one receiver): a message stays in the ring until JetStream has acked it and every
 * message before it, so a bridge killed mid-stream loses nothing — the next receiver (a
 * restarted bridge) takes the unacked messages again and publishes them under the same
 * Nats-Msg-Id (the channel's identity and the message's index in it), which JetStream's
 * duplicate window drops if the first publish did arrive.
 */
async function runOut(nats: NatsModule, js: JetStreamModule, nc: NatsConnection, receiver: Receiver<Uint8Array>,
  options: BridgeOptions, extras: BridgeExtras, window: number, stats: BridgeStats, signal: AbortSignal): Promise<'ended' | 'closed'> {
  if (options.jetstream === undefined) return runOutCore(nats, nc, receiver, options, extras, stats, signal);
  const client = js.jetstream(nc);
  const protocol = receiver.protocol as unknown as Partial<HeldDelivery> & { mode: string };
  const held = protocol.mode === 'spsc' ? protocol as HeldDelivery : undefined;
  held?.hold();
  // Message ids: the channel's identity and the message's index in it where delivery is held
  // (the same after a restart); otherwise this run's, and a count.
  const identity = channelStats(options.channel);
  const prefix = held !== undefined
    ? `rw.${identity.createdAt.getTime().toString(36)}.${identity.creatorPid.toString(36)}.${identity.name}`
    : `rw.${process.pid.toString(36)}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 8)}`;
  let seq = 0;
  // JetStream: the publishes awaiting their ack, oldest first, each with the mark to confirm.
  const pending: { acked: Promise<void>; done: boolean; mark?: { position: number; count: number } }[] = [];
  const confirmAcked = () => {
    let mark: { position: number; count: number } | undefined;
    while (pending.length > 0 && pending[0].done) mark = pending.shift()!.mark ?? mark;
    if (mark !== undefined) held!.confirm(mark);
  };
  const publish = (data: Uint8Array, headers?: MsgHeaders) => {
    const counted = headers === undefined; // the end marker is not a message of the channel
    const mark = held?.mark();
    const id = mark !== undefined && counted ? `${prefix}.${mark.count}` : `${prefix}.${held === undefined ? seq : `end.${seq}`}`;
    seq++;
    const natsHeaders = headers === undefined ? {} : { headers: headers as unknown as PublishHeaders };
    stats.pendingAcks++;
    const entry: (typeof pending)[number] = { acked: Promise.resolve(), done: false, ...(counted && mark !== undefined ? { mark } : {}) };
    entry.acked = (async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          await client.publish(options.subject, data, { msgID: id, ...natsHeaders });
          break;
        } catch (error) {
          if (attempt >= PUBLISH_ATTEMPTS) {
            throw new RingwireError('ERR_RINGWIRE_SYSTEM',
              `bridge out to '${options.subject}': JetStream did not ack a publish after ${attempt} attempts: ${(error as Error).message}`, { cause: error });
          }
          stats.retries++;
          await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
        }
      }
      stats.pendingAcks--;
      if (counted) {
        stats.messages++;
        stats.bytes += data.length;
      }
      entry.done = true;
      if (held !== undefined) confirmAcked();
    })();
    entry.acked.catch(() => undefined); // awaited in order by settle(); a failure meanwhile is not unhandled
    pending.push(entry);
  };
  // Bounds what is in flight: the ack window.
  const settle = async (all: boolean) => {
    while (pending.length > (all ? 0 : window - 1)) {
      const oldest = pending[0];
      await oldest.acked;
      if (pending[0] === oldest) pending.shift(); // (confirmAcked took it already where delivery is held)
    }
  };
  let reason: 'ended' | 'closed' = 'closed';
  try {
    for (;;) {
      let message = receiver.tryRecv();
      if (message === undefined) {
        if (signal.aborted) break;
        await settle(false);
        const next = await receiver.recv({ signal }).catch((error: unknown) => {
          if (signal.aborted && isAbort(error)) return undefined;
          throw error;
        });
        if (next === undefined) break;
        if (next === null) {
          reason = 'ended';
          break;
        }
        message = next;
      }
      if (extras.skip?.(message) === true) continue;
      publish(message);
      if (pending.length >= window) await settle(false);
    }
    if (reason === 'ended' && extras.forwardEnd !== false) {
      const headers = nats.headers();
      headers.set(END_HEADER, '1');
      publish(new Uint8Array(0), headers);
    }
    await settle(true);
  } catch (error) {
    await Promise.allSettled(pending.map((entry) => entry.acked));
    throw error;
  }
  return reason;
}

/**
 * NATS → channel over core NATS. The client hands over every message of one socket read
 * synchronously (a subscription callback): they are queued and, at the end of that task,
 * written with one trySendMany() — one publish of the ring position and at most one wake of
 * the receiver per batch — in order; what does not fit waits for room with send(), while
 * later messages queue behind it (core NATS has no flow control).
 */
function runInCore(nc: NatsConnection, sender: Sender<Uint8Array>, options: BridgeOptions, forwardEnd: boolean,
  maxRecord: number, put: (data: Uint8Array) => Promise<void> | undefined, count: (data: Uint8Array) => void,
  signal: AbortSignal, ready: () => void): Promise<'ended' | 'closed'> {
  return new Promise<'ended' | 'closed'>((resolve, reject) => {
    let queue: { data: Uint8Array; end: boolean; chunk: number }[] = [];
    let draining = false;
    // While a message waits for room, later ones are copied (see Backlog).
    let waiting = false;
    const backlog = new Backlog();
    let finished = false;
    const batch: Uint8Array[] = [];
    const finish = (outcome: 'ended' | 'closed' | Error) => {
      if (finished) return;
      finished = true;
      signal.removeEventListener('abort', stop);
      subscription.unsubscribe();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const stop = () => finish('closed');
    const drain = async () => {
      while (queue.length > 0 && !finished) {
        const taken = queue;
        queue = [];
        for (let i = 0; i < taken.length && !finished;) {
          const item = taken[i];
          if (item.end) {
            i++;
            if (!forwardEnd) continue;
            await sender.end();
            finish('ended');
            return;
          }
          // The run of messages up to the next end marker or message too long for one record.
          batch.length = 0;
          for (let k = i; k < taken.length && !taken[k].end && taken[k].data.length <= maxRecord; k++) batch.push(taken[k].data);
          const sent = batch.length === 0 ? 0 : sender.trySendMany(batch);
          for (let k = 0; k < sent; k++) count(batch[k]);
          i += sent;
          if (waiting && i < taken.length && taken[i].chunk >= 0) backlog.doneBefore(taken[i].chunk);
          if (sent < batch.length || batch.length === 0) {
            // No room (or a message in fragments): this one waits, the rest after it.
            const room = put(taken[i].data);
            if (room !== undefined) {
              waiting = true;
              await room;
            }
            i++;
          }
        }
      }
      // Everything queued is in the ring (trySendMany and send copy it there).
      if (waiting) {
        waiting = false;
        backlog.clear();
      }
      draining = false;
    };
    const subscription = nc.subscribe(options.subject, {
      ...(options.queue === undefined ? {} : { queue: options.queue }),
      callback: (error: Error | null, message: { data: Uint8Array; headers?: MsgHeaders }) => {
        if (finished) return;
        if (error !== null) {
          finish(error);
          return;
        }
        const end = isEnd(message.headers);
        if (waiting) queue.push({ data: backlog.copy(message.data), end, chunk: backlog.chunk });
        else queue.push({ data: message.data, end, chunk: -1 });
        if (!draining) {
          draining = true;
          queueMicrotask(() => { drain().catch((failure: unknown) => finish(failure as Error)); });
        }
      },
    });
    signal.addEventListener('abort', stop, { once: true });
    if (signal.aborted) stop();
    // The server has the subscription once the flush returns.
    nc.flush().then(ready, (error: unknown) => finish(error as Error));
  });
}

/**
 * Where the core NATS in-bridge keeps messages that arrive while it waits for room in the ring.
 * nats.js hands each message over as a view into the socket read it came in (64 KiB): keeping
 * views would keep whole reads alive, and a backlog of them grows and shrinks the heap (page
 * faults that cost more than a copy). Such messages are copied into chunks instead, which are
 * used again once every message in them is in the ring.
 */
class Backlog {
  /** Chunks in use, oldest first; chunk `first + k` is live[k]. */
  private readonly live: Uint8Array[] = [];
  private first = 0;
  private used = 0;
  private readonly spare: Uint8Array[] = [];

  /** The number of the chunk the last copy went into (-1: a copy of its own). */
  chunk = -1;

  /** A copy of data (`chunk` says where). */
  copy(data: Uint8Array): Uint8Array {
    if (data.length > STAGING_CHUNK_BYTES / 4) {
      this.chunk = -1;
      return data.slice();
    }
    if (this.live.length === 0 || this.used + data.length > STAGING_CHUNK_BYTES) {
      this.live.push(this.spare.pop() ?? new Uint8Array(STAGING_CHUNK_BYTES));
      this.used = 0;
    }
    const chunk = this.live[this.live.length - 1];
    chunk.set(data, this.used);
    const view = chunk.subarray(this.used, this.used + data.length);
    this.used += data.length;
    this.chunk = this.first + this.live.length - 1;
    return view;
  }

  /** Every message copied into chunks before `chunk` is in the ring: those chunks are free. */
  doneBefore(chunk: number): void {
    while (this.first < chunk && this.live.length > 1) {
      const free = this.live.shift()!;
      this.first++;
      if (this.spare.length < STAGING_SPARE_CHUNKS) this.spare.push(free);
    }
  }

  /** Every message copied is in the ring. */
  clear(): void {
    this.doneBefore(this.first + this.live.length);
    if (this.live.length === 1 && this.spare.length < STAGING_SPARE_CHUNKS) this.spare.push(this.live[0]);
    this.first += this.live.length;
    this.live.length = 0;
    this.used = 0;
  }
}
const STAGING_CHUNK_BYTES = 256 * 1024;
/** Free chunks kept for the next backlog (what a burst grew beyond this goes to the heap). */
const STAGING_SPARE_CHUNKS = 8;

/** NATS → channel. */
async function runIn(js: JetStreamModule, nc: NatsConnection, sender: Sender<Uint8Array>, options: BridgeOptions,
  extras: BridgeExtras, window: number, stats: BridgeStats, signal: AbortSignal, ready: () => void): Promise<'ended' | 'closed'> {
  const forwardEnd = extras.forwardEnd !== false;
  // Into the ring at once when there is room (no promise per message), else waiting for it; a
  // message longer than one record goes in fragments (send(): trySend() refuses it).
  const maxRecord = (sender.protocol as unknown as { maxRecord: number }).maxRecord;
  const put = (data: Uint8Array): Promise<void> | undefined => {
    if (data.length > maxRecord || !sender.trySend(data)) return sender.send(data, { signal }).then(() => { count(data); });
    count(data);
    return undefined;
  };
  const count = (data: Uint8Array) => {
    stats.messages++;
    stats.bytes += data.length;
  };
  if (options.jetstream === undefined) return runInCore(nc, sender, options, forwardEnd, maxRecord, put, count, signal, ready);
  const { stream, durable } = options.jetstream as { stream: string; durable: string };
  const jsm = await js.jetstreamManager(nc);
  try {
    await jsm.consumers.info(stream, durable);
  } catch (error) {
    if (!notFound(js, error)) throw error;
    // At most `window` unacked: the server holds back the rest while the ring is full.
    await jsm.consumers.add(stream, {
      durable_name: durable, ack_policy: js.AckPolicy.Explicit, filter_subject: options.subject, max_ack_pending: window,
    });
  }
  const consumer = await js.jetstream(nc).consumers.get(stream, durable);
  const messages = await consumer.consume({ max_messages: window });
  ready();
  const halt = () => { void messages.close(); };
  signal.addEventListener('abort', halt, { once: true });
  // Stream sequences this bridge put in the ring lately: a message redelivered after it was
  // put (its ack lost, or late: the ring was full for longer than the consumer's ack wait,
  // and the copy pulled ahead was delivered again) is acked and not put again.
  const recent = new Set<number>();
  const order: number[] = [];
  try {
    for await (const message of messages) {
      if (isEnd(message.headers)) {
        message.ack();
        if (!forwardEnd) continue;
        await sender.end();
        return 'ended';
      }
      if (message.redelivered && recent.has(message.seq)) {
        message.ack();
        continue;
      }
      const waiting = put(message.data);
      if (waiting !== undefined) await waiting;
      message.ack(); // only once it is in the ring
      recent.add(message.seq);
      order.push(message.seq);
      if (order.length > 4 * window) recent.delete(order.shift()!);
    }
  } finally {
    signal.removeEventListener('abort', halt);
    await messages.close();
  }
  return 'closed';
}
