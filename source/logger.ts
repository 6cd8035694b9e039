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

/** One human-readable line per record: `<time> <level> <message> key=value…`. */
export function textLogger(stream: NodeJS.WritableStream = process.stderr): Logger {
  return {
    format: 'text',
    log(level, message, fields) {
      let line = `${new Date().toISOString()} ${level} ${message}`;
      for (const [key, value] of Object.entries(fields ?? {})) line += ` ${key}=${format(value)}`;
      stream.write(line + '\n');
    },
  };
}

/** One JSON object per line, for log shippers. */
export function jsonLogger(stream: NodeJS.WritableStream = process.stderr): Logger {
  return {
    format: 'json',
    log(level, message, fields) {
      const record: Record<string, unknown> = { time: new Date().toISOString(), level, message };
      for (const [key, value] of Object.entries(fields ?? {})) record[key] = value instanceof Error ? value.stack : value;
      stream.write(JSON.stringify(record) + '\n');
    },
  };
}

function format(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.stack ?? value.message);
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return /[\s"=]/.test(text) ? JSON.stringify(text) : text;
}
