// ringwire top: a live view of every channel, refreshed every --interval ms. In a terminal it
// redraws the screen (readline's cursor helpers) and quits on q or Ctrl-C (raw-mode keypress
// events); otherwise it prints one snapshot per refresh, as a table or a JSON line.
import { clearLine, clearScreenDown, cursorTo, emitKeypressEvents, type Key } from 'node:readline';
import type { ChannelStats } from '../../channel.js';
import { readChannels } from '../../list.js';
import { flag, parseCount, str } from '../args.js';
import type { CommandArgs } from '../commands.js';
import { byteRate, endpoints, errorLine, fill, lag, rate, table, type Row } from '../format.js';
import { output } from '../io.js';
import { advanced, ringPositions, type RingPositions } from '../ring.js';

interface Sample {
  at: number;
  createdAt: number;
  sent: number;
  received: number;
  positions: RingPositions | undefined;
}

/** One channel in a snapshot: its stats and the rates since the previous one (null: unknown). */
interface ChannelRates {
  stats: ChannelStats;
  msgInPerSec: number | null;
  msgOutPerSec: number | null;
  ringBytesInPerSec: number | null;
  ringBytesOutPerSec: number | null;
}

interface Snapshot {
  time: Date;
  /** Milliseconds since the previous snapshot (null for the first). */
  intervalMs: number | null;
  channels: ChannelRates[];
  unreadable: { name: string; code: string; message: string }[];
}

/** Takes snapshots, each with the rates since the one before. */
class Sampler {
  private previous = new Map<string, Sample>();
  private last: number | undefined;

  constructor(private readonly prefix: string | undefined) {}

  take(): Snapshot {
    const entries = readChannels({ prefix: this.prefix });
    const at = performance.now();
    const seconds = this.last === undefined ? 0 : (at - this.last) / 1000;
    const next = new Map<string, Sample>();
    const channels: ChannelRates[] = [];
    const unreadable: Snapshot['unreadable'] = [];
    for (const entry of entries) {
      if (entry.stats === undefined) {
        unreadable.push({ name: entry.name, code: entry.error.code, message: entry.error.message });
        continue;
      }
      const s = entry.stats;
      let positions: RingPositions | undefined;
      try {
        positions = ringPositions(s.name);
      } catch {
        positions = undefined; // removed (or broken) since stats() read it
      }
      const sample: Sample = { at, createdAt: s.createdAt.getTime(), sent: s.messagesSent, received: s.messagesReceived, positions };
      next.set(s.name, sample);
      const before = this.previous.get(s.name);
      // The same channel (not one made since under its name), counters that did not go back.
      const comparable = before !== undefined && seconds > 0 && before.createdAt === sample.createdAt
        && sample.sent >= before.sent && sample.received >= before.received;
      const perSecond = (delta: number) => (comparable ? delta / seconds : null);
      channels.push({
        stats: s,
        msgInPerSec: perSecond(sample.sent - (before?.sent ?? 0)),
        msgOutPerSec: perSecond(sample.received - (before?.received ?? 0)),
        ringBytesInPerSec: comparable && before.positions && positions
          ? advanced(before.positions.written, positions.written) / seconds : null,
        ringBytesOutPerSec: comparable && before.positions && positions
          ? advanced(before.positions.taken, positions.taken) / seconds : null,
      });
    }
    this.previous = next;
    const intervalMs = this.last === undefined ? null : Math.round(at - this.last);
    this.last = at;
    return { time: new Date(), intervalMs, channels, unreadable };
  }
}

function snapshotJson(snapshot: Snapshot): string {
  return JSON.stringify({
    time: snapshot.time.toISOString(),
    intervalMs: snapshot.intervalMs,
    channels: [
      ...snapshot.channels.map(({ stats: s, ...rates }) => ({
        name: s.name, mode: s.mode, capacity: s.capacity, bytesUsed: s.bytesUsed,
        messagesSent: s.messagesSent, messagesReceived: s.messagesReceived, lag: lag(s), ...rates,
        ended: s.ended, senders: s.senders.map((e) => ({ pid: e.pid, open: e.open })),
        receivers: s.receivers.map((e) => ({ pid: e.pid, open: e.open })),
        sendersWaiting: s.sendersWaiting, receiversWaiting: s.receiversWaiting,
      })),
      ...snapshot.unreadable.map(({ name, code, message }) => ({ name, error: { code, message } })),
    ],
  });
}

