// What senders and receivers share, whatever their mode: the queue of pending operations,
// timeouts and aborts, and the way an endpoint waits (spin, then park on its protocol's
// doorbell) and publishes what it deferred. The endpoint knows no mode: everything about the
// ring is its protocol's (ring/contract.ts).
import { AbortError, closed, RingwireError, timedOut } from './errors.js';
import { inspect } from 'node:util';
import { layout, native, type NativeSegment } from './native.js';
import type { ResolvedEndpoint, ResolvedWait } from './options.js';
import { sharesOnlyCpuWith } from './machine.js';
import { debug } from './debug.js';
import type { EndpointHost, Protocol } from './ring/contract.js';
import { PEER_CHECK_MS } from './ring/layout.js';
import type { RingView } from './ring/segment.js';
import { cancelWait, waitAsync, waitSync } from './ring/wait.js';

/**
 * The keys of `using` and `await using`. Node defines Symbol.dispose/asyncDispose from 20.4
 * on, as Symbol.for('nodejs.dispose') and Symbol.for('nodejs.asyncDispose'); on 20.0-20.3
 * the same symbols are used here, so the methods never land on the key "undefined".
 */
export const DISPOSE: typeof Symbol.dispose = (Symbol.dispose ?? Symbol.for('nodejs.dispose')) as typeof Symbol.dispose;
export const ASYNC_DISPOSE: typeof Symbol.asyncDispose =
  (Symbol.asyncDispose ?? Symbol.for('nodejs.asyncDispose')) as typeof Symbol.asyncDispose;

/**
 * The shortest spin (µs) an endpoint keeps trying after its spins stopped paying: cheap, and
 * enough to notice that the peer answers quickly again.
 */
const PROBE_SPIN_MICROS = 1;
/**
 * A park that lasts this long (ms) means the peer had gone quiet: spinning first was wasted,
 * and the next spin is halved. A shorter park means the peer was busy and answered soon
 * (this VM takes 50-100 µs just to wake a sleeper): the full spin may catch it next time.
 */
const QUIET_PARK_MS = 1;
/**
 * Endpoints holding progress they have not yet published (a receiver publishes its position
 * lazily). Before this thread blocks in a sync wait they all publish: otherwise a thread
 * blocked on one channel could hold back space a peer needs on another, and both would wait.
 * Shared, like the wake handlers, by every copy of this module in the environment. (A thread
 * that blocks outside ringwire can still hold up to 31 records or a quarter of a ring.)
 */
const UNPUBLISHED = Symbol.for('ringwire.unpublished');
const registry = native as unknown as { [UNPUBLISHED]?: Set<{ publishNow(): void }> };
export const unpublished: Set<{ publishNow(): void }> = registry[UNPUBLISHED] ??= new Set();

/**
 * Publishes what every endpoint of this thread holds back: before the thread blocks, and when
 * a ringwire call finds nothing to do (an empty tryRecv, a full trySend: the caller may be
 * about to spin on a reply that a deferred publish is holding up).
 */
export function publishAll(): void {
  if (unpublished.size === 0) return;
  for (const endpoint of unpublished) endpoint.publishNow();
  unpublished.clear();
}

// process.exit() runs no more microtasks: what is held back goes out on the way.
const EXIT_HOOK = Symbol.for('ringwire.exitHook');
const hooks = native as unknown as { [EXIT_HOOK]?: boolean };
if (hooks[EXIT_HOOK] !== true) {
  hooks[EXIT_HOOK] = true;
  process.on('exit', publishAll);
}

/**
 * Endpoints dropped without close() (unreachable, then collected) are released here: their
 * mapping and descriptor closed, which drops their locks as a process's death would. Their
 * pid stays recorded, so peers treat them as died without closing: they repair what it held
 * (an uncommitted claim, a taken record), report ERR_RINGWIRE_PEER_DEAD where nothing else
 * can come, and a new endpoint may open in its place. A warning says which.
 */
const lost = new FinalizationRegistry<{ segment: NativeSegment; what: string }>(({ segment, what }) => {
  segment.close();
  debug('%s garbage-collected without close(): released as if its process died', what);
  process.emitWarning(`${what} was garbage-collected without close(); it was released as if its process had died `
    + '(its peers may report ERR_RINGWIRE_PEER_DEAD). Close endpoints when done with them.',
  { type: 'RingwireWarning', code: 'RINGWIRE_ENDPOINT_NOT_CLOSED' });
});

