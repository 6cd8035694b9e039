import ansiEscapes from 'ansi-escapes';
import { filter, fromEvent, map, merge, type Observable } from 'rxjs';

/** Keys that leave the full-screen view: q, Q, and Ctrl-C (a byte, not a signal, in raw mode). */
const QUIT_KEYS = new Set(['q', 'Q', '\u0003']);

/** A terminal taken over for a full-screen view; {@link FullScreen.close} gives it back as it was. */
export interface FullScreen {
  /** Draws lines made for the terminal's current size; drawn again, newly made, when it is resized. */
  draw(render: (width: number, height: number) => string[]): void;
  /** Emits when the user asks to leave: a quit key, or SIGINT, SIGTERM or SIGHUP. */
  readonly quit$: Observable<string>;
  close(): void;
}

/**
 * Switches `output` to the alternate screen with the cursor hidden (the
 * escape codes from ansi-escapes) and `input` to raw mode, so that a key
 * press arrives at once and unechoed.
 */
export function openFullScreen(output: NodeJS.WriteStream, input: NodeJS.ReadStream): FullScreen {
  let render: ((width: number, height: number) => string[]) | undefined;
  const paint = (): void => {
    if (render === undefined) return;
    const lines = render(output.columns || 80, output.rows || 24);
    // Raw mode also turns off the tty's \n → \r\n: each line ends in both, erasing what was there.
    output.write(ansiEscapes.cursorTo(0, 0) + lines.map((line) => line + ansiEscapes.eraseEndLine).join('\r\n') + ansiEscapes.eraseDown);
  };
  output.write(ansiEscapes.enterAlternativeScreen + ansiEscapes.cursorHide + ansiEscapes.clearViewport);
  if (input.isTTY) input.setRawMode(true);
  input.resume();
  output.on('resize', paint);
  const keys$ = fromEvent(input, 'data', (chunk: Buffer) => chunk.toString('latin1')).pipe(filter((text) => [...text].some((key) => QUIT_KEYS.has(key))));
  const signals$ = merge(...(['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) => fromEvent(process, signal).pipe(map(() => signal))));
  let closed = false;
  return {
    draw(next) {
      render = next;
      paint();
    },
    quit$: merge(keys$, signals$),
    close() {
      if (closed) return;
      closed = true;
      output.off('resize', paint);
      if (input.isTTY) input.setRawMode(false);
      input.pause();
      output.write(ansiEscapes.cursorShow + ansiEscapes.exitAlternativeScreen);
    },
  };
}
