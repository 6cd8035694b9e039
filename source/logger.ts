import { inspect } from 'node:util';

/** Severity of a log record. */
export type LogLevel = 'info' | 'warn' | 'error';

/** Where the server reports what it does: phases, and each misbehaving peer once. */
export interface Logger {
  /** How records are rendered, for callers that shape a record to fit (the metrics line); absent: structured. */
  readonly format?: 'text' | 'json';
  log(level: LogLevel, message: string, fields?: Readonly<Record<string, unknown>>): void;
}

/** Drops every record. */
export const silentLogger: Logger = { log() {} };

/**
 * One human-readable line per record: `<time> <level> <message> key=value…`.
 *
 * Messages and values may carry a peer's bytes (a `ProtocolError`'s reply
 * quoting the request, say), so control characters are written escaped
 * (`\n`, `\x1b`, `\u2028`): a record is always one line, and a peer can
 * neither forge a record nor drive the terminal that shows the log.
 */
export function textLogger(stream: NodeJS.WritableStream = process.stderr): Logger {
  return {
    format: 'text',
    log(level, message, fields) {
      let line = `${new Date().toISOString()} ${level} ${escapeControls(message)}`;
      for (const [key, value] of Object.entries(fields ?? {})) line += ` ${escapeControls(key)}=${textValue(value)}`;
      stream.write(line + '\n');
    },
  };
}

/**
 * One JSON object per line, for log shippers; an `Error` field as its stack.
 * Like the text logger's, its lines hold no raw control character: JSON's own
 * escapes cover C0, and DEL, C1 and the line separators are escaped too.
 */
export function jsonLogger(stream: NodeJS.WritableStream = process.stderr): Logger {
  return {
    format: 'json',
    log(level, message, fields) {
      const record: Record<string, unknown> = { time: new Date().toISOString(), level, message };
      for (const [key, value] of Object.entries(fields ?? {})) record[key] = value instanceof Error ? (value.stack ?? value.message) : value;
      stream.write(jsonLine(record) + '\n');
    },
  };
}

/** Control characters a terminal or a line-based reader acts on: C0 (line feed included), DEL, C1, U+2028/U+2029. */
const CONTROLS = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g;

/** The control characters JSON.stringify writes as they are. */
const LEFT_BY_JSON = /[\x7f-\x9f\u2028\u2029]/g;

const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `text` with each control character written as an escape: `\n`, `\x1b`, `\u2028`. */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, (character) => {
    const code = character.charCodeAt(0);
    return SHORT_ESCAPES[character] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`);
  });
}

/** `value` as a text record writes it: as it is, or quoted where it would blur the line; control characters escaped. */
export function textValue(value: unknown): string {
  if (value instanceof Error) return escapeControls(JSON.stringify(value.stack ?? value.message));
  const text = typeof value === 'string' ? value : json(value);
  // Quoted (and so escaped by JSON) where a space, quote, `=` or control character would blur the line.
  return escapeControls(/[\s"=\x00-\x1f\x7f-\x9f]/.test(text) ? JSON.stringify(text) : text);
}

/** `record` as one line of JSON with no raw control character, as {@link jsonLogger} writes it (without the line feed). */
export function jsonLine(record: Readonly<Record<string, unknown>>): string {
  return json(record).replace(LEFT_BY_JSON, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * `value` as JSON, whatever it holds: a BigInt as its digits, an object
 * inside itself (a cycle) as `"[Circular]"`, and where JSON still cannot say it (a
 * `toJSON` that throws) `util.inspect`'s rendering as a string. A user's
 * handler may throw anything, and logging it must not throw in turn.
 */
function json(value: unknown): string {
  // The objects from the root down to the one being written (a value seen twice side by side is no cycle).
  const ancestors: unknown[] = [];
  try {
    const text = JSON.stringify(value, function (this: unknown, _key, inner: unknown) {
      if (typeof inner === 'bigint') return inner.toString();
      if (typeof inner !== 'object' || inner === null) return inner;
      while (ancestors.length > 0 && ancestors.at(-1) !== this) ancestors.pop();
      if (ancestors.includes(inner)) return '[Circular]';
      ancestors.push(inner);
      return inner;
    });
    return text ?? JSON.stringify(inspect(value));
  } catch {
    return JSON.stringify(inspect(value, { breakLength: Infinity }));
  }
}
