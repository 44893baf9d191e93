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
  const mode = modeText === undefined ? undefined : parseChoice<ModeOption>(modeText, '--mode', ['spsc', 'mpmc'], 'create');
  const wait = waitText === undefined ? undefined
    : parseChoice<WaitOption>(waitText, '--wait', ['auto', 'futex', 'semaphore', 'spin'], 'create');
  const persistent = flag(values, 'persistent');
  createChannel(name, {
    ...(capacity === undefined ? {} : { capacity }), ...(mode === undefined ? {} : { mode }),
    ...(wait === undefined ? {} : { wait }), persistent,
  });
  const s = stats(name);
  process.stdout.write(`created ${name}: ${s.mode}, capacity ${bytes(s.capacity)}, wait ${s.wait}${s.persistent ? ', persistent' : ''}\n`);
  return 0;
}
