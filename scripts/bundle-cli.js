#!/usr/bin/env node
// @ts-check
/**
 * Bundles the `tcp-rx` bin (`dist/cli/main.js`, built by tsc) with esbuild
 * into `dist/cli/tcp-rx.js` and the chunks it loads (`dist/cli/chunks/`): a
 * few modules to load instead of ~100, and rxjs from its ES module build so
 * that only the operators used are in it.
 *
 * Split at the source's dynamic `import()`s: each command, and each of
 * `serve`'s optional parts (TLS, the cluster primary, the metrics endpoint,
 * the access log), is a chunk loaded only when used, so that a plain `serve`
 * process neither holds their code nor loads the Node modules they need
 * (node:tls and node:crypto ~2.4 MiB of resident memory, node:http ~1.2 MiB;
 * perf/NOTES.md, issue 15).
 *
 * meow's own bundle runs two of its dependencies' setup as it loads: the
 * package.json normaliser (semver, SPDX license tables, hosted-git-info),
 * which it calls only when `cli.pkg` is read (`--version`), and Babel's code
 * frame, which it calls only to show where a package.json fails to parse.
 * Loading them costs every server process ~4 MiB (perf/NOTES.md); here they
 * are set up on first use instead. It also calls `promisify(execFile)` and
 * drops the result (what is left of a dependency it bundles), which loads
 * node:child_process, 0.3 MiB of a server's resident memory, for nothing:
 * that statement is dropped. If meow's build changes shape, the build fails
 * rather than quietly paying for them again.
 */
import { build } from 'esbuild';
import { readFile, rm } from 'node:fs/promises';

/** Top-level statements of meow/build/dependencies.js and what they become: the same value, made on first use. */
const LAZY = [
  ['var libExports = requireLib$1();', 'var libExports = { codeFrameColumns: (...args) => requireLib$1().codeFrameColumns(...args) };'],
  [
    'var normalizeExports = requireNormalize();\nconst normalizePackageData = getDefaultExportFromCjs(normalizeExports);',
    'const normalizePackageData = (...args) => getDefaultExportFromCjs(requireNormalize())(...args);',
  ],
];

/** Top-level statements of meow/build/dependencies.js whose results nothing uses: dropped. */
const UNUSED = ["import { execFile } from 'node:child_process';\n", 'promisify(execFile);\n'];

/** @type {import('esbuild').Plugin} */
const meowLoadsLazily = {
  name: 'meow-loads-lazily',
  setup(bundler) {
    bundler.onLoad({ filter: /[\\/]meow[\\/]build[\\/]dependencies\.js$/ }, async ({ path }) => {
      let contents = await readFile(path, 'utf8');
      for (const [eager, lazy] of [...LAZY, ...UNUSED.map((statement) => [statement, ''])]) {
        if (!contents.includes(eager)) throw new Error(`meow's build has changed: '${eager.split('\n')[0]}' is not in ${path}; see scripts/bundle-cli.js`);
        contents = contents.replace(eager, lazy);
      }
      return { contents, loader: 'js' };
    });
  },
};

// Chunks are named by their content's hash: those of an earlier build would pile up.
await rm('dist/cli/chunks', { recursive: true, force: true });
await build({
  entryPoints: { 'tcp-rx': 'dist/cli/main.js' },
  outdir: 'dist/cli',
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  alias: { rxjs: './node_modules/rxjs/dist/esm/index.js' },
  sourcemap: true,
  logLevel: 'warning',
  plugins: [meowLoadsLazily],
});
