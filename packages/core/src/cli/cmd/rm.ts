// ringwire rm NAME...: unlinks channels, refusing those with endpoints open unless --force.
import { stats, unlinkChannel } from '../../channel.js';
import { RingwireError } from '../../errors.js';
import { flag } from '../args.js';
import type { CommandArgs } from '../commands.js';
import { errorLine } from '../format.js';

/** Throws unless `name` may be removed without --force: it exists, reads, and has nothing open. */
function checkRemovable(name: string): void {
  let s;
  try {
    s = stats(name);
  } catch (error) {
    if (error instanceof RingwireError && error.code !== 'ERR_RINGWIRE_NOT_FOUND' && error.code !== 'ERR_RINGWIRE_INVALID_NAME') {
      throw new RingwireError(error.code, `${error.message}; not removed, since whether endpoints are open on it`
        + ' cannot be read (use --force to remove it anyway)', { cause: error });
    }
    throw error;
  }
  const open = [
    ...s.senders.filter((e) => e.open).map((e) => `sender pid ${e.pid}`),
    ...s.receivers.filter((e) => e.open).map((e) => `receiver pid ${e.pid}`),
  ];
  if (open.length > 0) {
    throw new RingwireError('ERR_RINGWIRE_BUSY', `channel '${name}' has ${open.length === 1 ? 'an endpoint' : 'endpoints'}`
      + ` open (${open.join(', ')}); not removed (use --force to remove it anyway: open endpoints keep working)`);
  }
}

export async function run({ values, positionals }: CommandArgs): Promise<number> {
  let failed = false;
  for (const name of positionals) {
    try {
      if (!flag(values, 'force')) checkRemovable(name);
      if (!unlinkChannel(name)) throw new RingwireError('ERR_RINGWIRE_NOT_FOUND', `channel '${name}' does not exist`);
      process.stdout.write(`removed ${name}\n`);
    } catch (error) {
      process.stderr.write(errorLine(error));
      failed = true;
    }
  }
  return failed ? 1 : 0;
}
