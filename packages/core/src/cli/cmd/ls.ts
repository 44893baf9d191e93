// ringwire ls: every channel, one line each (or a JSON array).
import { readChannels, type ChannelEntry } from '../../list.js';
import { flag, str } from '../args.js';
import type { CommandArgs } from '../commands.js';
import { age, bridgeLine, bytes, endpoints, fill, table, yesNo, type Row } from '../format.js';
import { listBridges } from '../../nats/registry.js';

/** An entry as ls --json prints it: the stats, or the error that kept them from being read. */
export function entryJson(entry: ChannelEntry): unknown {
  return entry.stats ?? { name: entry.name, error: { code: entry.error.code, message: entry.error.message } };
}

export function lsLines(entries: readonly ChannelEntry[], now = Date.now()): string[] {
  const rows: Row[] = entries.map(({ name, stats: s, error }) => (s === undefined
    ? { name, text: `unreadable (${error.code}): ${error.message}` }
    : [
      name, s.mode, bytes(s.capacity), fill(s), String(s.messagesSent), String(s.messagesReceived),
      endpoints(s.senders), endpoints(s.receivers), `${s.sendersWaiting}/${s.receiversWaiting}`,
      yesNo(s.persistent), yesNo(s.ended), age(s.createdAt, now),
    ]));
  return table(
    ['NAME', 'MODE', 'CAPACITY', 'FILL', 'IN', 'OUT', 'SENDERS', 'RECEIVERS', 'PARKED', 'PERSISTENT', 'ENDED', 'AGE'],
    rows, new Set([2, 3, 4, 5, 11]));
}

export async function run({ values }: CommandArgs): Promise<number> {
  const prefix = str(values, 'prefix');
  const entries = readChannels({ prefix });
  if (flag(values, 'json')) {
    process.stdout.write(`${JSON.stringify(entries.map(entryJson), null, 2)}\n`);
  } else if (entries.length === 0) {
    process.stdout.write(`no channels${prefix ? ` starting with '${prefix}'` : ''}\n`);
  } else {
    process.stdout.write(`${lsLines(entries).join('\n')}\n`);
  }
  // Bridges to NATS running on this machine (ringwire/nats), after the channels.
  if (!flag(values, 'json')) {
    const bridges = listBridges().filter((b) => prefix === undefined || b.channel.startsWith(prefix));
    if (bridges.length > 0) process.stdout.write(`\n${bridges.map((b) => bridgeLine(b)).join('\n')}\n`);
  }
  return 0;
}