/** Called once an endpoint is fully open: from here on, losing it without close() is noticed. */
export function trackEndpoint(endpoint: object, segment: NativeSegment, what: string): void {
  lost.register(endpoint, { segment, what }, endpoint);
}

export interface PendingOp<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  data: Uint8Array | string | undefined;
  length: number;
}

export abstract class Endpoint<T, P extends Protocol> implements EndpointHost {
  readonly name: string;
  /** @internal The ring protocol of the channel's mode: everything this endpoint does to the ring. */
  readonly protocol: P;
  protected readonly segment: NativeSegment;
  protected readonly view: RingView;
  protected closed = false;
  protected readonly queue: PendingOp<T>[] = [];
  protected readonly strategy: ResolvedEndpoint;
  /** @internal For the protocol, read per message: the endpoint never parks (wait: 'spin'). */
  readonly spinOnly: boolean;
  private parkId = 0;
  private pollTimer: NodeJS.Immediate | undefined;
  private lastPeerCheck = 0;
  private spunAlready = false;
  /**
   * How long (µs) the next spin lasts: the endpoint's spinMicros while spinning pays, halved
   * after each park that found the peer quiet (QUIET_PARK_MS or more, down to
   * PROBE_SPIN_MICROS), and back to spinMicros when a spin pays or a park ends sooner.
   */
  private spinBudget: number;
  /** When the current async park began (performance.now()). */
  private parkedAt = 0;
  /** In `unpublished`: progress waits for publishNow() (end of task, or a block). */
  private deferred = false;
  /** @internal A microtask is queued for the end of this task (it publishes what is deferred then). */
  flushQueued = false;
  private readonly flushLater = (): void => {
    this.flushQueued = false;
    if (this.deferred && !this.closed) this.publishNow();
  };
  /** The last park ended by its slice running out: check the peer before parking again. */
  private sliceExpired = false;
  private readonly role: string;
  /** Whether this endpoint's pending waits keep the event loop alive (see unref()). */
  private refed = true;

  protected constructor(view: RingView, strategy: ResolvedEndpoint, role: string,
    makeProtocol: (host: EndpointHost) => P) {
    this.view = view;
    this.segment = view.segment;
    this.name = view.name;
    this.strategy = strategy;
    this.spinOnly = strategy.spinOnly;
    this.spinBudget = strategy.spinMicros;
    this.role = role;
    this.protocol = makeProtocol(this);
  }


  /**
   * Lets the process exit while this endpoint waits (a pending recv(), a send waiting for
   * room), as `socket.unref()` does: its parks and timeouts no longer keep the event loop
   * alive. Pending operations stay pending and settle if the process lives on. Returns this.
   */
  unref(): this {
    this.setRef(false);
    return this;
  }

  /** Undoes unref(): pending waits keep the process alive again (the default). Returns this. */
  ref(): this {
    this.setRef(true);
    return this;
  }

  private setRef(ref: boolean): void {
    if (this.refed === ref) return;
    this.refed = ref;
    if (this.parkId !== 0) this.segment.refWait(this.parkId, ref);
    if (this.pollTimer !== undefined) (ref ? this.pollTimer.ref() : this.pollTimer.unref());
    for (const op of this.queue) if (op.timer !== undefined) (ref ? op.timer.ref() : op.timer.unref());
  }

  /** Whether the endpoint is closed. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Releases the endpoint (close()), for `using`. */
  [DISPOSE](): void {
    this.close();
  }

  /** Releases the endpoint, for `await using` (a sender first ends and waits; see Sender). */
  async [ASYNC_DISPOSE](): Promise<void> {
    this.close();
  }

  /** Releases the endpoint: pending operations reject with ERR_RINGWIRE_CLOSED. */
  abstract close(): void;

