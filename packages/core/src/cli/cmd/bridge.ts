// ringwire bridge out CHANNEL SUBJECT | in SUBJECT CHANNEL: a bridge between a channel and a
// NATS subject (ringwire/nats), until the stream ends or Ctrl-C / SIGTERM.
import { bridge, type BridgeOptions } from '../../nats.js';
import { parseCount, str, flag, UsageError } from '../args.js';
import type { CommandArgs } from '../commands.js';

export async function run({ values, positionals }: CommandArgs): Promise<number> {
  const [direction, first, second] = positionals;
  if (direction !== 'out' && direction !== 'in') {
    throw new UsageError(`the first argument is out (channel → NATS) or in (NATS → channel), got '${direction}'`, 'bridge');
  }
  if (second === undefined) throw new UsageError(direction === 'out' ? 'missing SUBJECT' : 'missing CHANNEL', 'bridge');
  const [channel, subject] = direction === 'out' ? [first, second] : [second, first];
  const servers = str(values, 'server');
  if (servers === undefined) throw new UsageError('--server URL is required (e.g. nats://127.0.0.1:4222)', 'bridge');
  const stream = str(values, 'jetstream');
  const durable = str(values, 'durable');
  const queue = str(values, 'queue');
  const windowText = str(values, 'window');
  if (durable !== undefined && stream === undefined) throw new UsageError('--durable needs --jetstream', 'bridge');
  if (direction === 'out' && (durable !== undefined || queue !== undefined)) {
    throw new UsageError('--durable and --queue are for bridge in', 'bridge');
  }
  const serverConfirm = flag(values, 'server-confirm');
  if (serverConfirm && (direction !== 'out' || stream !== undefined)) {
    throw new UsageError('--server-confirm is for bridge out over core NATS (JetStream acks every message anyway)', 'bridge');
  }
  if (direction === 'in' && stream !== undefined && durable === undefined) {
    throw new UsageError('bridge in --jetstream needs --durable NAME (the consumer that keeps what was not yet acked)', 'bridge');
  }
  const options: BridgeOptions = {
    channel, subject, direction, servers: servers.split(','),
    ...(queue === undefined ? {} : { queue }),
    ...(stream === undefined ? {} : { jetstream: { stream, ...(durable === undefined ? {} : { durable }) } }),
    ...(windowText === undefined ? {} : { window: parseCount(windowText, '--window', 1, 'bridge') }),
    ...(serverConfirm ? { serverConfirm } : {}),
  };
  const running = await bridge(options);
  const stop = () => { void running.close(); };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const what = direction === 'out' ? `${channel} → ${subject}` : `${subject} → ${channel}`;
  process.stderr.write(`ringwire bridge ${direction}: ${what} via ${servers}${stream === undefined ? '' : ` (JetStream ${stream})`}\n`);
  try {
    const { reason, stats } = await running.done;
    const summary = { reason, messages: stats.messages, bytes: stats.bytes, retries: stats.retries };
    process.stdout.write(flag(values, 'json') ? `${JSON.stringify(summary)}\n`
      : `bridged ${stats.messages} messages (${stats.bytes} bytes): ${reason === 'ended' ? 'the stream ended' : 'stopped'}\n`);
    return 0;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
