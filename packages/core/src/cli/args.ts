// Command-line arguments: util.parseArgs does the parsing; this turns its errors into usage
// errors (exit status 2) and checks the values it cannot (numbers, sizes, choices).
import { parseArgs, type ParseArgsConfig } from 'node:util';

export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | undefined>;

/** Bad usage: an unknown command or option, a missing or malformed argument. Exit status 2. */
export class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface Parsed {
  values: Values;
  positionals: string[];
}

/**
 * Parses `args` strictly against `options` (plus -h/--help). Unknown options, options
 * missing their value and values given to flags are usage errors.
 */
export function parse(args: string[], options: OptionsConfig, command?: string): Parsed {
  try {
    const { values, positionals } = parseArgs({
      args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true,
    });
    return { values: values as Values, positionals };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) {
      // parseArgs' messages may span lines: one line, as every error here.
      throw new UsageError((error as Error).message.replace(/\s*\n\s*/g, ' '), command);
    }
    throw error;
  }
}

const SIZE = /^(\d+)(?:([kmg])(?:i?b)?)?$/i;
const UNITS: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 };

/** Bytes: a number, or with a binary suffix k, m or g (64k = 65536; KiB, kb, M, MiB... too). */
export function parseSize(text: string, flag: string, command?: string): number {
  const match = SIZE.exec(text.trim());
  if (match === null) throw new UsageError(`${flag} expects bytes, like 4096, 64k or 1m; got '${text}'`, command);
  const bytes = Number(match[1]) * (match[2] === undefined ? 1 : UNITS[match[2].toLowerCase()]);
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`${flag} is too large: '${text}'`, command);
  return bytes;
}

/** A whole number from `min` up. */
export function parseCount(text: string, flag: string, min: number, command?: string): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`${flag} expects a whole number${min > 0 ? ` from ${min}` : ''}; got '${text}'`, command);
  }
  return value;
}

/** One of `choices`. */
export function parseChoice<T extends string>(text: string, flag: string, choices: readonly T[], command?: string): T {
  if (!(choices as readonly string[]).includes(text)) {
    throw new UsageError(`${flag} must be ${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}; got '${text}'`, command);
  }
  return text as T;
}

/** The string value of an option, if given. */
export function str(values: Values, key: string): string | undefined {
  const value = values[key];
  return typeof value === 'string' ? value : undefined;
}

export function flag(values: Values, key: string): boolean {
  return values[key] === true;
}
