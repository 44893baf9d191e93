// ringwire gc [PATH...]: removes channels left behind by dead processes (gc()), or with --dry-run lists
// what gc() would remove now, and why (gc's own reasons), removing nothing.
import { collectGarbage, gc } from '../../channel.js';
import { flag, str, UsageError } from '../args.js';
import type { CommandArgs } from '../commands.js';

export async function run({ values, positionals }: CommandArgs): Promise<number> {
  const prefix = str(values, 'prefix');
  const json = flag(values, 'json');
  // PATH...: file-backed channels to judge instead of /dev/shm's.
  const notPath = positionals.find((arg) => !arg.includes('/'));
  if (notPath !== undefined) {
    throw new UsageError(`gc takes file-backed channels' paths (with a '/'), not '${notPath}': use --prefix for /dev/shm's channels`, 'gc');
  }
  if (prefix !== undefined && positionals.length > 0) throw new UsageError('gc takes --prefix or PATHs, not both', 'gc');
  const where = { ...(prefix === undefined ? {} : { prefix }), ...(positionals.length === 0 ? {} : { paths: positionals }) };
  if (flag(values, 'dry-run')) {
    const plan = collectGarbage({ ...where, dryRun: true });
    if (json) process.stdout.write(`${JSON.stringify({ dryRun: true, wouldRemove: plan })}\n`);
    else if (plan.length === 0) process.stdout.write('nothing to remove\n');
    else process.stdout.write(plan.map(({ name, reason }) => `would remove ${name}: ${reason}\n`).join(''));
    return 0;
  }
  const removed = gc(where);
  if (json) process.stdout.write(`${JSON.stringify({ dryRun: false, removed })}\n`);
  else if (removed.length === 0) process.stdout.write('nothing to remove\n');
  else process.stdout.write(removed.map((name) => `removed ${name}\n`).join(''));
  return 0;
}
