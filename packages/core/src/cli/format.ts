// Output shared by the commands: tables, sizes, rates, ages, endpoints, errors, JSON.
import type { BridgeStatus } from '../nats/registry.js';
import type { ChannelStats, EndpointStats } from '../channel.js';

/** "ringwire: <message> (<code>)", the line every failing command ends with on stderr. */
export function errorLine(error: unknown): string {
  const { message, code } = (error ?? {}) as { message?: unknown; code?: unknown };
  const text = typeof message === 'string' && message !== '' ? message : String(error);
  return `ringwire: ${text}${typeof code === 'string' ? ` (${code})` : ''}\n`;
}

/** A row of a table, or a name followed by free text that spans the other columns. */
export type Row = readonly string[] | { readonly name: string; readonly text: string };

/**
 * Lines of a table: columns padded to their widest cell and separated by two spaces;
 * columns listed in `right` are right-aligned (numbers). No trailing spaces.
 */
export function table(header: readonly string[], rows: readonly Row[], right: ReadonlySet<number> = new Set()): string[] {
  const widths = header.map((cell) => cell.length);
  for (const row of rows) {
    if (!Array.isArray(row)) {
      widths[0] = Math.max(widths[0], (row as { name: string }).name.length);
      continue;
    }
    (row as readonly string[]).forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, cell.length); });
  }
  const line = (cells: readonly string[]) => cells
    .map((cell, i) => (right.has(i) ? cell.padStart(widths[i]) : i === cells.length - 1 ? cell : cell.padEnd(widths[i])))
    .join('  ').trimEnd();
  return [line(header), ...rows.map((row) => (Array.isArray(row)
    ? line(row as readonly string[])
    : `${(row as { name: string }).name.padEnd(widths[0])}  ${(row as { text: string }).text}`))];
}

/** 1024 → "1K", 1536 → "1.5K", 1048576 → "1M": binary units, as capacities are given. */
export function bytes(n: number): string {
  const units = ['', 'K', 'M', 'G', 'T'];
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 || Number.isInteger(value) ? Math.round(value) : value.toFixed(1)}${units[unit]}`;
}

/** A count per second: 0, 7.5, 42, 1.2k, 3.4M (decimal units). */
export function rate(n: number | null): string {
  if (n === null) return '-';
  if (n < 10) return n === 0 ? '0' : n.toFixed(1);
  if (n < 1000) return Math.round(n).toString();
  const units = ['k', 'M', 'G', 'T'];
  let value = n / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)}${units[unit]}`;
}

/** Bytes per second in binary units ("-" before there are two samples). */
export function byteRate(n: number | null): string {
  return n === null ? '-' : bytes(Math.round(n));
}

/** How long ago: 42s, 5m, 3h, 2d. */
export function age(since: Date, now = Date.now()): string {
  const seconds = Math.max(0, Math.floor((now - since.getTime()) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

/** Share of the ring in use: "0%", "<1%", "37%", "?" when the positions are impossible. */
export function fill(s: Pick<ChannelStats, 'bytesUsed' | 'capacity'>): string {
  if (s.bytesUsed < 0) return '?';
  if (s.bytesUsed === 0) return '0%';
  const percent = (s.bytesUsed / s.capacity) * 100;
  return percent < 1 ? '<1%' : `${Math.floor(percent)}%`;
}

/** One endpoint: its pid (":thread" for a worker thread), "(dead)" if it died without closing. */
export function endpoint(e: EndpointStats): string {
  const who = `${e.pid === 0 ? '?' : e.pid}${e.thread !== 0 ? `:${e.thread}` : ''}`;
  return e.open ? who : `${who}(dead)`;
}

/** The endpoints of a role, comma-separated; "-" for none. */
export function endpoints(list: readonly EndpointStats[]): string {
  return list.length === 0 ? '-' : list.map(endpoint).join(',');
}

/** Messages sent and not yet received (never negative). */
export function lag(s: Pick<ChannelStats, 'messagesSent' | 'messagesReceived'>): number {
  return Math.max(0, s.messagesSent - s.messagesReceived);
}

export function yesNo(value: boolean): string {
  return value ? 'yes' : 'no';
}

/**
 * A JSON replacer for decoded values JSON cannot hold as they are: BigInt → its digits as a
 * string, Map → [key, value] pairs, Set → array, typed arrays and ArrayBuffers (and Buffers)
 * → arrays of numbers.
 */
export function jsonSafe(this: unknown, key: string, value: unknown): unknown {
  const original = (this as Record<string, unknown>)[key]; // before any toJSON (Buffer's)
  if (typeof original === 'bigint') return original.toString();
  if (original instanceof Map) return Array.from(original.entries());
  if (original instanceof Set) return Array.from(original);
  if (original instanceof ArrayBuffer) return Array.from(new Uint8Array(original));
  if (ArrayBuffer.isView(original) && !(original instanceof DataView)) {
    return Array.from(original as unknown as ArrayLike<number | bigint>, (n) => (typeof n === 'bigint' ? n.toString() : n));
  }
  return value;
}

/** A bridge (ringwire/nats) as ls and stat show it, on one line. */
export function bridgeLine(b: BridgeStatus, now = Date.now()): string {
  const route = b.direction === 'out' ? `${b.channel} → ${b.subject}` : `${b.subject} → ${b.channel}`;
  const via = b.jetstream === undefined ? (b.queue === undefined ? 'core NATS' : `core NATS, queue ${b.queue}`)
    : `JetStream ${b.jetstream.stream}${b.jetstream.durable === undefined ? '' : `/${b.jetstream.durable}`}`;
  return `bridge ${b.direction} ${route} (${via}) pid ${b.pid}: ${rate(b.messagesPerSecond)} msg/s, `
    + `${byteRate(b.bytesPerSecond)}, ${b.messages} moved, lag ${b.lag === undefined ? 'unknown' : b.lag}`
    + `${b.direction === 'out' && b.jetstream !== undefined ? `, ${b.pendingAcks} acks pending` : ''}`
    + `${b.retries > 0 ? `, ${b.retries} retries` : ''}, up ${age(new Date(b.startedAt), now)}`;
}
