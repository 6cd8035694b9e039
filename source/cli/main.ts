#!/usr/bin/env -S node --max-semi-space-size=1
// --max-semi-space-size=1 (MiB): V8 otherwise grows its young generation to 2 × 16 MiB while
// thousands of connections arrive, and keeps it: 130 → 106 MB RSS at 10,000 idle connections,
// throughput unchanged (perf/NOTES.md). It must be given at startup, so here and in `npm start`.
import { readFileSync } from 'node:fs';
import type { Command } from './command.js';
import { describeFlags, parseCommandLine, readFlags, UsageError, type FlagSpecs } from './flags.js';
import { benchCommand } from './bench-command.js';
import { serveCommand } from './serve-command.js';

const commands: ReadonlyArray<Command<FlagSpecs>> = [serveCommand, benchCommand] as unknown as ReadonlyArray<Command<FlagSpecs>>;

const { description, version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { description: string; version: string };

const help = `
  ${description}

  Usage
    $ tcp-rx <command> [flags]

  Commands
${commands.map((command) => `    ${command.name.padEnd(8)}${command.summary}`).join('\n')}

  Flags take units where they are durations (500ms, 30s, 2m) or sizes (64KiB, 1MiB);
  each can also be set in the environment variable named after it.
${commands.map((command) => `\n  tcp-rx ${command.name}\n${describeFlags(command.flags)}`).join('\n')}

  Exit codes: 0 done, 1 failed, 2 bad command line, 3 shut down with connections destroyed.
`;

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) return print(help);
  if (argv.includes('--version')) return print(`${version}\n`);
  const [name, ...rest] = argv;
  const command = commands.find((candidate) => candidate.name === name);
  if (command === undefined) {
    throw new UsageError(name === undefined ? 'missing command (see --help)' : `unknown command '${name}' (see --help)`);
  }
  return command.run(readFlags(command.flags, parseCommandLine(command.flags, rest)));
}

function print(text: string): number {
  process.stdout.write(text);
  return 0;
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
