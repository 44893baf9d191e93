// Dispatch: the command named first, its options parsed strictly; usage errors exit with 2,
// every other error with 1 as "ringwire: <message> (<code>)" on stderr.
import { readFileSync } from 'node:fs';
import { parse, UsageError } from './args.js';
import { COMMANDS, commandHelp, findCommand, mainHelp } from './commands.js';
import { errorLine } from './format.js';

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

async function dispatch(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first.startsWith('-')) {
    const { values, positionals } = parse(argv, { version: { type: 'boolean', short: 'V' } });
    if (values.help === true) {
      process.stdout.write(mainHelp(version()));
      return 0;
    }
    if (values.version === true) {
      process.stdout.write(`${version()}\n`);
      return 0;
    }
    throw new UsageError(first === undefined ? 'missing command'
      : `the command comes first, then its options; got '${positionals[0] ?? ''}' after options`);
  }
  const command = findCommand(first);
  if (command === undefined) throw new UsageError(`unknown command '${first}'`);
  const { values, positionals } = parse(rest, command.options, command.name);
  if (values.help === true) {
    process.stdout.write(commandHelp(command));
    return 0;
  }
  if (positionals.length < command.minPositionals) {
    throw new UsageError(`missing ${command.usage.split(' ')[2] ?? 'argument'}`, command.name);
  }
  if (positionals.length > command.maxPositionals) {
    throw new UsageError(`unexpected argument '${positionals[command.maxPositionals]}'`, command.name);
  }
  const module = await command.load();
  return module.run({ values, positionals });
}

function usage(error: UsageError): string {
  const command = error.command === undefined ? undefined : findCommand(error.command);
  if (command !== undefined) return `usage: ${command.usage}\nRun 'ringwire ${command.name} --help' for more.\n`;
  return `usage: ringwire <command> [options]\ncommands: ${COMMANDS.map((c) => c.name).join(', ')}\n`
    + 'Run \'ringwire --help\' for more.\n';
}

/** Runs the CLI with these arguments; resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`ringwire: ${error.message}\n${usage(error)}`);
      return 2;
    }
    process.stderr.write(errorLine(error));
    return 1;
  }
}
