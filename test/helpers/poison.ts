import type { Test } from 'tap';
import { BufferPool, type Server } from '../../source/index.js';
import { READ_BUFFER_SIZE, sharedRead } from '../../source/server/shared-read-buffer.js';

/** The byte lent memory is overwritten with once it is given back: any reply that shows it leaked. */
export const POISON = 0x21; // '!'

/**
 * Overwrites the shared read buffer after every read of `server`, so that a
 * frame or chunk kept past its read shows `!` instead of its bytes (or
 * another connection's).
 */
export function poisonReadsOf(t: Test, server: Server): void {
  const subscription = server.events$.subscribe((event) => {
    if (event.type === 'read') sharedRead(READ_BUFFER_SIZE).fill(POISON);
  });
  t.teardown(() => subscription.unsubscribe());
}

/** A pool whose blocks are overwritten as they are given back. */
export class PoisonedPool extends BufferPool {
  override release(block: Buffer): void {
    block.fill(POISON);
    super.release(block);
  }
}
