/** A member of {@link ActiveConnections}: it carries its own links. */
export interface ActiveLinks<T> {
  /** The member added just after it (nearer the head), while it is a member. */
  activePrevious: T | undefined;
  /** The member added just before it, while it is a member. */
  activeNext: T | undefined;
}

/**
 * The connections being served, as a list threaded through the connections
 * themselves: two fields of each (16 B) rather than an entry in a `Set`,
 * whose table costs ~33 B a member at 10,000 (perf/NOTES.md, issue 15).
 * What the server needs of it is a `Set`'s: `add`, `delete` (of a member or
 * not), `size`, and walking the members, during which a member may delete
 * itself.
 */
export class ActiveConnections<T extends ActiveLinks<T>> implements Iterable<T> {
  #head: T | undefined = undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Adds `member`, which must not be a member already. */
  add(member: T): void {
    member.activePrevious = undefined;
    member.activeNext = this.#head;
    if (this.#head !== undefined) this.#head.activePrevious = member;
    this.#head = member;
    this.#size++;
  }

  /** Removes `member`; nothing happens if it is not a member (a second call, say). */
  delete(member: T): void {
    const { activePrevious: previous, activeNext: next } = member;
    if (previous === undefined && this.#head !== member) return;
    if (previous === undefined) this.#head = next;
    else previous.activeNext = next;
    if (next !== undefined) next.activePrevious = previous;
    member.activePrevious = undefined;
    member.activeNext = undefined;
    this.#size--;
  }

  /**
   * Visits every member, the newest first; `visit` may delete the member it
   * is given. A loop, not an iterator: the timeout sweeper walks every
   * connection each second, and an iterator would leave garbage per member.
   */
  forEach(visit: (member: T) => void): void {
    let member = this.#head;
    while (member !== undefined) {
      const next: T | undefined = member.activeNext;
      visit(member);
      member = next;
    }
  }

  /** The members, newest first; the member just yielded may be deleted before the next is asked for. */
  *[Symbol.iterator](): Iterator<T> {
    let member = this.#head;
    while (member !== undefined) {
      const next: T | undefined = member.activeNext;
      yield member;
      member = next;
    }
  }
}
