/**
 * tcp-rx: a reactive TCP server framework. Connections are observables,
 * protocols are operator pipelines.
 *
 * @packageDocumentation
 */
export { serve, referenceProtocol, defaults, type ServeOptions, type Server, type ShutdownResult } from './server/server.js';
export type { Protocol } from './server/connection.js';
export { stateless } from './server/stateless.js';
export type { Reply } from './server/writer.js';
export { allocateReply } from './server/reply-memory.js';
export type { ServerEvent, CloseReason, RejectReason, HandshakeFailure, ProxyFailure } from './server/events.js';
export { tlsDefaults, type ServeTlsOptions, type TlsCertificates } from './transport/tls-transport.js';
export { tlsPeer, type TlsPeer } from './transport/tls-peer.js';
export { proxyProtocolDefaults, proxyInfo, type ProxyProtocolOptions } from './transport/proxy-protocol.js';
export { parseProxyHeader, V1_MAX_LENGTH, V2_MAX_LENGTH, type ParsedProxyHeader, type ProxyHeaderError, type ProxyInfo, type ProxyAddress, type ProxyTlv, type ProxySsl } from './transport/proxy-header.js';
export { peerOf, type Peer } from './transport/peer.js';
export { readCertificates, certificateNames, type CertificateFiles } from './transport/certificates.js';
export { AccessControl, parseCidr, type AccessRules, type Cidr } from './access/access-control.js';
export { lines, type LinesOptions } from './framing/lines.js';
export { delimited, type DelimitedOptions } from './framing/delimited.js';
export { fixedLength } from './framing/fixed-length.js';
export { lengthField, type LengthFieldOptions, type LengthFieldSize } from './framing/length-field.js';
export { lengthPrefixed, type LengthPrefixedOptions } from './framing/length-prefixed.js';
export { resp, type RespOptions } from './framing/resp.js';
export { respReply, type RespValue } from './framing/resp-reply.js';
export type { FramingOptions } from './framing/frame-decoder.js';
export { BufferPool, defaultBufferPool } from './framing/buffer-pool.js';
export { echo, echoReply } from './protocols/echo.js';
export { Clock, clock } from './protocols/clock.js';
export { ProtocolError, FrameTooLongError, IncompleteFrameError, MalformedFrameError } from './errors.js';
export { connectionContext, type ConnectionContext } from './connection-context.js';
export { accessLogDefaults, type AccessLogOptions, type AccessLogTarget } from './access-log/access-log.js';
export { accessLogLine, type AccessLogFormat } from './access-log/access-log-line.js';
export type { MetricsSnapshot } from './metrics/snapshot.js';
export type { MetricsSource } from './metrics/metrics.js';
export { metricsLine, metricsFields } from './metrics/log-line.js';
export { prometheusText, PROMETHEUS_CONTENT_TYPE } from './metrics/prometheus.js';
export { readiness, type Readiness } from './metrics/readiness.js';
export { serveMetrics, type MetricsEndpoint, type MetricsEndpointOptions } from './metrics/metrics-endpoint.js';
export { textLogger, jsonLogger, silentLogger, type Logger, type LogLevel } from './logger.js';
export { rateLimited, type RateLimitOptions, type RateLimitedLogger } from './rate-limited-logger.js';
export { connect, type ConnectOptions } from './client/connect.js';
export { ClientConnection, type RequestOptions } from './client/client-connection.js';
export { Pool, type PoolOptions } from './client/pool.js';
export {
  ClientError,
  ConnectionRefusedError,
  ConnectTimeoutError,
  ConnectionClosedError,
  ConnectionResetError,
  RequestTimeoutError,
} from './client/errors.js';
export { parseAddress, formatAddress, type Address } from './address.js';
export { settle } from './operators/settle.js';
export { operator, type OperatorHandlers } from './operators/operator.js';
