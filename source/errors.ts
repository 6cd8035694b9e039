/**
 * An error that a protocol answers on the wire before closing the connection.
 *
 * Operators signal bad input by erroring their stream with a `ProtocolError`;
 * the connection writes every reply produced before it, then `reply`, then
 * closes, and counts the close under `reason`. Any other error closes the
 * connection with `ERR internal`.
 *
 * @example
 * ```ts
 * throw new ProtocolError('ERR unknown command\n', 'bad-command');
 * ```
 */
export class ProtocolError extends Error {
  /** Bytes sent to the peer before the connection closes. */
  readonly reply: string;
  /**
   * Close reason, as counted in metrics. Give it a fixed name such as
   * `bad-command`: a reason has a count (and a metric label) of its own only if
   * it matches `[a-z0-9_-]{1,64}` and is among the first 32 custom reasons
   * seen; any other counts as `other`.
   */
  readonly reason: string;

  constructor(reply: string, reason: string, options?: ErrorOptions) {
    super(reply.trim(), options);
    this.name = 'ProtocolError';
    this.reply = reply;
    this.reason = reason;
  }
}

/** A frame exceeded the framing's maximum length. */
export class FrameTooLongError extends ProtocolError {
  readonly maxLength: number;

  constructor(maxLength: number, reply = 'ERR line too long\n') {
    super(reply, 'frame-too-long');
    this.name = 'FrameTooLongError';
    this.maxLength = maxLength;
  }
}

/** The input ended in the middle of a frame. */
export class IncompleteFrameError extends ProtocolError {
  constructor(reply = 'ERR incomplete line\n') {
    super(reply, 'incomplete-frame');
    this.name = 'IncompleteFrameError';
  }
}

/** The input broke the framing's rules: a length out of range, a byte where another was due. */
export class MalformedFrameError extends ProtocolError {
  constructor(reply = 'ERR malformed frame\n') {
    super(reply, 'malformed-frame');
    this.name = 'MalformedFrameError';
  }
}
