import { formatAddress } from '../address.js';
import { jsonLine, textValue } from '../logger.js';
import type { ServerEvent } from '../server/events.js';

/** What the access log writes a line for: a served connection that closed. */
export type ClosedEvent = Extract<ServerEvent, { type: 'closed' }>;

/** How access log lines are written: `key=value` text, or one JSON object each. */
export type AccessLogFormat = 'text' | 'json';

/**
 * One access log line (without its line feed) for a connection that closed
 * at `time`.
 *
 * Text, as the text logger writes its records, with the duration in ms:
 * `2025-06-01T12:00:00.000Z peer=127.0.0.1:53422 duration=12.345ms in=12 out=84 requests=2 reason=end`.
 * JSON, for log shippers, with the duration a number of ms:
 * `{"time":"2025-06-01T12:00:00.000Z","address":"127.0.0.1","port":53422,"duration":12.345,"bytesIn":12,"bytesOut":84,"requests":2,"reason":"end"}`.
 * A peer unknown (reset before it was served) is `peer=-`, or `null` address
 * and port. Both are escaped as the loggers' are: a custom close reason, or
 * an address a proxy claimed, cannot break or forge a line.
 */
export function accessLogLine(event: ClosedEvent, format: AccessLogFormat, time: Date): string {
  const { peer } = event;
  const duration = Math.round(event.duration * 1000) / 1000;
  if (format === 'json') {
    return jsonLine({
      time: time.toISOString(),
      address: peer.address ?? null,
      port: peer.port ?? null,
      duration,
      bytesIn: event.bytesIn,
      bytesOut: event.bytesOut,
      requests: event.requests,
      reason: event.reason,
    });
  }
  const who = peer.address === undefined || peer.port === undefined ? '-' : textValue(formatAddress({ address: peer.address, port: peer.port }));
  return `${time.toISOString()} peer=${who} duration=${duration.toFixed(3)}ms in=${event.bytesIn} out=${event.bytesOut} requests=${event.requests} reason=${textValue(event.reason)}`;
}