  /**
   * A durability point for a file-backed channel: resolves once everything this endpoint
   * has done — a sender's messages whose send() has resolved (or whose trySend() returned
   * true), a receiver's progress — is on disk, with the rest of the file (msync MS_SYNC, on
   * the thread pool; the file's size and directory entry were synced when it was created).
   * Without it, a crash of the machine (power loss, kernel panic) can lose, or leave
   * half-written, what was done since the last sync: the kernel writes the file's pages back
   * in no particular order (within about 30 s). A killed process loses nothing either way:
   * the page cache is shared, and what it wrote is in the file for the next opener. On a
   * channel in shared memory or an anonymous one (nothing on disk) it resolves at once.
   * Rejects with ERR_RINGWIRE_CLOSED if the endpoint is closed.
   *
   * @example
   * ```ts
   * import { createChannel, openSender } from 'ringwire';
   *
   * createChannel('./orders.ring');
   * const sender = openSender('./orders.ring');
   * for (const order of batch) await sender.send(order);
   * await sender.sync();   // the batch survives a power cut from here on
   * ```
   */
  async sync(): Promise<void> {
    this.ensureOpen();
    this.publishNow();
    await this.segment.sync();
  }

  /** What util.inspect and console.log show: one line, not the internals. */
  [inspect.custom](): string {
    return `${this.constructor.name} { channel: '${this.name}', ${this.describe()} }`;
  }

  /** The fields of the one-line summary. */
  protected describe(): string {
    const state = this.closed ? 'closed' : 'open';
    return `mode: '${this.protocol.mode}', state: '${state}', pending: ${this.queue.length}${this.refed ? '' : ', unref'}`;
  }

  /**
   * @internal Publishes what this endpoint has done but not yet made known (before this
   * thread blocks elsewhere, or at the end of the task).
   */
  publishNow(): void {
    if (!this.closed) this.protocol.publishNow();
  }

  /**
   * @internal Leaves what was done to publishNow(): at the end of the current task, or
   * before this thread blocks in a sync wait or finds a channel empty or full, whichever
   * comes first. (A thread blocked on one channel must not hold back what a peer needs on
   * another.)
   */
  publishLater(): void {
    if (!this.deferred) {
      this.deferred = true;
      unpublished.add(this);
    }
    this.endOfTask();
  }

