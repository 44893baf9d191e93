// ringwire stat NAME: everything stats() knows about a channel.
import { stats, type ChannelStats, type EndpointStats } from '../../channel.js';
import { flag } from '../args.js';
import type { CommandArgs } from '../commands.js';
import { age, bridgeLine, bytes, fill, lag, yesNo } from '../format.js';
import { listBridges } from '../../nats/registry.js';
import { processExists } from '../../machine.js';

function describe(e: EndpointStats): string {
  if (!e.open && !e.dead) return e.pid === 0 ? 'none' : `pid ${e.pid} (closing)`;
  const state = e.open ? 'open' : 'dead: died without closing';
  // Broadcast receivers: where each one is.
  const reading = e.position === undefined ? ''
    : `, at ${e.position}, ${e.lag! < 0 ? 'lag unknown' : `${e.lag} bytes behind`}, ${e.messages} received`
      + `${e.lost ? `, ${e.lost} lost` : ''}${e.cutOff ? ', cut off' : ''}`;
  return `pid ${e.pid}, thread ${e.thread}, ${state}${e.waiters !== 0 ? ', parked' : ''}${reading}`;
}

export function statLines(s: ChannelStats, now = Date.now()): string[] {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const lines: [string, string][] = [
    ['name', s.name],
    ['backing', s.backing === 'shm' ? 'shared memory' : s.backing === 'file' ? 'file (file-backed channel)' : 'anonymous (memfd)'],
    ['mode', s.overflow === undefined ? s.mode : `${s.mode} (overflow: ${s.overflow})`],
    ['wait', s.wait],
    ['capacity', `${s.capacity} bytes (${bytes(s.capacity)})`],
    ['max message', s.maxMessage > s.maxRecord ? `${s.maxMessage} bytes (${bytes(s.maxMessage)}; above ${s.maxRecord} in fragments)` : `${s.maxMessage} bytes`],
    ['bytes used', s.bytesUsed < 0 ? 'unknown (impossible positions)' : `${s.bytesUsed} (${fill(s)})`],
    ['messages', `${s.messagesSent} sent, ${s.messagesReceived} received, ${lag(s)} not yet received`],
    ['ended', yesNo(s.ended)],
    ['persistent', yesNo(s.persistent)],
    ['created', `${s.createdAt.toISOString()} (${age(s.createdAt, now)} ago) by pid ${s.creatorPid}`
      + ` (${processExists(s.creatorPid) ? 'running' : 'exited'})`],
    ['parked', `${plural(s.sendersWaiting, 'sender')}, ${plural(s.receiversWaiting, 'receiver')}`],
  ];
  if (s.mode === 'spsc') {
    lines.push(['sender', s.sender === undefined ? 'none' : describe(s.sender)]);
    lines.push(['receiver', s.receiver === undefined ? 'none' : describe(s.receiver)]);
  } else {
    lines.push(['senders', s.senders.length === 0 ? 'none' : String(s.senders.length)]);
    for (const e of s.senders) lines.push(['', describe(e)]);
    lines.push(['receivers', s.receivers.length === 0 ? 'none' : String(s.receivers.length)]);
    for (const e of s.receivers) lines.push(['', describe(e)]);
  }
  // Fields this view does not know yet (stats() may grow), as they are.
  const known = new Set(['name', 'backing', 'mode', 'wait', 'capacity', 'maxMessage', 'maxRecord', 'bytesUsed', 'ended', 'messagesSent',
    'messagesReceived', 'persistent', 'createdAt', 'creatorPid', 'sendersWaiting', 'receiversWaiting', 'senders',
    'receivers', 'sender', 'receiver', 'overflow']);
  for (const [key, value] of Object.entries(s)) {
    if (!known.has(key)) lines.push([key, typeof value === 'string' ? value : JSON.stringify(value)]);
  }
  const width = Math.max(...lines.map(([key]) => key.length)) + 1;
  return lines.map(([key, value]) => `${(key === '' ? '' : `${key}:`).padEnd(width)}  ${value}`);
}

export async function run({ values, positionals }: CommandArgs): Promise<number> {
  const s = stats(positionals[0]);
  // Bridges to NATS of this channel (ringwire/nats), with their rates, lag and pending acks.
  const bridges = listBridges().filter((b) => b.channel === s.name);
  if (flag(values, 'json')) {
    process.stdout.write(`${JSON.stringify(bridges.length === 0 ? s : { ...s, bridges }, null, 2)}\n`);
    return 0;
  }
  const lines = statLines(s);
  const width = lines[0].length - s.name.length; // where the values start
  for (const bridge of bridges) lines.push(`${'bridge:'.padEnd(width)}${bridgeLine(bridge).replace(/^bridge /, '')}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
