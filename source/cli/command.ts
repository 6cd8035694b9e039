import type { FlagSpecs, FlagValues } from './flags.js';

/** A subcommand of `tcp-rx`. */
export interface Command<S extends FlagSpecs> {
  readonly name: string;
  /** One line for the command list in `--help`. */
  readonly summary: string;
  readonly flags: S;
  /** Runs the command; resolves with the process's exit code. */
  run(options: FlagValues<S>): Promise<number>;
}
