// ringwire create NAME: createChannel with options from flags.
import { createChannel, stats } from '../../channel.js';
import type { ModeOption, WaitOption } from '../../options.js';
import { flag, parseChoice, parseSize, str } from '../args.js';
import type { CommandArgs } from '../commands.js';
import { bytes } from '../format.js';

export async function run({ values, positionals }: CommandArgs): Promise<number> {
  const [name] = positionals;
  const capacityText = str(values, 'capacity');
  const modeText = str(values, 'mode');
  const waitText = str(values, 'wait');
  const capacity = capacityText === undefined ? undefined : parseSize(capacityText, '--capacity', 'create');
  const mode = modeText === undefined ? undefined
    : parseChoice<ModeOption>(modeText, '--mode', ['spsc', 'mpmc', 'broadcast'], 'create');
  const overflowText = str(values, 'overflow');
  const overflow = overflowText === undefined ? undefined
    : parseChoice<'block' | 'drop'>(overflowText, '--overflow', ['block', 'drop'], 'create');
  const wait = waitText === undefined ? undefined
    : parseChoice<WaitOption>(waitText, '--wait', ['auto', 'futex', 'semaphore', 'named-semaphore', 'spin'], 'create');
  const maxText = str(values, 'max-message');
  const maxMessageSize = maxText === undefined ? undefined : parseSize(maxText, '--max-message', 'create');
  const persistent = flag(values, 'persistent');
  createChannel(name, {
    ...(capacity === undefined ? {} : { capacity }), ...(mode === undefined ? {} : { mode }),
    ...(wait === undefined ? {} : { wait }), ...(overflow === undefined ? {} : { overflow }), persistent,
    ...(maxMessageSize === undefined ? {} : { maxMessageSize }),
  });
  const s = stats(name);
  process.stdout.write(`created ${name}: ${s.mode}${s.overflow === undefined ? '' : ` (overflow ${s.overflow})`}, capacity ${bytes(s.capacity)}, max message ${bytes(s.maxMessage)}, wait ${s.wait}${s.persistent ? ', persistent' : ''}\n`);
  return 0;
}
