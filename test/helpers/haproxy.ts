import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';

/** Debian's haproxy (.ci/run installs it). */
const HAPROXY = existsSync('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : 'haproxy';

/** A port free now (haproxy cannot bind port 0 and tell us which it got): listened on, then let go. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  probe.close();
  await once(probe, 'close');
  return port;
}

/** What {@link startHaproxy} runs: a config's text, or a config file with the environment it reads. */
export type HaproxyConfig = string | { readonly file: string; readonly env: Readonly<Record<string, string>>; readonly frontend: number };

/**
 * haproxy in the foreground with `config` (a text is written to a temp dir);
 * resolves once its frontend (the first `bind 127.0.0.1:PORT` of a text)
 * takes connections; stopped (by its PID) when the test ends. Returns its
 * stderr so far, on demand.
 */
export async function startHaproxy(t: Test, config: HaproxyConfig): Promise<() => string> {
  let file: string;
  let env: Readonly<Record<string, string>> = {};
  let port: number;
  let dir: string | undefined;
  if (typeof config === 'string') {
    dir = mkdtempSync(join(tmpdir(), 'tcp-rx-haproxy-'));
    file = join(dir, 'haproxy.cfg');
    writeFileSync(file, config);
    port = Number(/bind 127\.0\.0\.1:(\d+)/.exec(config)![1]);
  } else {
    ({ file, env, frontend: port } = config);
  }
  const child = spawn(HAPROXY, ['-f', file, '-db'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = once(child, 'exit');
  t.teardown(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  for (const deadline = Date.now() + 5000; ; ) {
    if (child.exitCode !== null) throw new Error(`haproxy exited: ${stderr}`);
    const socket = connect(port, '127.0.0.1');
    const up = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      socket.once('error', () => resolve(false));
    });
    socket.destroy();
    if (up) return () => stderr;
    if (Date.now() > deadline) throw new Error(`haproxy did not listen: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
