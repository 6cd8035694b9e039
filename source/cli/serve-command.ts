import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { parseCidrList } from '../access/access-control.js';
import { runWorker } from '../cluster/worker.js';
import { UsageError } from './flags.js';
import { formatAddress, parseAddress } from '../address.js';
import { jsonLogger, textLogger } from '../logger.js';
import { defaults, serve, type Server } from '../server/server.js';
import type { Command } from './command.js';
import { parseCount, parseDuration, parseSize } from './units.js';
import { proxyProtocolDefaults } from '../transport/proxy-protocol.js';
import { certificateFiles, parseClientAuth, parseFileList, parseTlsVersion, positive, tlsOptions } from './tls-flags.js';

/** Linux holds the keep-alive delay in whole seconds, at most 32,767 (MAX_TCP_KEEPIDLE). */
const KEEPALIVE = { min: 1_000, max: 32_767_000 };
/** Requests one connection may have unanswered: a million is already far past any pipeline's depth. */
const PENDING = { max: 1_000_000 };
/** Connections: more than the kernel will give one process is a mistake. */
const CONNECTIONS = { max: 10_000_000 };
/** Worker processes: past a few per core they only compete for it. */
const PROCESSES = { max: 1024 };

const flags = {
  addr: { description: 'address to listen on: host:port, :port or [::1]:port', default: ':8080', parse: parseAddress },
  processes: { description: 'worker processes sharing the port, or auto (one per core); 1 = no cluster (SIGHUP then reloads certificates, else restarts the workers one by one)', default: '1', parse: parseProcesses },
  workers: { description: 'connections served at once (the worker pool)', default: String(defaults.workers), parse: (t: string) => parseCount(t, CONNECTIONS) },
  queue: { description: 'connections that may wait for a worker; past it: ERR server busy', default: String(defaults.queue), parse: (t: string) => parseCount(t, { ...CONNECTIONS, min: 0 }) },
  queueTimeout: { description: 'longest wait in the queue; then ERR server busy (0 = no limit)', default: '10s', parse: (t: string) => parseDuration(t) },
  maxPending: { description: 'requests of a connection unanswered, past which it stops reading', default: String(defaults.maxPending), parse: (t: string) => parseCount(t, PENDING) },
  maxPendingBytes: { description: 'bytes of requests unanswered, past which a connection stops reading', default: '1MiB', parse: (t: string) => parseSize(t, { min: 1 }) },
  replyBudget: { description: 'bytes of replies waiting to be written, past which no more requests are taken', default: '64KiB', parse: (t: string) => parseSize(t, { min: 1 }) },
  backlog: { description: 'connections the kernel holds before they are accepted (capped by somaxconn)', default: String(defaults.backlog), parse: (t: string) => parseCount(t) },
  maxLine: { description: 'longest request line; longer: ERR line too long', default: '64KiB', parse: (t: string) => parseSize(t, { min: 1 }) },
  keepalive: { description: 'TCP keep-alive probe delay, 1s to 32767s (0 = off)', default: '30s', parse: (t: string) => parseDuration(t, KEEPALIVE) },
  idleTimeout: { description: 'no bytes either way for this long closes a connection (0 = off)', default: '60s', parse: (t: string) => parseDuration(t) },
  readTimeout: { description: 'a request line unfinished for this long: ERR read timeout (0 = off)', default: '30s', parse: (t: string) => parseDuration(t) },
  writeTimeout: { description: 'replies stuck unwritten for this long drop the connection (0 = off)', default: '30s', parse: (t: string) => parseDuration(t) },
  drainTimeout: { description: 'on SIGTERM/SIGINT, time given to connections to finish', default: '30s', parse: (t: string) => parseDuration(t) },
  logFormat: { description: 'log lines as text or json', default: 'text', parse: parseLogFormat },
  metricsInterval: { description: 'time between metrics log lines (0 = none)', default: '10s', parse: (t: string) => parseDuration(t) },
  metricsAddr: { description: 'serve Prometheus metrics on http://host:port/metrics (default: off)', parse: parseAddress },
  tlsCert: { description: 'serve TLS with this PEM certificate chain; several, comma-separated, each serve the names they hold (SNI), the first by default (SIGHUP re-reads them)', parse: parseFileList },
  tlsKey: { description: 'the PEM private key of each --tls-cert, comma-separated in the same order', parse: parseFileList },
  tlsCa: { description: 'PEM CA certificate(s) that client certificates are verified against, comma-separated', parse: parseFileList },
  tlsClientAuth: { description: 'client certificates: none, request (verified when shown) or require', default: 'none', parse: parseClientAuth },
  tlsMinVersion: { description: 'oldest TLS version accepted: TLSv1.2 or TLSv1.3', default: 'TLSv1.2', parse: parseTlsVersion },
  tlsHandshakeTimeout: { description: 'a TLS handshake unfinished for this long closes the connection', default: '10s', parse: positive(parseDuration) },
  allow: { description: 'serve only peers in these address ranges (CIDR, comma-separated: 10.0.0.0/8,::1)', parse: parseCidrList },
  deny: { description: 'close peers in these address ranges at once, unread (CIDR, comma-separated; wins over --allow)', parse: parseCidrList },
  maxConnsPerIp: { description: 'connections at once from one address; past it: ERR too many connections (0 = no limit)', default: '0', parse: (t: string) => parseCount(t, { min: 0 }) },
  accessLog: { description: 'one line per closed connection, in --log-format, appended to this file (- = stdout); SIGUSR1 reopens it (logrotate)', parse: parseAccessLog },
  proxyProtocol: { description: 'every connection starts with a PROXY header (v1 or v2: HAProxy send-proxy, send-proxy-v2) naming the client', boolean: true, default: 'false', parse: Boolean },
  trustedProxies: { description: 'with --proxy-protocol: peers whose PROXY headers are believed, others closed (CIDR, comma-separated; default 127.0.0.0/8,::1)', parse: parseCidrList },
  proxyHeaderTimeout: { description: 'with --proxy-protocol: a PROXY header unfinished for this long closes the connection', default: '3s', parse: positive(parseDuration) },
};

