import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI (npm test builds before it runs tap). */
export const CLI = fileURLToPath(new URL('../../dist/cli/tcp-rx.js', import.meta.url));

/** A `tcp-rx` child process with its output collected. */
export interface CliProcess {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
  /** Waits (at most `timeout` ms) until stderr matches; returns the match. */
  waitFor(pattern: RegExp, timeout?: number): Promise<RegExpMatchArray>;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal!)));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async waitFor(pattern, timeout = 10_000) {
      const deadline = Date.now() + timeout;
      for (;;) {
        const match = stderr.match(pattern);
        if (match) return match;
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no ${pattern} in: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

/** Starts `tcp-rx serve` on a free loopback port; resolves once it is listening. */
export async function startCliServer(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<CliProcess & { port: number }> {
  const server = runCli(['serve', '--addr', '127.0.0.1:0', ...args], env);
  const [, port] = await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/);
  return Object.assign(server, { port: Number(port) });
}
