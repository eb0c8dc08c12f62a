// Pull reads over a push-style socket (node:net, Bun.listen): at most one
// chunk waits here; while it does the socket is paused, so the rest stays in
// the kernel, and bytes nobody asks for are never read.

/** Turns pushed chunks into `read()` calls. */
export class PullReader {
  readonly #pause: () => void;
  readonly #resume: () => void;
  #queue: Uint8Array[] = [];
  #reader: ((chunk: Uint8Array | null) => void) | undefined;
  #ended = false;

  constructor(pause: () => void, resume: () => void) {
    this.#pause = pause;
    this.#resume = resume;
  }

  /** A chunk arrived from the peer. */
  push(chunk: Uint8Array): void {
    const reader = this.#reader;
    if (reader !== undefined) {
      this.#reader = undefined;
      reader(chunk);
      return;
    }
    this.#queue.push(chunk);
    this.#pause();
  }

  /** The peer closed, reset, or the socket is gone: reads end with null. */
  end(): void {
    this.#ended = true;
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.(null);
  }

  /** The next chunk, or null once ended. */
  read(): Promise<Uint8Array | null> {
    const chunk = this.#queue.shift();
    if (chunk !== undefined) {
      if (this.#queue.length === 0) this.#resume();
      return Promise.resolve(chunk);
    }
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve) => this.#reader = resolve);
  }
}