/** A file's path, or `-` for standard output. */
function parseAccessLog(text: string): string {
  if (text.trim() === '') throw new RangeError(`'${text}' names no file (- is standard output)`);
  return text;
}

function parseProcesses(text: string): number {
  if (text === 'auto') return availableParallelism();
  if (!/^\s*\d+\s*$/.test(text)) throw new RangeError(`'${text}' is not auto or a whole number ≥ 1`);
  return parseCount(text, PROCESSES);
}

function parseLogFormat(text: string): 'text' | 'json' {
  if (text === 'text' || text === 'json') return text;
  throw new RangeError(`'${text}' is not text or json`);
}

/** Exit codes of `tcp-rx serve`, beyond 0 (clean shutdown), 1 (failure) and 2 (usage). */
export const EXIT_FORCED = 3;

export const serveCommand: Command<typeof flags> = {
  name: 'serve',
  usage: 'serve [flags]',
  summary: 'serve the reference echo protocol',
  flags,
  async run(options) {
    const logger = options.logFormat === 'json' ? jsonLogger() : textLogger();
    const certificates = certificateFiles(options);
    if (options.trustedProxies !== undefined && !options.proxyProtocol) throw new UsageError('--trusted-proxies needs --proxy-protocol');
    const transport = {
      ...(certificates === undefined ? {} : { tls: options.tlsMinVersion + '+', clientAuth: options.tlsClientAuth }),
      ...(options.proxyProtocol ? { proxyProtocol: (options.trustedProxies ?? proxyProtocolDefaults.trustedProxies).join(',') } : {}),
    };
    // The cluster's primary, the metrics endpoint (node:http) and TLS (node:tls, node:crypto) are loaded only when asked for.
    if (cluster.isPrimary && options.processes > 1) {
      const { runPrimary } = await import('../cluster/primary.js');
      const ending = await runPrimary({
        processes: options.processes,
        addr: options.addr,
        logger,
        metricsInterval: options.metricsInterval,
        drainTimeout: options.drainTimeout,
        ...(options.metricsAddr === undefined ? {} : { metricsAddr: options.metricsAddr }),
        fields: { workers: options.workers, queue: options.queue, ...transport },
        // Each worker writes its own lines to the access log, so each reopens it.
        forward: options.accessLog === undefined ? [] : ['SIGUSR1'],
      });
      if (ending.kind === 'failed') return ending.code;
      return ending.clean ? 0 : EXIT_FORCED;
    }
    const tls = certificates === undefined ? undefined : await tlsOptions(options, certificates);
    const serveOptions = {
      ...options.addr,
      workers: options.workers,
      queue: options.queue,
      queueTimeout: options.queueTimeout,
      maxPending: options.maxPending,
      maxPendingBytes: options.maxPendingBytes,
      replyBudget: options.replyBudget,
      backlog: options.backlog,
      maxLine: options.maxLine,
      keepAlive: options.keepalive,
      idleTimeout: options.idleTimeout,
      readTimeout: options.readTimeout,
      writeTimeout: options.writeTimeout,
      drainTimeout: options.drainTimeout,
      metricsInterval: options.metricsInterval,
      logger,
      ...(tls === undefined ? {} : { tls }),
      ...(options.allow === undefined ? {} : { allow: options.allow }),
      ...(options.deny === undefined ? {} : { deny: options.deny }),
      maxConnsPerIp: options.maxConnsPerIp,
      ...(options.accessLog === undefined ? {} : { accessLog: options.accessLog }),
      ...(options.proxyProtocol ? { proxyProtocol: { trustedProxies: options.trustedProxies, headerTimeout: options.proxyHeaderTimeout } } : {}),
    };
    // SIGHUP re-reads the certificate files: new handshakes use them, open connections keep theirs.
    const reload = async (server: Server): Promise<void> => {
      try {
        const { readCertificates } = await import('../transport/certificates.js');
        server.setSecureContext(readCertificates(certificates!));
        logger.log('info', 'SIGHUP: certificates reloaded', { certs: certificates!.certs.join(',') });
      } catch (error) {
        logger.log('error', 'SIGHUP: certificate reload failed; serving on with the certificates in use', { reason: (error as Error).message });
      }
    };
    // SIGUSR1 (logrotate's postrotate) opens the access log's path again. Listening for it also keeps Node from starting its inspector on it.
    const reopen = (server: Server): void => {
      server.reopenAccessLog().then(
        () => logger.log('info', 'SIGUSR1: access log reopened', { accessLog: options.accessLog }),
        (error: unknown) => logger.log('error', 'SIGUSR1: access log reopen failed; writing on to the file in use', { reason: (error as Error).message }),
      );
    };
    /** Installs what SIGHUP and SIGUSR1 do to `server` in this process; returns how to remove them. */
    const handleSignals = (server: Server): (() => void) => {
      const onHangup = (): void => void reload(server);
      const onUser1 = (): void => reopen(server);
      if (certificates !== undefined) process.on('SIGHUP', onHangup);
      if (options.accessLog !== undefined) process.on('SIGUSR1', onUser1);
      return () => {
        process.off('SIGHUP', onHangup);
        process.off('SIGUSR1', onUser1);
      };
    };
    if (cluster.isWorker) {
      const clean = await runWorker(serveOptions, { handleSignals });
      return clean ? 0 : EXIT_FORCED;
    }
    const server = await serve(serveOptions);
    logger.log('info', `listening on ${formatAddress(server.address)}`, { workers: options.workers, queue: options.queue, ...transport });
    if (options.metricsAddr) {
      // Closes itself with the server.
      const { serveMetrics } = await import('../metrics/metrics-endpoint.js');
      const endpoint = await serveMetrics(server, options.metricsAddr, { logger });
      logger.log('info', `metrics on http://${formatAddress(endpoint.address)}/metrics`);
    }
    const unhandleSignals = handleSignals(server);
    return new Promise<number>((resolve) => {
      const stop = (signal: NodeJS.Signals): void => {
        logger.log('info', `${signal}: shutting down`, { drainTimeout: `${options.drainTimeout}ms` });
        process.once('SIGTERM', force);
        process.once('SIGINT', force);
        void server.close().then(({ destroyed }) => {
          unhandleSignals();
          resolve(destroyed > 0 ? EXIT_FORCED : 0);
        });
      };
      const force = (signal: NodeJS.Signals): void => {
        logger.log('warn', `${signal} again: exiting without draining`);
        resolve(EXIT_FORCED);
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
  },
};
