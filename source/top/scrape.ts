import { get } from 'node:http';
import type { Address } from '../address.js';
import { parseExposition } from './exposition.js';
import { readProcesses, type Reading } from './reading.js';

/** The outcome of one scrape: readings by process, or why there are none. */
export type Scrape = { readonly ok: true; readonly processes: Map<string, Reading> } | { readonly ok: false; readonly error: string };

/** More than any tcp-rx endpoint writes: an answer this long is not one. */
const MAX_BODY = 4 * 1024 * 1024;

/**
 * GETs `http://<address>/metrics` and reads it; never rejects. A server that
 * does not answer within `timeout` ms, answers other than 200, or answers
 * something that is not tcp-rx metrics is a failed scrape saying which.
 */
export function scrape({ host = '127.0.0.1', port }: Address, timeout: number): Promise<Scrape> {
  return new Promise((resolve) => {
    const fail = (error: string): void => resolve({ ok: false, error });
    const request = get({ host, port, path: '/metrics', timeout, headers: { accept: 'text/plain' } }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        fail(`HTTP ${response.statusCode} ${response.statusMessage ?? ''}`.trim());
        return;
      }
      const chunks: Buffer[] = [];
      let length = 0;
      response.on('data', (chunk: Buffer) => {
        length += chunk.length;
        if (length > MAX_BODY) request.destroy(new Error(`answer longer than ${MAX_BODY / 1024 ** 2} MiB`));
        else chunks.push(chunk);
      });
      response.on('end', () => {
        try {
          resolve({ ok: true, processes: readProcesses(parseExposition(Buffer.concat(chunks).toString('utf8'))) });
        } catch (error) {
          fail(`garbage: ${(error as Error).message}`);
        }
      });
      response.on('error', (error) => fail(error.message));
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeout} ms`)));
    request.on('error', (error: NodeJS.ErrnoException) => fail(error.code === 'ECONNREFUSED' ? 'connection refused' : error.message));
  });
}
