#!/usr/bin/env -S node --max-semi-space-size=1
// --max-semi-space-size=1 (MiB): V8 otherwise grows its young generation to 2 × 16 MiB while
// thousands of connections arrive, and keeps it: 130 → 106 MB RSS at 10,000 idle connections,
// throughput unchanged (perf/NOTES.md). It must be given at startup, so here and in `npm start`.
import meow from 'meow';
import type { Command } from './command.js';
import { parseCommandLine, readFlags, UsageError, type FlagSpecs } from './flags.js';
import { benchCommand } from './bench-command.js';
import { serveCommand } from './serve-command.js';
import { topCommand } from './top-command.js';

const commands: ReadonlyArray<Command<FlagSpecs>> = [serveCommand, benchCommand, topCommand] as unknown as ReadonlyArray<Command<FlagSpecs>>;

const help = `
  Usage
    $ tcp-rx <command> [flags]

  Commands
${commands.map((command) => `    ${command.name.padEnd(8)}${command.summary}`).join('\n')}

  tcp-rx <command> --help lists a command's flags. Flags take units where they are
  durations (500ms, 30s, 2m) or sizes (64KiB, 1MiB); each can also be set in the
  environment variable named after it (--max-line: TCPRX_MAX_LINE).

  Exit codes: 0 done, 1 failed, 2 bad command line, 3 shut down with connections destroyed.
`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = commands.find((candidate) => candidate.name === name);
  if (command === undefined) {
    if (name !== undefined && !name.startsWith('-')) throw new UsageError(`unknown command '${name}' (see --help)`);
    // meow answers `tcp-rx --help` and `tcp-rx --version` itself, and exits.
    meow(help, { importMeta: import.meta, argv, flags: { help: { type: 'boolean', shortFlag: 'h' } } });
    throw new UsageError('missing command (see --help)');
  }
  const line = parseCommandLine(command, rest, import.meta);
  if (line.kind === 'print') {
    process.stdout.write(line.text);
    return 0;
  }
  return command.run(readFlags(command.flags, line.given), line.input);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: NodeJS.ErrnoException) => {
    process.stderr.write(`tcp-rx: ${describe(error)}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);

function describe(error: NodeJS.ErrnoException): string {
  const address = error as NodeJS.ErrnoException & { address?: string; port?: number };
  if (error.code === 'EADDRINUSE') return `address ${address.address ?? ''}:${address.port} is already in use`;
  if (error.code === 'EACCES') return `no permission to listen on ${address.address ?? ''}:${address.port}`;
  return error.message;
}