function snapshotTable(snapshot: Snapshot): string[] {
  const rows: Row[] = snapshot.channels.map(({ stats: s, ...r }) => [
    s.name, s.mode, fill(s), String(lag(s)), rate(r.msgInPerSec), rate(r.msgOutPerSec),
    byteRate(r.ringBytesInPerSec), byteRate(r.ringBytesOutPerSec), endpoints(s.senders), endpoints(s.receivers),
    s.ended ? 'ended' : '',
  ]);
  for (const { name, code } of snapshot.unreadable) rows.push({ name, text: `unreadable (${code})` });
  return table(['NAME', 'MODE', 'FILL', 'LAG', 'IN MSG/S', 'OUT MSG/S', 'IN B/S', 'OUT B/S', 'SENDERS', 'RECEIVERS', ''],
    rows, new Set([2, 3, 4, 5, 6, 7]));
}

export async function run({ values }: CommandArgs): Promise<number> {
  const prefix = str(values, 'prefix');
  const intervalText = str(values, 'interval');
  const countText = str(values, 'count');
  const interval = intervalText === undefined ? 1000 : parseCount(intervalText, '--interval', 10, 'top');
  const count = countText === undefined ? Infinity : parseCount(countText, '--count', 1, 'top');
  const json = flag(values, 'json');
  const stdout = process.stdout;
  const screen = stdout.isTTY === true && !json;
  const keys = screen && process.stdin.isTTY === true;
  const sampler = new Sampler(prefix);
  const out = output();
  let lastLines: string[] = [];

  const draw = (lines: string[]) => {
    lastLines = lines;
    const columns = (stdout.columns || 80) - 1; // the last column would leave a wrap pending
    const rows = Math.max(2, (stdout.rows || 24) - 1);
    const shown = lines.length > rows ? [...lines.slice(0, rows - 1), `... ${lines.length - rows + 1} more lines`] : lines;
    cursorTo(stdout, 0, 0);
    for (const line of shown) {
      stdout.write(line.slice(0, columns));
      clearLine(stdout, 1);
      stdout.write('\n');
    }
    clearScreenDown(stdout);
  };

  const frame = (snapshot: Snapshot): string[] => {
    const channels = snapshot.channels.length + snapshot.unreadable.length;
    const every = interval % 1000 === 0 ? `${interval / 1000}s` : `${interval}ms`;
    return [
      `ringwire top, every ${every}, ${snapshot.time.toTimeString().slice(0, 8)}${keys ? '; q to quit' : ''}`,
      `${channels} channel${channels === 1 ? '' : 's'}${prefix ? ` starting with '${prefix}'` : ''}`,
      '',
      ...(channels === 0 ? ['no channels'] : snapshotTable(snapshot)),
      '',
      'LAG: messages sent and not yet received. Rates need two refreshes.',
      'B/S: ring bytes, with 8-byte record headers, alignment and padding (there is',
      'no counter of payload bytes).',
    ];
  };

  return new Promise<number>((resolve) => {
    let ticks = 0;
    let done = false;
    const onKey = (_text: string | undefined, key: Key | undefined) => {
      if (key?.name === 'q' || (key?.ctrl === true && key.name === 'c')) finish(0);
    };
    const onResize = () => draw(lastLines);
    const onSignal = () => finish(0);
    const finish = (code: number) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (screen) stdout.off('resize', onResize);
      if (keys) {
        process.stdin.off('keypress', onKey);
        process.stdin.setRawMode(false);
        process.stdin.pause();
      }
      resolve(code);
    };
    const tick = async () => {
      if (done) return;
      try {
        const snapshot = sampler.take();
        if (json) await out.write(`${snapshotJson(snapshot)}\n`);
        else if (screen) draw(frame(snapshot));
        else await out.write(`-- ${snapshot.time.toISOString()}\n${(snapshot.channels.length + snapshot.unreadable.length === 0
          ? ['no channels'] : snapshotTable(snapshot)).join('\n')}\n\n`);
      } catch (error) {
        process.stderr.write(errorLine(error));
        finish(1);
        return;
      }
      if (out.broken || ++ticks >= count) finish(0);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    if (screen) {
      cursorTo(stdout, 0, 0);
      clearScreenDown(stdout);
      stdout.on('resize', onResize);
    }
    if (keys) {
      emitKeypressEvents(process.stdin);
      process.stdin.setRawMode(true);
      process.stdin.on('keypress', onKey);
      process.stdin.resume();
    }
    const timer = setInterval(() => void tick(), interval);
    void tick();
  });
}
