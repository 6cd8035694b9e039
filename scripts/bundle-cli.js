#!/usr/bin/env node
// @ts-check
/**
 * Bundles the `tcp-rx` bin (`dist/cli/main.js`, built by tsc) into one file,
 * `dist/cli/tcp-rx.js`, with esbuild: one module to load instead of ~100, and
 * rxjs from its ES module build so that only the operators used are in it.
 *
 * meow's own bundle runs two of its dependencies' setup as it loads: the
 * package.json normaliser (semver, SPDX license tables, hosted-git-info),
 * which it calls only when `cli.pkg` is read (`--version`), and Babel's code
 * frame, which it calls only to show where a package.json fails to parse.
 * Loading them costs every server process ~4 MiB (perf/NOTES.md); here they
 * are set up on first use instead. If meow's build changes shape, the build
 * fails rather than quietly paying for them again.
 */
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';

/** Top-level statements of meow/build/dependencies.js and what they become: the same value, made on first use. */
const LAZY = [
  ['var libExports = requireLib$1();', 'var libExports = { codeFrameColumns: (...args) => requireLib$1().codeFrameColumns(...args) };'],
  [
    'var normalizeExports = requireNormalize();\nconst normalizePackageData = getDefaultExportFromCjs(normalizeExports);',
    'const normalizePackageData = (...args) => getDefaultExportFromCjs(requireNormalize())(...args);',
  ],
];

/** @type {import('esbuild').Plugin} */
const meowLoadsLazily = {
  name: 'meow-loads-lazily',
  setup(bundler) {
    bundler.onLoad({ filter: /[\\/]meow[\\/]build[\\/]dependencies\.js$/ }, async ({ path }) => {
      let contents = await readFile(path, 'utf8');
      for (const [eager, lazy] of LAZY) {
        if (!contents.includes(eager)) throw new Error(`meow's build has changed: '${eager.split('\n')[0]}' is not in ${path}; see scripts/bundle-cli.js`);
        contents = contents.replace(eager, lazy);
      }
      return { contents, loader: 'js' };
    });
  },
};

await build({
  entryPoints: ['dist/cli/main.js'],
  outfile: 'dist/cli/tcp-rx.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  alias: { rxjs: './node_modules/rxjs/dist/esm/index.js' },
  sourcemap: true,
  logLevel: 'warning',
  plugins: [meowLoadsLazily],
});
