// Where running bridges (ringwire/nats) say what they do, for `ringwire ls` and `stat`: one
// JSON file per bridge in a directory of this user's (0700), rewritten every second and
// removed when the bridge stops. A file whose process is gone (a bridge killed with kill -9)
// is skipped by readers and removed by the next bridge that starts. Nothing here needs the
// NATS client.
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processExists } from '../machine.js';

/** A bridge as its status file describes it. */
export interface BridgeStatus {
  pid: number;
  direction: 'out' | 'in';
  /** The channel, as given (`fd:N` for `{ fd }`). */
  channel: string;
  subject: string;
  servers: string[];
  /** JetStream's stream and, for 'in', its durable consumer. */
  jetstream?: { stream: string; durable?: string };
  queue?: string;
  startedAt: number;
  /** When the file was last written (ms since the epoch). */
  updatedAt: number;
  messages: number;
  bytes: number;
  /** JetStream out: publishes awaiting their ack. */
  pendingAcks: number;
  retries: number;
  /** Over the last interval: messages and bytes per second. */
  messagesPerSecond: number;
  bytesPerSecond: number;
  /** in with JetStream: messages waiting in the durable consumer (as of `lagAt`), if known. */
  lag?: number;
}

/** The directory of this user's bridge status files. */
export function bridgeDirectory(): string {
  return process.env.RINGWIRE_BRIDGE_DIR ?? join(tmpdir(), `ringwire-bridges-${process.getuid?.() ?? 'user'}`);
}

let counter = 0;

/** A bridge's status file: write() it now and then, remove() it at the end. */
export class BridgeRecord {
  private readonly file: string;
  private removed = false;

  constructor() {
    const dir = bridgeDirectory();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    removeStale(dir);
    this.file = join(dir, `${process.pid}.${counter++}.json`);
  }

  /** Replaces the file's content (atomically: readers see the old or the new). */
  write(status: BridgeStatus): void {
    if (this.removed) return;
    const next = `${this.file}.next`;
    const fd = openSync(next, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(status));
    } finally {
      closeSync(fd);
    }
    renameSync(next, this.file);
  }

  /** Removes the file (and the directory, once empty). */
  remove(): void {
    this.removed = true;
    rmSync(this.file, { force: true });
    rmSync(`${this.file}.next`, { force: true });
    try {
      rmdirSync(bridgeDirectory());
    } catch {
      // other bridges' files are there
    }
  }
}

/** The pid a status file names (`<pid>.<n>.json`), or NaN. */
function pidOf(file: string): number {
  return Number(file.split('.')[0]);
}

function removeStale(dir: string): void {
  for (const file of readdirSync(dir)) {
    const pid = pidOf(file);
    if (Number.isInteger(pid) && pid !== process.pid && !processExists(pid)) rmSync(join(dir, file), { force: true });
  }
}

/**
 * The bridges running now on this machine (this user's), oldest first; those whose process
 * is gone are left out. [] when there are none.
 */
export function listBridges(): BridgeStatus[] {
  const dir = bridgeDirectory();
  let files: string[];
  try {
    // Someone else's directory (or not one) is not read.
    const info = statSync(dir);
    if (!info.isDirectory() || (process.getuid !== undefined && info.uid !== process.getuid())) return [];
    files = readdirSync(dir).filter((file) => file.endsWith('.json'));
  } catch {
    return [];
  }
  const bridges: BridgeStatus[] = [];
  for (const file of files) {
    if (!processExists(pidOf(file))) continue;
    try {
      const status = JSON.parse(readFileSync(join(dir, file), 'utf8')) as BridgeStatus;
      if (typeof status === 'object' && status !== null && typeof status.channel === 'string') bridges.push(status);
    } catch {
      // being replaced, or removed meanwhile
    }
  }
  return bridges.sort((a, b) => a.startedAt - b.startedAt);
}
