import { _callAt } from "./_timer.ts";

/** Options of {@linkcode Deadline.after} and {@linkcode Deadline.at}. */
export interface DeadlineOptions {
  /** A parent signal: when it aborts first, the deadline aborts with its reason. */
  signal?: AbortSignal;
}

function timeoutError(): DOMException {
  return new DOMException("The deadline has passed", "TimeoutError");
}

function checkSignal(
  method: string,
  options: DeadlineOptions | undefined,
): AbortSignal | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot create a deadline with ${method} as 'options' must be an object: received ${
        String(options)
      }`,
    );
  }
  const { signal } = options;
  if (signal === undefined || signal instanceof AbortSignal) return signal;
  throw new TypeError(
    `Cannot create a deadline with ${method} as 'options.signal' must be an AbortSignal: received ${
      String(signal)
    }`,
  );
}

/**
 * A point in time after which work should stop, as an {@linkcode AbortSignal}:
 * Go's `context.WithDeadline`. Its signal aborts with a `TimeoutError` when the
 * time comes, or earlier with the parent signal's own reason.
 *
 * The pending timer never keeps a process alive, and any delay works, also one
 * beyond the 2^31 - 1 ms a single platform timer allows.
 *
 * @example Bound a piece of work by five seconds
 * ```ts
 * import { Deadline } from "@lastcall/lastcall";
 *
 * const deadline = Deadline.after(5_000);
 * const response = await fetch("http://127.0.0.1:1/", { signal: deadline.signal })
 *   .catch(() => undefined);
 * console.log(response?.status, deadline.remaining() <= 5_000);
 * deadline[Symbol.dispose](); // or `using deadline = ...` where `using` parses (not Node 22)
 * ```
 */
export class Deadline implements Disposable {
  /** Aborts at {@linkcode Deadline.time} with a `TimeoutError`, or earlier with the parent's reason. */
  readonly signal: AbortSignal;
  /** The time the deadline passes, in epoch ms; `Infinity` for one that never does. */
  readonly time: number;
  #controller = new AbortController();
  #release: () => void;

  private constructor(time: number, parent: AbortSignal | undefined) {
    this.time = time;
    this.signal = this.#controller.signal;
    if (parent?.aborted) {
      this.#controller.abort(parent.reason);
      this.#release = () => {};
      return;
    }
    // #release is in place before the timer starts, since a time already past
    // aborts synchronously inside _callAt.
    let cancelTimer = (): void => {};
    const onParentAbort = (): void => this.#abort(parent!.reason);
    this.#release = () => {
      cancelTimer();
      parent?.removeEventListener("abort", onParentAbort);
    };
    parent?.addEventListener("abort", onParentAbort, { once: true });
    if (time !== Infinity) cancelTimer = _callAt(time, () => this.#abort(timeoutError()));
  }

  /**
   * A deadline `ms` milliseconds from now.
   *
   * @param ms The delay; `0` or less is already expired, `Infinity` never expires.
   * @param options.signal A parent signal; the deadline aborts when it does.
   * @returns The new deadline.
   * @throws {TypeError} When `ms` is not a number or `options.signal` not an AbortSignal.
   * @throws {RangeError} When `ms` is NaN.
   *
   * @example A grace period for shutdown
   * ```ts
   * import { Deadline } from "@lastcall/lastcall";
   *
   * const deadline = Deadline.after(10_000);
   * deadline.signal.addEventListener("abort", () => console.log("time is up"));
   * deadline[Symbol.dispose]();
   * ```
   */
  static after(ms: number, options?: DeadlineOptions): Deadline {
    if (typeof ms !== "number") {
      throw new TypeError(
        `Cannot create a deadline as 'ms' must be a number: received ${typeof ms} ${String(ms)}`,
      );
    }
    if (Number.isNaN(ms)) {
      throw new RangeError("Cannot create a deadline as 'ms' must not be NaN: received NaN");
    }
    const parent = checkSignal("Deadline.after()", options);
    return new Deadline(ms === Infinity ? Infinity : Date.now() + ms, parent);
  }

  /**
   * A deadline at a point in time.
   *
   * @param time Epoch ms or a `Date`; a time in the past is already expired.
   * @param options.signal A parent signal; the deadline aborts when it does.
   * @returns The new deadline.
   * @throws {TypeError} When `time` is neither a number nor a Date, or `options.signal` not an AbortSignal.
   * @throws {RangeError} When `time` is NaN or an invalid Date.
   *
   * @example Stop at a wall-clock time
   * ```ts
   * import { Deadline } from "@lastcall/lastcall";
   *
   * const deadline = Deadline.at(new Date(Date.now() + 60_000));
   * console.log(deadline.expired); // false
   * deadline[Symbol.dispose]();
   * ```
   */
  static at(time: number | Date, options?: DeadlineOptions): Deadline {
    const epoch = time instanceof Date ? time.getTime() : time;
    if (typeof epoch !== "number") {
      throw new TypeError(
        `Cannot create a deadline as 'time' must be a number or a Date: received ${typeof time} ${
          String(time)
        }`,
      );
    }
    if (Number.isNaN(epoch)) {
      throw new RangeError(
        `Cannot create a deadline as 'time' must be a valid time: received ${
          time instanceof Date ? "Invalid Date" : "NaN"
        }`,
      );
    }
    return new Deadline(epoch, checkSignal("Deadline.at()", options));
  }

  /** Milliseconds left, never negative; `0` once the signal has aborted. */
  remaining(): number {
    if (this.signal.aborted) return 0;
    return Math.max(0, this.time - Date.now());
  }

  /** Whether the time has passed or the signal has aborted. */
  get expired(): boolean {
    return this.signal.aborted || Date.now() >= this.time;
  }

  /** Releases the timer and the parent listener. Does not abort the signal. */
  [Symbol.dispose](): void {
    this.#release();
  }

  #abort(reason: unknown): void {
    this.#release();
    this.#controller.abort(reason);
  }
}
