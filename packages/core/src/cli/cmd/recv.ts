// ringwire recv NAME: prints messages, one per line (or as JSON lines).
import { setImmediate as nextTurn } from 'node:timers/promises';
import { openReceiver } from '../../channel.js';
import type { Receiver } from '../../receiver.js';
import { CODEC_NAMES, resolveCodec, type Codec } from '../../codec.js';
import { flag, parseChoice, parseCount, str, UsageError } from '../args.js';
import type { CommandArgs } from '../commands.js';
import { jsonSafe } from '../format.js';
import { output } from '../io.js';

/** Output is written in chunks of about this many bytes. */
const CHUNK_BYTES = 64 * 1024;
const NEWLINE = Buffer.from('\n');

/** One JSON line for a message: its value, or base64 with the error if it does not decode. */
function jsonLine(codec: Codec, seq: number, message: Uint8Array): { line: string; failed: boolean } {
  try {
    const value = codec.decode(message);
    return { line: JSON.stringify({ seq, bytes: message.length, value: value === undefined ? null : value }, jsonSafe), failed: false };
  } catch (error) {
    const { code, message: text } = error as { code?: unknown; message?: unknown };
    return {
      line: JSON.stringify({
        seq, bytes: message.length, error: typeof code === 'string' && code.startsWith('ERR_RINGWIRE') ? code : 'ERR_RINGWIRE_DECODE',
        message: typeof code === 'string' && code.startsWith('ERR_RINGWIRE') ? String(text) : `not printable as JSON: ${String(text)}`,
        base64: Buffer.from(message.buffer, message.byteOffset, message.length).toString('base64'),
      }),
      failed: true,
    };
  }
}

export async function run({ values, positionals }: CommandArgs): Promise<number> {
  const [name] = positionals;
  const countText = str(values, 'count');
  const limit = countText === undefined ? Infinity : parseCount(countText, '--count', 0, 'recv');
  const follow = flag(values, 'follow');
  const codecText = str(values, 'codec');
  if (codecText !== undefined && !flag(values, 'json')) throw new UsageError('--codec needs --json', 'recv');
  const codecName = codecText ?? 'json';
  const codec = flag(values, 'json') ? resolveCodec(parseChoice(codecName, '--codec', CODEC_NAMES, 'recv')) : undefined;
  if (limit === 0) return 0;

  const out = output();
  let stopping = false;
  let receiver: Receiver | undefined;
  const stop = () => {
    stopping = true;
    receiver?.close(); // a pending recv() rejects with ERR_RINGWIRE_CLOSED
  };
  // Before opening: Ctrl-C as soon as the receiver shows in stats closes it cleanly.
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  let seq = 0;
  let undecodable = 0;
  let chunks: Uint8Array[] = [];
  let buffered = 0;
  const add = (message: Uint8Array) => {
    seq++;
    if (codec === undefined) {
      chunks.push(message, NEWLINE);
      buffered += message.length + 1;
      return;
    }
    const { line, failed } = jsonLine(codec, seq, message);
    if (failed) undecodable++;
    const bytes = Buffer.from(`${line}\n`);
    chunks.push(bytes);
    buffered += bytes.length;
  };
  const flush = async () => {
    if (chunks.length === 0) return;
    const data = Buffer.concat(chunks, buffered);
    chunks = [];
    buffered = 0;
    await out.write(data);
  };

  try {
    receiver = openReceiver(name);
    while (seq < limit && !stopping && !out.broken) {
      let message: Uint8Array | null | undefined = receiver.tryRecv();
      if (message === undefined) {
        await flush();
        if (!follow || stopping || out.broken) break;
        try {
          message = await receiver.recv();
        } catch (error) {
          if (stopping) break; // Ctrl-C
          throw error;
        }
        if (message === null) break; // the sender ended the stream and it is drained
      }
      add(message);
      if (buffered >= CHUNK_BYTES) {
        await flush();
        await nextTurn(); // let Ctrl-C in while messages keep coming
      }
    }
    await flush();
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    receiver?.close();
  }
  if (undecodable > 0) {
    process.stderr.write(`ringwire: ${undecodable} of ${seq} message(s) could not be decoded with codec '${codecName}';`
      + ' printed as base64 (ERR_RINGWIRE_DECODE)\n');
    return 1;
  }
  return 0;
}
