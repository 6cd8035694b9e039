#!/usr/bin/env -S node --max-semi-space-size=1
// --max-semi-space-size=1 (MiB): V8 otherwise grows its young generation to 2 × 16 MiB while
// thousands of connections arrive, and keeps it: 130 → 106 MB RSS at 10,000 idle connections,
// throughput unchanged (perf/NOTES.md). It must be given at startup, so here and in `npm start`.
import meow from 'meow';
import type { Command } from './command.js';
import { parseCommandLine, readFlags, UsageError, type FlagSpecs } from './flags.js';

type AnyCommand = Command<FlagSpecs>;

/**
 * Each command's module is loaded when it is run (or listed): a `serve`
 * process then holds none of `bench`'s and `top`'s code, nor the Node
 * modules they import (node:http, node:tls), which the bundle
 * (scripts/bundle-cli.js) puts in chunks of their own.
 */
const commands: Readonly<Record<string, () => Promise<AnyCommand>>> = {
  serve: async () => (await import('./serve-command.js')).serveCommand as unknown as AnyCommand,
  bench: async () => (await import('./bench-command.js')).benchCommand as unknown as AnyCommand,
  top: async () => (await import('./top-command.js')).topCommand as unknown as AnyCommand,
};

const help = (listed: readonly AnyCommand[]): string => `
  Usage
    $ tcp-rx <command> [flags]

  Commands
${listed.map((command) => `    ${command.name.padEnd(8)}${command.summary}`).join('\n')}

  tcp-rx <command> --help lists a command's flags. Flags take units where they are
  durations (500ms, 30s, 2m) or sizes (64KiB, 1MiB); each can also be set in the
  environment variable named after it (--max-line: TCPRX_MAX_LINE).

  Exit codes: 0 done, 1 failed, 2 bad command line, 3 shut down with connections destroyed.
`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const load = name !== undefined && Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (load === undefined) {
    if (name !== undefined && !name.startsWith('-')) throw new UsageError(`unknown command '${name}' (see --help)`);
    const listed = await Promise.all(Object.values(commands).map((loadCommand) => loadCommand()));
    // meow answers `tcp-rx --help` and `tcp-rx --version` itself, and exits.
    meow(help(listed), { importMeta: import.meta, argv, flags: { help: { type: 'boolean', shortFlag: 'h' } } });
    throw new UsageError('missing command (see --help)');
  }
  const command = await load();
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