  /** @internal Makes sure flushLater runs at the end of the current task. */
  endOfTask(): void {
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushLater);
    }
  }

  /** @internal To be called by publishNow(): nothing is deferred any more. */
  published(): void {
    if (this.deferred) {
      this.deferred = false;
      unpublished.delete(this);
    }
  }

  /** Settles as many queued operations as the ring allows now. */
  protected abstract satisfy(): void;
  /** Called when the queue empties by timeout, abort or failure rather than by satisfy(). */
  protected queueAbandoned(): void {}
  /** Called for each queued operation that fails (timeout, abort, error, close). */
  protected opFailed(_error: unknown): void {}
  /** Called when the operation at the head of the queue (the one being served) fails. */
  protected headFailed(_op: PendingOp<T>): void {}

  /** @internal ERR_RINGWIRE_CLOSED if the endpoint is closed. */
  ensureOpen(): void {
    if (this.closed) throw closed(this.name, this.role);
  }

  /**
   * Lets the protocol check its peers (repairing what dead ones left; it throws
   * ERR_RINGWIRE_PEER_DEAD when nothing more can come): a system call, so at most every
   * PEER_CHECK_MS before parking, and after every park slice.
   */
  private checkPeer(force: boolean): void {
    const now = performance.now();
    if (!force && now - this.lastPeerCheck < PEER_CHECK_MS) return;
    this.lastPeerCheck = now;
    this.protocol.checkLiveness();
  }

  private spinUntilReady(micros: number): boolean {
    const protocol = this.protocol;
    if (micros <= 0) return protocol.isReady();
    const end = performance.now() + micros / 1000;
    for (;;) {
      // Reading the clock costs about what a check does: look at it every 16 checks.
      for (let i = 0; i < 16; i++) if (protocol.isReady()) return true;
      if (performance.now() >= end) return false;
    }
  }

  /**
   * Spins while spinning can pay, then says whether the endpoint is ready. Not at all when
   * this thread and its peer share one CPU (the peer cannot run while we spin: it needs it);
   * for less and less while parks keep finding the peer quiet; at full length again once a
   * spin pays or a park ends soon (see parkEnded).
   */
  private spin(): boolean {
    const full = this.strategy.spinMicros;
    if (full <= 0 || this.sharesOnlyCpuWithPeer()) return this.protocol.isReady();
    if (!this.spinUntilReady(this.spinBudget)) return false;
    this.spinBudget = full;
    return true;
  }

  /**
   * @internal Whether this endpoint and its peer can only take turns on one CPU
   * (machine.ts). Endpoints with several peers have no single one: with one CPU they assume so.
   */
  sharesOnlyCpuWithPeer(): boolean {
    return sharesOnlyCpuWith(this.protocol.peerPid());
  }

  /** After a park: a quiet peer halves the next spin; one that answered soon restores it. */
  private parkEnded(timedOut: boolean): void {
    if (timedOut || performance.now() - this.parkedAt >= QUIET_PARK_MS) {
      this.spinBudget = Math.max(PROBE_SPIN_MICROS, Math.min(this.strategy.spinMicros, this.spinBudget / 2));
    } else {
      this.spinBudget = this.strategy.spinMicros;
    }
  }

  /**
   * Before an async operation queues (a promise, a queue entry, maybe a park): spins for the
   * endpoint's budget in case the peer is about to answer. True if it may proceed now; the
   * park that may follow then skips its own spin.
   */
  protected spinBeforeQueueing(): boolean {
    if (this.strategy.spinOnly || this.strategy.spinMicros <= 0) return false;
    const ready = this.spin();
    this.spunAlready = !ready; // the park that follows a fruitless spin skips its own
    return ready;
  }

  /** Queues an async operation; it settles when satisfy() gets to it, or by timeout/abort. */
  protected enqueue(wait: ResolvedWait, operation: string, data?: Uint8Array | string,
    length = 0): Promise<T> {
    if (wait.signal?.aborted) return Promise.reject(new AbortError(wait.signal.reason));
    return new Promise<T>((resolve, reject) => {
      const op: PendingOp<T> = {
        resolve, reject, timer: undefined, signal: wait.signal, onAbort: undefined, data, length,
      };
      if (wait.timeout !== Infinity) {
        op.timer = setTimeout(() => this.fail(op, timedOut(this.name, operation, wait.timeout)),
          wait.timeout);
        if (!this.refed) op.timer.unref();
      }
      if (wait.signal !== undefined) {
        const signal = wait.signal;
        op.onAbort = () => this.fail(op, new AbortError(signal.reason));
        signal.addEventListener('abort', op.onAbort, { once: true });
      }
      this.queue.push(op);
      this.serve();
    });
  }

  protected settle(op: PendingOp<T>): void {
    if (op.timer !== undefined) clearTimeout(op.timer);
    if (op.onAbort !== undefined) op.signal!.removeEventListener('abort', op.onAbort);
  }

  private fail(op: PendingOp<T>, error: unknown): void {
    const index = this.queue.indexOf(op);
    if (index < 0) return;
    this.queue.splice(index, 1);
    this.settle(op);
    if (index === 0) this.headFailed(op);
    this.opFailed(error);
    op.reject(error);
    if (this.queue.length === 0) {
      this.unpark();
      this.queueAbandoned();
    } else if (index === 0) {
      // The new head may fit where the old one did not.
      queueMicrotask(() => this.serve());
    }
  }

  protected failAll(error: unknown): void {
    const ops = this.queue.splice(0);
    if (ops.length !== 0) {
      this.headFailed(ops[0]);
      this.opFailed(error);
    }
    for (const op of ops) {
      this.settle(op);
      op.reject(error);
    }
    this.unpark();
    if (!this.closed) this.queueAbandoned();
  }

  /** Settles what it can, then parks (or polls) until the rest can make progress. */
  protected serve(): void {
    try {
      for (;;) {
        if (this.closed) return;
        this.satisfy();
        if (this.queue.length === 0) {
          this.unpark();
          this.spunAlready = false;
          return;
        }
        if (this.parkAsync()) return;
      }
    } catch (error) {
      this.failAll(error);
    }
  }

  /** Returns true once parked (or polling); false when ready again and serve should retry. */
  private parkAsync(): boolean {
    if (this.parkId !== 0 || this.pollTimer !== undefined) return true;
    if (this.strategy.spinOnly) {
      if (performance.now() - this.lastPeerCheck >= this.protocol.parkSliceMs()) this.checkPeer(true);
      this.pollTimer = setImmediate(() => {
        this.pollTimer = undefined;
        this.serve();
      });
      if (!this.refed) this.pollTimer.unref();
      return true;
    }
    const spun = this.spunAlready;
    this.spunAlready = false;
    if (!spun && this.spin()) return false;
    publishAll();
    const bell = this.protocol.doorbell;
    if (!bell.arm() || this.protocol.isReady()) {
      bell.disarm();
      return false;
    }
    // Cleared before the check: one that throws must not make the next park check at once
    // (a caller retrying after ERR_RINGWIRE_PEER_DEAD would spin).
    const force = this.sliceExpired;
    this.sliceExpired = false;
    try {
      this.checkPeer(force);
    } catch (error) {
      bell.disarm();
      throw error;
    }
    // The check may have made us ready (a dead sender's records adopted): no wake will come.
    if (this.protocol.isReady()) {
      bell.disarm();
      return false;
    }
    let id: number;
    try {
      id = waitAsync(this.segment, bell, this.protocol.parkSliceMs(), this.refed, (status) => {
        this.parkId = 0;
        this.sliceExpired = status === layout.WAIT_TIMED_OUT;
        this.parkEnded(this.sliceExpired);
        bell.disarm();
        this.serve();
      });
    } catch (error) {
      bell.disarm(); // a wait that never started must not stay counted as parked
      throw error;
    }
    this.parkId = id;
    this.parkedAt = performance.now();
    if (debug.enabled) debug('%s of %s parks (%d pending)', this.role, this.name, this.queue.length);
    return true;
  }

  private unpark(): void {
    if (this.parkId !== 0) {
      if (cancelWait(this.segment, this.parkId)) this.protocol.doorbell.disarm();
      this.parkId = 0;
    }
    if (this.pollTimer !== undefined) {
      clearImmediate(this.pollTimer);
      this.pollTimer = undefined;
    }
  }

  /**
   * Blocks the thread until ready or `deadline` (a performance.now() time) passes. Returns
   * without saying which: the caller re-checks its condition and its deadline.
   */
  protected waitSync(deadline: number): void {
    // One sleeper per endpoint: an async park pending (earlier recv()/send() calls) is put
    // aside while this thread blocks, and taken up again after. (A semaphore holds one token
    // per parked endpoint, so two sleepers of one endpoint would share one wake.)
    if (this.parkId !== 0 || this.pollTimer !== undefined) {
      this.unpark();
      queueMicrotask(() => this.serve());
    }
    const protocol = this.protocol;
    if (this.strategy.spinOnly) {
      publishAll();
      if (performance.now() - this.lastPeerCheck >= this.protocol.parkSliceMs()) this.checkPeer(true);
      const until = Math.min(deadline, performance.now() + this.protocol.parkSliceMs());
      while (!protocol.isReady() && performance.now() < until);
      return;
    }
    if (this.spin()) return;
    publishAll();
    const bell = protocol.doorbell;
    const armed = bell.arm();
    try {
      if (!armed || protocol.isReady()) return;
      const force = this.sliceExpired;
      this.sliceExpired = false;
      this.checkPeer(force);
      // The check may have made us ready (a dead sender's records adopted): no wake will come.
      if (protocol.isReady()) return;
      const remaining = deadline - performance.now();
      if (remaining <= 0) return;
      const slice = Math.ceil(Math.min(remaining, this.protocol.parkSliceMs()));
      this.parkedAt = performance.now();
      this.sliceExpired = waitSync(this.segment, bell, slice) === layout.WAIT_TIMED_OUT;
      this.parkEnded(this.sliceExpired);
    } finally {
      bell.disarm();
    }
  }

  protected syncDeadline(timeout: number): number {
    return timeout === Infinity ? Infinity : performance.now() + timeout;
  }

  protected syncTimeout(operation: string, timeout: number): RingwireError {
    return timedOut(this.name, operation, timeout);
  }

  /** Releases the endpoint: pending operations reject with ERR_RINGWIRE_CLOSED. */
  protected closeEndpoint(): void {
    if (this.closed) return;
    this.failAll(closed(this.name, this.role));
    this.closed = true;
    this.published(); // nothing more to publish: out of the thread's set
    lost.unregister(this);
    Atomics.compareExchange(this.view.i32, this.protocol.pidOffset >> 2, process.pid, 0);
    this.segment.close();
    debug('%s of %s closed', this.role, this.name);
  }
}
