// @ts-check
/**
 * Preloaded into a server under test (`node --expose-gc --import ./perf/heap-probe.js …`) by the
 * idle scenarios of `npm run perf`: on SIGUSR2 it collects garbage fully and writes the V8 heap in
 * use, in bytes, to the file named by `PERF_HEAP_PROBE_FILE`. Read before and while connections
 * are held, it gives the heap each one costs. No server code knows of it; both servers get it.
 */
import { writeFileSync } from 'node:fs';

const file = process.env.PERF_HEAP_PROBE_FILE;
const collect = /** @type {(() => void) | undefined} */ (globalThis.gc);
if (file !== undefined && collect !== undefined) {
  process.on('SIGUSR2', () => {
    // Twice: the first full collection may leave weakly held objects for the second.
    collect();
    collect();
    writeFileSync(file, `${process.memoryUsage().heapUsed}\n`);
  });
}
