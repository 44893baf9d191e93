// ringwire send NAME: each line of stdin as a message (or one file), with backpressure.
import { readFile } from 'node:fs/promises';
import { createInterface, type Interface } from 'node:readline';
import { openSender } from '../../channel.js';
import { CODEC_NAMES, resolveCodec } from '../../codec.js';
import { invalidArg } from '../../errors.js';
import type { Message, Sender } from '../../sender.js';
import { flag, parseChoice, str, UsageError } from '../args.js';
import type { CommandArgs } from '../commands.js';

export async function run({ values, positionals }: CommandArgs): Promise<number> {
  const [name] = positionals;
  const file = str(values, 'file');
  const json = flag(values, 'json');
  const codecText = str(values, 'codec');
  if (file !== undefined && json) throw new UsageError('--file and --json cannot be used together', 'send');
  if (codecText !== undefined && !json) throw new UsageError('--codec needs --json', 'send');
  const codec = json ? resolveCodec(parseChoice(codecText ?? 'json', '--codec', CODEC_NAMES, 'send')) : undefined;
  const contents = file === undefined ? undefined : await readFile(file);

  let sender: Sender | undefined;
  const abort = new AbortController();
  let lines: Interface | undefined;
  let sent = 0;
  const interrupt = () => {
    abort.abort();
    lines?.close();
  };
  // Before opening: Ctrl-C as soon as the sender shows in stats closes it cleanly.
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const interrupted = () => Object.assign(
    new Error(`interrupted after ${sent} message(s); the stream was not ended`), { code: 'ABORT_ERR' });
  const send = async (message: Message) => {
    if (!sender!.trySend(message)) {
      try {
        await sender!.send(message, { signal: abort.signal });
      } catch (error) {
        throw abort.signal.aborted ? interrupted() : error;
      }
    }
    sent++;
  };
  try {
    sender = openSender(name);
    if (contents !== undefined) {
      await send(contents);
    } else {
      lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
      let number = 0;
      for await (const line of lines) {
        number++;
        if (abort.signal.aborted) break;
        if (codec === undefined) {
          await send(line);
          continue;
        }
        if (line.trim() === '') continue;
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch (error) {
          throw invalidArg(`line ${number} of stdin is not JSON (${(error as Error).message}); ${sent} message(s) sent before it`);
        }
        let message: Message;
        try {
          message = codec.encode(value);
        } catch (error) {
          throw Object.assign(error as Error, { message: `line ${number} of stdin: ${(error as Error).message}; ${sent} message(s) sent before it` });
        }
        await send(message);
      }
    }
    if (abort.signal.aborted) throw interrupted();
    if (flag(values, 'end')) await sender.end();
    return 0;
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    lines?.close();
    sender?.close(); // publishes what was sent (and the end)
  }
}
