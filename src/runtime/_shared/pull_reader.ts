// Pull reads over a push-style socket (node:net, Bun.listen): chunks wait
// here until asked for; past a high-water mark the socket is paused, so the
// rest stays in the kernel. Pausing at the first waiting chunk instead made
// every pipelined read pay a pause and a resume (a third of Node's
// throughput at redis-benchmark -P 16).

/** Where a read's chunk goes: null once the peer closed. */
type Deliver = (chunk: Uint8Array | null) => void;

/** Bytes that may wait here before the socket is paused. */
const HIGH_WATER_MARK = 64 * 1024;

/** Turns pushed chunks into `read()` calls. */
export class PullReader {
  readonly #pause: () => void;
  readonly #resume: () => void;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #paused = false;
  #reader: Deliver | undefined;
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
    this.#queued += chunk.byteLength;
    if (this.#queued > HIGH_WATER_MARK && !this.#paused) {
      this.#paused = true;
      this.#pause();
    }
  }

  /** The peer closed, reset, or the socket is gone: reads end with null. */
  end(): void {
    this.#ended = true;
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.(null);
  }

  /**
   * Asks for the next chunk: `deliver` gets it, or null once ended. A waiting
   * chunk is delivered in a microtask, never before this returns.
   */
  read(deliver: Deliver): void {
    const chunk = this.#queue.shift();
    if (chunk !== undefined) {
      this.#queued -= chunk.byteLength;
      if (this.#paused && this.#queued <= HIGH_WATER_MARK) {
        this.#paused = false;
        this.#resume();
      }
      queueMicrotask(() => deliver(chunk));
    } else if (this.#ended) {
      queueMicrotask(() => deliver(null));
    } else {
      this.#reader = deliver;
    }
  }
}
