/**
 * Why a client request or connection failed. Every error names the server's
 * address, so a log line says which server refused, reset or went silent.
 */
export class ClientError extends Error {
  /** The server, as `host:port`. */
  readonly address: string;

  constructor(message: string, address: string, options?: ErrorOptions) {
    super(`${message} (${address})`, options);
    this.name = 'ClientError';
    this.address = address;
  }
}

/** Nothing listens at the address: the connect attempt was refused. */
export class ConnectionRefusedError extends ClientError {
  constructor(address: string, options?: ErrorOptions) {
    super('connection refused', address, options);
    this.name = 'ConnectionRefusedError';
  }
}

/** The connection was not established within the connect timeout. */
export class ConnectTimeoutError extends ClientError {
  constructor(address: string, timeout: number) {
    super(`no connection within ${timeout} ms`, address);
    this.name = 'ConnectTimeoutError';
  }
}

/**
 * The connection closed while requests were still waiting for replies, or a
 * request was made on a closed connection.
 */
export class ConnectionClosedError extends ClientError {
  constructor(message = 'connection closed', address: string, options?: ErrorOptions) {
    super(message, address, options);
    this.name = 'ConnectionClosedError';
  }
}

/** The connection was reset (or broke) rather than closed in order. */
export class ConnectionResetError extends ConnectionClosedError {
  constructor(address: string, options?: ErrorOptions) {
    super('connection reset', address, options);
    this.name = 'ConnectionResetError';
  }
}

/** A request got no reply within its timeout. The connection stays usable. */
export class RequestTimeoutError extends ClientError {
  constructor(address: string, timeout: number) {
    super(`no reply within ${timeout} ms`, address);
    this.name = 'RequestTimeoutError';
  }
}

/** The client error for a socket error: refused and reset by name, anything else wrapped. */
export function clientError(error: NodeJS.ErrnoException, address: string): ClientError {
  switch (error.code) {
    case 'ECONNREFUSED':
      return new ConnectionRefusedError(address, { cause: error });
    case 'ECONNRESET':
    case 'EPIPE':
      return new ConnectionResetError(address, { cause: error });
    default:
      return new ClientError(error.message, address, { cause: error });
  }
}
