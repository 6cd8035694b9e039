import { parseArgs } from 'node:util';

/** One command-line flag: read from `--kebab-name`, else from `TCPRX_SNAKE_NAME`, else its default. */
export interface FlagSpec<T> {
  readonly description: string;
  /** The default as a user would type it (shown in `--help`); `undefined` for an optional flag. */
  readonly default?: string;
  /** A switch (`--json`) rather than a flag with a value. */
  readonly boolean?: boolean;
  /** Turns the text into a value; throws (RangeError) with a message that shows what is accepted. */
  readonly parse: (text: string) => T;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type FlagSpecs = Readonly<Record<string, FlagSpec<any>>>;

/** The parsed values of a set of flags; optional flags without a default may be undefined. */
export type FlagValues<S extends FlagSpecs> = {
  -readonly [K in keyof S]: S[K] extends FlagSpec<infer T> ? (S[K]['default'] extends string ? T : T | undefined) : never;
};

/** A mistake on the command line: reported as one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const kebab = (name: string): string => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
export const envName = (name: string): string => `TCPRX_${kebab(name).replace(/-/g, '_').toUpperCase()}`;

/**
 * The flags typed on the command line, by camel-case name, as text (`true`
 * for a switch). Throws a {@link UsageError} for an unknown flag, a flag
 * without its value, or an argument that is not a flag.
 * Node's own `util.parseArgs` does the splitting: a CLI library costs every
 * server process megabytes of memory (perf/NOTES.md).
 */
export function parseCommandLine(specs: FlagSpecs, args: string[]): Record<string, string | boolean> {
  const options = Object.fromEntries(Object.entries(specs).map(([name, spec]) => [kebab(name), { type: spec.boolean ? 'boolean' : 'string' } as const]));
  const { values, positionals } = parseArgs({ args, options, strict: false, allowPositionals: true });
  const given: Record<string, string | boolean> = {};
  for (const [flag, value] of Object.entries(values)) {
    const name = camel(flag);
    const spec = specs[name];
    if (spec === undefined) throw new UsageError(`unknown flag --${flag} (see --help)`);
    if (value === true && !spec.boolean) throw new UsageError(`--${flag} needs a value`);
    given[name] = value as string | boolean;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (see --help)`);
  return given;
}

/**
 * Parses what was typed ({@link parseCommandLine}), falling back to the
 * environment and then to the defaults. Throws a {@link UsageError} naming
 * the flag (or the variable) for a bad value.
 */
export function readFlags<S extends FlagSpecs>(
  specs: S,
  given: Readonly<Record<string, unknown>>,
  env: NodeJS.ProcessEnv = process.env,
): FlagValues<S> {
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const fromFlag = given[name];
    const text = fromFlag !== undefined ? String(fromFlag) : (env[envName(name)] ?? spec.default);
    if (text === undefined) continue;
    const source = fromFlag !== undefined ? `--${kebab(name)}` : text === spec.default ? `default of --${kebab(name)}` : envName(name);
    try {
      values[name] = spec.boolean ? parseSwitch(text) : spec.parse(text);
    } catch (error) {
      throw new UsageError(`${source}: ${(error as Error).message}`);
    }
  }
  return values as FlagValues<S>;
}

/** The `--help` lines of `specs`, aligned. */
export function describeFlags(specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const left = `--${kebab(name)}${spec.boolean ? '' : ' <value>'}`;
    const suffix = spec.default !== undefined ? ` (default ${spec.default})` : '';
    return [left, `${spec.description}${suffix}; env ${envName(name)}`] as const;
  });
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `    ${left.padEnd(width)}  ${right}`).join('\n');
}

function parseSwitch(text: string): boolean {
  if (/^(true|1|yes)$/i.test(text)) return true;
  if (/^(false|0|no)$/i.test(text)) return false;
  throw new RangeError(`'${text}' is not true or false`);
}
