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
export const envName = (name: string): string => `TCPRX_${kebab(name).replace(/-/g, '_').toUpperCase()}`;

/** meow's flag table for `specs`: every value arrives as text and is parsed here. */
export function meowFlags(specs: FlagSpecs): Record<string, { type: 'string' | 'boolean' }> {
  return Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, { type: spec.boolean ? 'boolean' : 'string' }]));
}

/**
 * Parses what meow read, falling back to the environment and then to the
 * defaults. Throws a {@link UsageError} naming the flag for an unknown flag or
 * a bad value.
 */
export function readFlags<S extends FlagSpecs>(
  specs: S,
  given: Readonly<Record<string, unknown>>,
  env: NodeJS.ProcessEnv = process.env,
): FlagValues<S> {
  for (const name of Object.keys(given)) {
    if (!(name in specs)) throw new UsageError(`unknown flag --${kebab(name)} (see --help)`);
  }
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
