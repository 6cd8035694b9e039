import meow from 'meow';

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

/** What a command's command line asks for. */
export type CommandLine =
  /** Run with these flags (as typed: text, or `true`/`false` for a switch) and arguments. */
  | { readonly kind: 'run'; readonly given: Record<string, string | boolean>; readonly input: string[] }
  /** Print this text (`--help`, `--version`) and exit 0. */
  | { readonly kind: 'print'; readonly text: string };

/** How a command describes itself to {@link parseCommandLine}. */
export interface CommandLineSpec {
  /** Shown as `tcp-rx <usage>` in its help. */
  readonly usage: string;
  readonly summary: string;
  readonly flags: FlagSpecs;
  /** What its arguments are (`ADDR…`), if it takes any; otherwise an argument is a usage error. */
  readonly input?: string;
}

/**
 * Splits one command's arguments with meow: the flags typed, by camel-case
 * name, and the arguments. Throws a {@link UsageError} naming the flag for an
 * unknown flag, a flag without its value or given twice, or an argument the
 * command does not take. `--help` or `--version` anywhere asks for the
 * command's help or the version, which the caller prints: nothing here exits.
 *
 * meow is told nothing of defaults or the environment: {@link readFlags}
 * falls back to those, so that a flag typed beats its variable, which beats
 * the default.
 */
export function parseCommandLine(spec: CommandLineSpec, argv: string[], importMeta: ImportMeta): CommandLine {
  let cli: ReturnType<typeof meow>;
  try {
    cli = meow(helpText(spec), {
      importMeta,
      argv: joinDashValues(spec, argv),
      description: false,
      autoHelp: false,
      autoVersion: false,
      booleanDefault: undefined,
      // Unknown flags are named here, on one line, rather than by meow, which prints a list and exits.
      allowUnknownFlags: true,
      flags: {
        ...Object.fromEntries(Object.entries(spec.flags).map(([name, flag]) => [name, { type: flag.boolean ? ('boolean' as const) : ('string' as const) }])),
        help: { type: 'boolean', shortFlag: 'h' },
        version: { type: 'boolean' },
      },
    });
  } catch (error) {
    // meow throws for a flag given twice: "The flag --addr can only be set once."
    throw new UsageError((error as Error).message.replace(/^The flag (--\S+) can only be set once\.$/, '$1 is given more than once'));
  }
  const { help, version, ...flags } = cli.flags as Record<string, string | boolean | undefined>;
  if (help === true) return { kind: 'print', text: cli.help };
  // Only now does meow read (and normalise) package.json.
  if (version === true) return { kind: 'print', text: `${(cli.pkg as { version?: string }).version}\n` };
  const given: Record<string, string | boolean> = {};
  for (const [name, value] of Object.entries(flags)) {
    if (value === undefined) continue;
    const flag = spec.flags[name];
    if (flag === undefined) throw new UsageError(`unknown flag --${kebab(name)} (see tcp-rx ${spec.usage.split(' ')[0]} --help)`);
    // meow reads `--addr` followed by nothing, or by another flag, as an empty string; no flag takes one.
    if (!flag.boolean && (value === '' || typeof value === 'boolean')) throw new UsageError(`--${kebab(name)} needs a value`);
    // meow reads `--json=maybe` as false; the text as typed is checked like the variable's.
    const typed = flag.boolean ? [...argv].reverse().find((argument) => argument.startsWith(`--${kebab(name)}=`)) : undefined;
    given[name] = typed === undefined ? value : typed.slice(typed.indexOf('=') + 1);
  }
  const input = cli.input.map(String);
  if (spec.input === undefined && input.length > 0) throw new UsageError(`unexpected argument '${input[0]}' (see --help)`);
  return { kind: 'run', given, input };
}

/**
 * `--flag -` as `--flag=-`: meow reads a lone `-` as no value (and an
 * argument), where it names standard output (`--access-log -`).
 */
function joinDashValues(spec: CommandLineSpec, argv: readonly string[]): string[] {
  const joined: string[] = [];
  for (const argument of argv) {
    const previous = joined.at(-1);
    const flag = previous?.startsWith('--') && !previous.includes('=') ? spec.flags[camel(previous.slice(2))] : undefined;
    if (argument === '-' && flag !== undefined && !flag.boolean) joined[joined.length - 1] = `${previous}=-`;
    else joined.push(argument);
  }
  return joined;
}

const camel = (name: string): string => name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

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

/** A command's `--help`. */
export function helpText(spec: CommandLineSpec): string {
  return `
  ${spec.summary}

  Usage
    $ tcp-rx ${spec.usage}

  Flags
${describeFlags(spec.flags)}

  Durations take units (500ms, 30s, 2m), sizes too (64KiB, 1MiB).
`;
}

function parseSwitch(text: string): boolean {
  if (/^(true|1|yes)$/i.test(text)) return true;
  if (/^(false|0|no)$/i.test(text)) return false;
  throw new RangeError(`'${text}' is not true or false`);
}
