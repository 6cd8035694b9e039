import type { CommandLineSpec, FlagSpecs, FlagValues } from './flags.js';

/** A subcommand of `tcp-rx`. */
export interface Command<S extends FlagSpecs> extends CommandLineSpec {
  readonly name: string;
  /** One line for the command list in `--help`. */
  readonly summary: string;
  readonly flags: S;
  /** Runs the command with its flags and arguments (`input`); resolves with the process's exit code. */
  run(options: FlagValues<S>, input: readonly string[]): Promise<number>;
}
