function checkCount(what: string, name: string, value: unknown): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot ${what} as '${name}' must be a number: received ${typeof value} ${String(value)}`,
    );
  }
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(
      `Cannot ${what} as '${name}' must be a whole number: received ${value}`,
    );
  }
  return value;
}

/**
 * A counter of pending work that can be waited on until it reaches zero: Go's
 * `sync.WaitGroup`, except that a wait can be abandoned through an
 * {@linkcode AbortSignal}.
 *
 * @example Drain a worker pool under a deadline
 * ```ts
 * import { CountDown, Deadline } from "@lastcall/lastcall";
 *
 * const pending = new CountDown();
 * for (const ms of [10, 20, 30]) {
 *   pending.track(new Promise((resolve) => setTimeout(resolve, ms)));
 * }
 * const deadline = Deadline.after(1_000);
 * await pending.wait(deadline.signal);
 * console.log(pending.count); // 0
 * deadline[Symbol.dispose]();
 * ```
 */
export class CountDown {
  #count: number;
  #zero: { promise: Promise<void>; resolve: () => void } | undefined;

  /**
   * A counter starting at `count`.
   *
   * @param count The starting count; default 0.
   * @throws {TypeError} When `count` is not a number.
   * @throws {RangeError} When `count` is negative or not a whole number.
   */
  constructor(count: number = 0) {
    checkCount("create a CountDown", "count", count);
    if (count < 0) {
      throw new RangeError(
        `Cannot create a CountDown as 'count' must be >= 0: received ${count}`,
      );
    }
    this.#count = count;
  }

  /** The pending work. */
  get count(): number {
    return this.#count;
  }

  /**
   * Adds `delta` (default 1, may be negative) to the count. Reaching zero
   * resolves every waiter.
   *
   * @throws {TypeError} When `delta` is not a number.
   * @throws {RangeError} When `delta` is not a whole number, or the count would
   * go below zero; the count is then left unchanged.
   *
   * @example
   * ```ts
   * import { CountDown } from "@lastcall/lastcall";
   *
   * const pending = new CountDown();
   * pending.add(2);
   * pending.add(-2);
   * await pending.wait();
   * ```
   */
  add(delta: number = 1): void {
    checkCount("add to a CountDown", "delta", delta);
    const next = this.#count + delta;
    if (next < 0) {
      throw new RangeError(
        `Cannot add ${delta} to a CountDown as the count must stay >= 0: current value is ${this.#count}`,
      );
    }
    this.#count = next;
    if (next === 0 && this.#zero !== undefined) {
      this.#zero.resolve();
      this.#zero = undefined;
    }
  }

  /**
   * Subtracts one from the count: `add(-1)`.
   *
   * @throws {RangeError} When the count is already zero.
   *
   * @example
   * ```ts
   * import { CountDown } from "@lastcall/lastcall";
   *
   * const pending = new CountDown(1);
   * pending.done();
   * console.log(pending.count); // 0
   * ```
   */
  done(): void {
    this.add(-1);
  }

  /**
   * Waits until the count is zero.
   *
   * @param signal Abandons the wait: the promise rejects with `signal.reason`,
   * at once when it has already aborted. The count is not affected.
   * @returns A promise that resolves when the count reaches zero (at once when it is zero).
   *
   * @example Wait at most one second
   * ```ts
   * import { CountDown } from "@lastcall/lastcall";
   *
   * const pending = new CountDown(1);
   * setTimeout(() => pending.done(), 10);
   * await pending.wait(AbortSignal.timeout(1_000));
   * ```
   */
  wait(signal?: AbortSignal): Promise<void> {
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      return Promise.reject(
        new TypeError(
          `Cannot wait on a CountDown as 'signal' must be an AbortSignal: received ${
            String(signal)
          }`,
        ),
      );
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#count === 0) return Promise.resolve();
    if (this.#zero === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => resolve = r);
      this.#zero = { promise, resolve };
    }
    const zero = this.#zero.promise;
    if (signal === undefined) return zero;
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      zero.then(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      });
    });
  }

  /**
   * Counts a piece of work while it runs: `add()` now, `done()` when it
   * settles, whether it fulfils or rejects.
   *
   * @param work A promise, or a function that returns one (a synchronous throw
   * counts as a rejection).
   * @returns A promise that settles like `work`, after the count went down.
   *
   * @example
   * ```ts
   * import { CountDown } from "@lastcall/lastcall";
   *
   * const inFlight = new CountDown();
   * const body = await inFlight.track(async () => "done");
   * console.log(body, inFlight.count); // "done" 0
   * ```
   */
  track<T>(work: Promise<T> | (() => Promise<T>)): Promise<T> {
    this.add();
    let promise: Promise<T>;
    try {
      promise = Promise.resolve(typeof work === "function" ? work() : work);
    } catch (error) {
      promise = Promise.reject(error);
    }
    return promise.finally(() => this.done());
  }
}
