import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs an example the way the README says (ts-node), on a free port; stops
 * it when the test ends. Resolves with the port it listens on.
 */
export async function startExample(t: Test, file: string, timeout = 30_000): Promise<number> {
  const child = spawn(process.execPath, ['--no-warnings=ExperimentalWarning', '--loader', 'ts-node/esm', file], {
    cwd: root,
    env: { ...process.env, PORT: '0', TS_NODE_TRANSPILE_ONLY: 'true' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeout); // a hung start ends the wait below
  try {
    let output = '';
    for await (const chunk of child.stdout!) {
      output += chunk;
      const port = /listening on 127\.0\.0\.1:(\d+)/.exec(output)?.[1];
      if (port) return Number(port);
    }
    throw new Error(`${file} did not start: ${output}`);
  } finally {
    clearTimeout(timer);
  }
}
