// lastcall 0.1.0: the whole library in one file, generated from src/ by
// scripts/single_file.mjs; do not edit. MIT License. https://jsr.io/@lastcall/lastcall

/**
 * lastcall: graceful Close and Shutdown for HTTP and raw TCP servers on Node,
 * Deno and Bun, after Go's `net/http`.
 *
 * @module
 */

import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import process from "node:process";
import tls from "node:tls";
import { Readable } from "node:stream";

// ---- src/_timer.ts ----

// Timers that never keep a process alive, and that accept any delay.
//
// This is the one place the core looks at a runtime global: `unref()` is a
// method of the timer object on Node and Bun, while Deno hands out numbers and
// offers `Deno.unrefTimer`. Both are feature-detected, so the core still runs
// wherever `setTimeout` does (a browser included).

/** The longest delay one platform timer accepts (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_DELAY: number = 2 ** 31 - 1;

interface UnrefableTimer {
  unref(): unknown;
}

interface DenoTimers {
  unrefTimer(id: number): void;
}

function unrefTimer(id: unknown): void {
  if (typeof id === "object" && id !== null && "unref" in id) {
    (id as UnrefableTimer).unref();
    return;
  }
  const deno = (globalThis as { Deno?: DenoTimers }).Deno;
  if (typeof id === "number" && typeof deno?.unrefTimer === "function") deno.unrefTimer(id);
}

/**
 * Calls `callback` once the wall clock reaches `time` (epoch ms), chaining
 * platform timers for delays longer than one timer allows. The pending timer
 * never keeps the process alive.
 *
 * @returns a function that cancels the call; calling it again does nothing.
 */
function _callAt(time: number, callback: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const schedule = (): void => {
    const delay = time - Date.now();
    if (delay <= 0) {
      timer = undefined;
      callback();
      return;
    }
    timer = setTimeout(schedule, Math.min(delay, MAX_TIMER_DELAY));
    unrefTimer(timer);
  };
  schedule();
  return () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
}

// ---- src/deadline.ts ----

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

// ---- src/_abort.ts ----

// Waiting on signals, for the shutdown sequence and the runtime shims.


/** Resolves once `signal` has aborted (at once if it already has). */
function _untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
}

/** Waits for `work`, but at most `ms`: for a native shutdown that might not end. */
async function _atMost(work: Promise<unknown> | undefined, ms: number): Promise<void> {
  // No `using` declaration: Node 22 cannot parse one.
  const bound = Deadline.after(ms);
  try {
    await Promise.race([work, _untilAborted(bound.signal)]);
  } finally {
    bound[Symbol.dispose]();
  }
}

// ---- src/count_down.ts ----

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

// ---- src/tracker.ts ----

/**
 * The state of a tracked connection, after Go's `http.ConnState`: `new` until
 * its first request, `active` while a request or command is being served,
 * `idle` between requests, `hijacked` once the caller owns it, `closed` once
 * the socket is gone.
 */
export type ConnState = "new" | "active" | "idle" | "hijacked" | "closed";

/** What a shutdown did, counted per connection. */
export interface ShutdownResult {
  /** True when nothing had to be forced. */
  graceful: boolean;
  /** Connections closed because they were idle (or new) when draining reached them. */
  closedIdle: number;
  /** Connections closed after their in-flight work finished. */
  drained: number;
  /** Connections closed at the deadline. */
  forced: number;
  /** How long the shutdown took, in ms. */
  ms: number;
}

/** A connection registered with a {@linkcode Tracker}; the server reports its life through it. */
export interface TrackedConn {
  /** Where the connection is now. */
  readonly state: ConnState;
  /** A request or command began. */
  active(): void;
  /** It finished; while draining, this closes the connection. */
  idle(): void;
  /** The caller owns the connection now (an upgraded WebSocket); it is no longer tracked. */
  hijack(): void;
  /** The socket is gone (reported by the runtime shim). */
  closed(): void;
}

/** Options of {@linkcode Tracker}. */
export interface TrackerOptions {
  /** Called on every change of a connection's state, after it happened. */
  onStateChange?: (conn: TrackedConn, from: ConnState, to: ConnState) => void;
}

type Outcome = "closedIdle" | "drained" | "forced";

interface Drain {
  started: number;
  counts: Record<Outcome, number>;
  promise: Promise<ShutdownResult>;
  resolve: (result: ShutdownResult) => void;
  result?: ShutdownResult;
}

// Tracker's state change, for its entries: set by Tracker, so the entries
// need no closure of their own.
let transition: (tracker: Tracker, entry: Entry, to: ConnState) => void;

class Entry implements TrackedConn {
  state: ConnState = "new";
  /** How this connection counts once it is gone; set when shutdown decides. */
  outcome: Outcome | undefined;
  readonly socket: { close(): void };
  readonly #tracker: Tracker;

  constructor(socket: { close(): void }, tracker: Tracker) {
    this.socket = socket;
    this.#tracker = tracker;
  }

  // The tracker decides what each report means; see Tracker.#transition.
  active(): void {
    transition(this.#tracker, this, "active");
  }
  idle(): void {
    transition(this.#tracker, this, "idle");
  }
  hijack(): void {
    transition(this.#tracker, this, "hijacked");
  }
  closed(): void {
    transition(this.#tracker, this, "closed");
  }
}

/**
 * The registry of live connections and their states: what Go's `http.Server`
 * keeps internally, usable for any protocol. A runtime shim tracks each
 * accepted socket and reports its requests; `shutdown` then closes idle
 * connections at once, closes busy ones as each finishes, resolves the moment
 * the last one is gone, and closes the rest when its signal aborts.
 */
export class Tracker {
  static {
    transition = (tracker, entry, to) => tracker.#transition(entry, to);
  }

  readonly #conns = new Set<Entry>();
  readonly #onStateChange: TrackerOptions["onStateChange"];
  #drain: Drain | undefined;

  /**
   * A tracker with no connections.
   *
   * @param options.onStateChange Called after every change of a connection's state.
   * @throws {TypeError} When `onStateChange` is given and is not a function.
   */
  constructor(options: TrackerOptions = {}) {
    const { onStateChange } = options;
    if (onStateChange !== undefined && typeof onStateChange !== "function") {
      const message = "Cannot create a Tracker as 'onStateChange' must be a function: received ";
      throw new TypeError(message + String(onStateChange));
    }
    this.#onStateChange = onStateChange;
  }

  /**
   * Registers a connection in the `new` state. One tracked while draining is
   * closed at once, like any connection that has not sent a request.
   *
   * @param socket What to close when the tracker closes the connection; it
   * reports back through {@linkcode TrackedConn.closed}.
   * @returns The handle the server reports the connection's life through.
   *
   * @example Report a connection's life
   * ```ts
   * import { Tracker } from "@lastcall/lastcall";
   *
   * const tracker = new Tracker();
   * const conn = tracker.track({ close: () => conn.closed() });
   * conn.active(); // a request arrived
   * conn.idle(); // its response is written
   * ```
   */
  track(socket: { close(): void }): TrackedConn {
    const entry = new Entry(socket, this);
    this.#conns.add(entry);
    if (this.draining) this.#closeIfIdle(entry);
    return entry;
  }

  /** Tracked connections not yet closed or hijacked. */
  get size(): number {
    return this.#conns.size;
  }

  /**
   * How many tracked connections are in `state`; `closed` and `hijacked` are
   * no longer tracked, so they count 0.
   *
   * @example
   * ```ts
   * import { Tracker } from "@lastcall/lastcall";
   * const tracker = new Tracker();
   * tracker.track({ close() {} }).active();
   * console.log(tracker.count("active")); // 1
   * ```
   */
  count(state: ConnState): number {
    let count = 0;
    for (const entry of this.#conns) if (entry.state === state) count++;
    return count;
  }

  /** True from the first call of {@linkcode Tracker.shutdown} on. */
  get draining(): boolean {
    return this.#drain !== undefined;
  }

  /**
   * Closes every connection that is `new` or `idle` and not yet being closed.
   *
   * @returns How many it closed.
   *
   * @example
   * ```ts
   * import { Tracker } from "@lastcall/lastcall";
   * const tracker = new Tracker();
   * tracker.track({ close() {} }).active();
   * tracker.track({ close() {} });
   * console.log(tracker.closeIdle()); // 1: the one still "new"
   * ```
   */
  closeIdle(): number {
    let closed = 0;
    for (const entry of [...this.#conns]) if (this.#closeIfIdle(entry)) closed++;
    return closed;
  }

  /**
   * Go's `Close`: closes every tracked connection now. During a shutdown, the
   * ones not already being closed count as forced, and the shutdown resolves.
   *
   * @returns How many connections it asked to close.
   *
   * @example
   * ```ts
   * import { Tracker } from "@lastcall/lastcall";
   * const tracker = new Tracker();
   * tracker.track({ close() {} }).active();
   * console.log(tracker.close()); // 1, busy or not
   * ```
   */
  close(): number {
    const entries = [...this.#conns];
    for (const entry of entries) {
      if (this.#drain && entry.outcome === undefined) entry.outcome = "forced";
      entry.socket.close();
    }
    if (this.#drain) this.#finish();
    return entries.length;
  }

  /**
   * Go's `Shutdown`, then `Close` when `signal` aborts: closes new and idle
   * connections now, closes each active one as it turns idle, and resolves
   * the moment the last one reports closed. When `signal` aborts, every
   * remaining connection is closed, counted as forced, and the promise
   * resolves at once. Repeated calls share one result; the signal of each
   * call can force.
   *
   * @param signal When to stop waiting and force; none waits as long as it takes.
   * @returns What happened, once every connection is gone or forced.
   *
   * @example Shut down with a ten-second grace period
   * ```ts
   * import { Deadline, Tracker } from "@lastcall/lastcall";
   *
   * const tracker = new Tracker();
   * const deadline = Deadline.after(10_000);
   * const result = await tracker.shutdown(deadline.signal);
   * console.log(result.graceful); // true: nothing was open
   * deadline[Symbol.dispose]();
   * ```
   */
  shutdown(signal?: AbortSignal): Promise<ShutdownResult> {
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      const message = "Cannot shut down as 'signal' must be an AbortSignal: received ";
      return Promise.reject(new TypeError(message + String(signal)));
    }
    let drain = this.#drain;
    if (drain === undefined) {
      const counts = { closedIdle: 0, drained: 0, forced: 0 };
      let resolve!: Drain["resolve"];
      const promise = new Promise<ShutdownResult>((r) => resolve = r);
      this.#drain = drain = { started: Date.now(), counts, promise, resolve };
      this.closeIdle();
      if (this.#conns.size === 0) this.#finish();
    }
    if (drain.result === undefined && signal !== undefined) {
      if (signal.aborted) this.close();
      else {
        const onAbort = (): void => void this.close();
        signal.addEventListener("abort", onAbort, { once: true });
        drain.promise.then(() => signal.removeEventListener("abort", onAbort));
      }
    }
    return drain.promise;
  }

  #closeIfIdle(entry: Entry): boolean {
    const idle = entry.state === "new" || entry.state === "idle";
    if (!idle || entry.outcome !== undefined) return false;
    if (this.#drain) entry.outcome = "closedIdle";
    entry.socket.close();
    return true;
  }

  #transition(entry: Entry, to: ConnState): void {
    const from = entry.state;
    if (from === "closed" || from === "hijacked") return;
    // A connection closed for being idle that still gets a request (the
    // close raced it) ends up counted by what happens to that request.
    if (to === "active" && entry.outcome === "closedIdle") entry.outcome = undefined;
    const drain = this.#drain;
    if (from !== to) {
      entry.state = to;
      if (to === "closed" || to === "hijacked") this.#conns.delete(entry);
      if (to === "closed" && drain !== undefined && drain.result === undefined) {
        drain.counts[entry.outcome ?? "drained"]++;
      }
      this.#onStateChange?.(entry, from, to);
      if (drain !== undefined && this.#conns.size === 0) return this.#finish();
    }
    if (to === "idle" && drain !== undefined && entry.outcome === undefined) {
      entry.outcome = "drained";
      entry.socket.close();
    }
  }

  #finish(): void {
    const drain = this.#drain!;
    if (drain.result !== undefined) return;
    // Connections still open here were just closed by force: count them now,
    // since the shutdown does not wait for their sockets to report. One that
    // was already being closed (lingering after its last reply) keeps its count.
    for (const entry of this.#conns) drain.counts[entry.outcome ?? "forced"]++;
    const { closedIdle, drained, forced } = drain.counts;
    const ms = Date.now() - drain.started;
    drain.result = { graceful: forced === 0, closedIdle, drained, forced, ms };
    drain.resolve(drain.result);
  }
}

// ---- src/types.ts ----

// The public interfaces of serving (options, Server, Conn, RequestInfo) and
// the resolved options that every layer below serveAndShutdown receives.


/** A host and port. */
interface Addr {
  hostname: string;
  port: number;
}

/** A certificate chain and its private key, both PEM text (the files' contents, not their paths). */
export interface TlsCertificate {
  /** The certificate chain, PEM: `-----BEGIN CERTIFICATE-----`, leaf first. */
  cert: string;
  /** The private key, PEM. */
  key: string;
}

/** Options every kind of server takes. */
export interface BaseOptions {
  /** Where to listen. Default `"0.0.0.0"`, all IPv4 interfaces, on every runtime; `"::"` adds IPv6. */
  hostname?: string;
  /** The port; 0 picks a free one. Default 0. */
  port?: number;
  /**
   * Serve over TLS. With `fetch`, HTTP/2 and HTTP/1.1 are offered by ALPN on
   * every runtime; with `connection`, each `Conn` is a TLS connection. A
   * `server` brings its own TLS.
   */
  tls?: TlsCertificate;
  /**
   * Process signals that shut the server down: the first calls
   * `shutdown(gracePeriod)`, the second `close()`. `false` installs none.
   * Default `["SIGINT", "SIGTERM"]`.
   */
  signals?: readonly string[] | false;
  /** The deadline in ms used on a signal, by `shutdown()` and by asyncDispose. Default 10 000. */
  gracePeriod?: number;
  /** Ms to keep serving with `ready === false` before closing listeners. Default 0. */
  drainDelay?: number;
  /** Ms a TCP connection must have been quiet before draining closes it. Default 100. */
  idleGrace?: number;
  /** Receives a handler's throw. Default `console.error`. */
  onError?: (error: unknown, context: ErrorContext) => void;
}

/** Where an error reported to `onError` happened. */
export interface ErrorContext {
  /** The peer of the connection the error happened on. */
  remoteAddr?: { hostname: string; port: number };
  /** The HTTP request being handled, when there was one. */
  request?: Request;
}

/** A raw TCP server: `connection` is called once per accepted connection. */
export interface TcpOptions extends BaseOptions {
  /** Serves one connection; returning (or throwing) closes it. */
  connection(conn: Conn): void | Promise<void>;
  /** Only one mode at a time: not with `connection`. */
  fetch?: never;
  /** Only one mode at a time: not with `connection`. */
  server?: never;
  /** A health path is HTTP: give it to the HTTP server of the same process. */
  health?: never;
}

/** What a fetch handler learns about its request besides the Request itself. */
export interface RequestInfo {
  /** The peer's address. */
  readonly remoteAddr: { hostname: string; port: number };
  /**
   * This request's own signal: aborts when shutdown begins (end long polls,
   * Server-Sent Events and WebSockets on it), never once the request is over.
   */
  readonly shutdown: AbortSignal;
  /**
   * Deno's `Deno.upgradeWebSocket`, on Deno and Bun: return `response` from
   * the handler. The socket is tracked: when the listener closes it gets
   * close 1001 unless the app closed it, and the deadline terminates it.
   *
   * @throws {TypeError} On Node (serve `{ server }` with the `ws` package
   * instead), or when the request is not a WebSocket upgrade.
   */
  upgradeWebSocket(request: Request, options?: WebSocketUpgradeOptions): WebSocketUpgrade;
}

/** Options of {@linkcode RequestInfo.upgradeWebSocket}. */
export interface WebSocketUpgradeOptions {
  /** The subprotocol to accept, one the client offered. */
  protocol?: string;
  /** Seconds without a pong before the socket is closed (Deno only; Bun's default applies there). */
  idleTimeout?: number;
}

/** An upgraded WebSocket and the response that completes the upgrade. */
export interface WebSocketUpgrade {
  /** Standard events (open, message, close, error) and methods (send, close). */
  socket: WebSocket;
  /** Return it from the handler. */
  response: Response;
}

/** An HTTP server with a web-standard fetch handler, on the runtime's own server. */
export interface HttpOptions extends BaseOptions {
  /** Answers one request. A throw becomes a 500 and is reported to `onError`. */
  fetch(request: Request, info: RequestInfo): Response | Promise<Response>;
  /** A path answered 200 while ready and 503 once shutdown began (GET and HEAD). */
  health?: string;
  /** Only one mode at a time: not with `fetch`. */
  connection?: never;
  /** Only one mode at a time: not with `fetch`. */
  server?: never;
}

/**
 * What `{ server }` takes: a node:http, node:https, node:http2 or node:net
 * server, described by the few members lastcall uses.
 */
export interface NodeServerLike {
  /** Starts listening; lastcall calls it. */
  listen(options: { port?: number; host?: string }, listening?: () => void): unknown;
  /** Stops accepting; lastcall calls it when draining starts. */
  close(callback?: (error?: Error) => void): unknown;
  /** Where it listens. */
  address(): unknown;
  /** Subscribes to its events (connection, request, upgrade, error). */
  // deno-lint-ignore no-explicit-any
  on(event: string, listener: (...args: any[]) => void): unknown;
  /** True once listening: such a server is refused, lastcall must see every connection. */
  readonly listening: boolean;
}

/**
 * An existing server, not yet listening: `http.createServer(app)` for
 * Express or Koa, `app.server` (after `await app.ready()`) for Fastify.
 */
export interface NodeServerOptions extends BaseOptions {
  /** The server; lastcall calls its `listen(port, hostname)`. */
  server: NodeServerLike;
  /** A path answered 200 while ready and 503 once shutdown began (GET and HEAD), before the app's handlers. */
  health?: string;
  /** Only one mode at a time: not with `server`. */
  fetch?: never;
  /** Only one mode at a time: not with `server`. */
  connection?: never;
  /** A server brings its own TLS: create it with `https.createServer` or `http2.createSecureServer`. */
  tls?: never;
}

/**
 * One raw TCP connection, the same on every runtime. Iterate it to read: the
 * connection is idle while the handler waits for the next chunk and active
 * while it works on one, so the read loop is the request boundary that
 * shutdown drains on.
 *
 * @example An echo protocol that ends cleanly on shutdown
 * ```ts
 * import { type Conn, serveAndShutdown } from "@lastcall/lastcall";
 *
 * const server = await serveAndShutdown({
 *   port: 0,
 *   signals: false,
 *   async connection(conn: Conn) {
 *     for await (const chunk of conn) await conn.write(chunk);
 *   },
 * });
 * await server.shutdown(1_000);
 * ```
 */
export interface Conn extends AsyncIterable<Uint8Array> {
  /**
   * Writes to the peer; resolves once the bytes are handed to the socket,
   * waiting out backpressure. After close it rejects with an error whose
   * `code` is `"ERR_CONN_CLOSED"`.
   */
  write(data: Uint8Array | string): Promise<void>;
  /** Closes cleanly: FIN after the last write, then a short linger. Idempotent. */
  close(): void;
  /** Holds the connection busy across reads, for a request that spans chunks. */
  active(): void;
  /** Releases the hold; while draining, the read loop then ends. */
  idle(): void;
  /** The peer's address. */
  readonly remoteAddr: { hostname: string; port: number };
  /** Where the connection is in its life. */
  readonly state: ConnState;
  /** Aborts when shutdown begins, so a protocol can tell its clients. */
  readonly shutdown: AbortSignal;
}

/** A running server, as `serveAndShutdown` returns it. */
export interface Server extends AsyncDisposable {
  /** Where it listens. */
  readonly addr: { hostname: string; port: number };
  /** The runtime serving it. */
  readonly runtime: "node" | "deno" | "bun";
  /** False from the moment shutdown begins: fail health checks now. */
  readonly ready: boolean;
  /**
   * Aborts when shutdown begins: in `server` mode, close your WebSockets
   * (with `ws`: `client.close(1001)`) and end your streams on it.
   */
  readonly signal: AbortSignal;
  /**
   * Go's Shutdown, then Close at the deadline: stop accepting, close idle
   * connections, let in-flight work finish, force the rest when `deadline`
   * (ms, or a signal) passes; default `gracePeriod`. Idempotent: every call
   * resolves with the same result.
   *
   * @throws {TypeError} (as a rejection) When `deadline` is neither a number
   * nor an AbortSignal.
   * @throws {RangeError} (as a rejection) When `deadline` is NaN.
   */
  shutdown(deadline?: AbortSignal | number): Promise<ShutdownResult>;
  /** Go's Close: closes the listener and every connection now. */
  close(): Promise<void>;
  /** Settles once the server is fully down. */
  readonly finished: Promise<ShutdownResult>;
}

/** The options every mode shares, with defaults applied and values checked. */
interface ResolvedBase {
  hostname: string;
  port: number;
  tls: TlsCertificate | undefined;
  signals: readonly string[];
  gracePeriod: number;
  drainDelay: number;
  idleGrace: number;
  onError: (error: unknown, context: ErrorContext) => void;
}

/** The options of `serveAndShutdown` once checked: one form, whatever the mode. */
type ResolvedOptions =
  & ResolvedBase
  & (
    | { mode: "fetch"; fetch: HttpOptions["fetch"]; health: string | undefined }
    | { mode: "connection"; connection: TcpOptions["connection"] }
    | { mode: "server"; server: NodeServerLike; health: string | undefined }
  );

// ---- src/shim.ts ----

// The contract between serving and a runtime: the one interface every shim in
// runtime/<name>/ implements, and the few helpers both sides rely on. Serving
// talks to sockets, listeners and signals only through it.


/**
 * How long a native server's own stop may still take once the deadline
 * forced it, before serving gives up waiting on it.
 */
const NATIVE_STOP_WAIT_MS = 1_000;

/** What a shim's write returns when the socket took every byte at once. */
const _WRITTEN: Promise<void> = Promise.resolve();

/**
 * An accepted TCP socket, reduced to what a connection needs. Reads are
 * pulled: bytes nobody asks for stay with the runtime or the kernel.
 */
interface RawSocket {
  readonly remoteAddr: Addr;
  /**
   * Asks for the next chunk from the peer: `deliver` is called once, with a
   * buffer the caller owns, or with null once the peer closed or reset; never
   * before read returns. One request at a time.
   */
  read(deliver: (chunk: Uint8Array | null) => void): void;
  /**
   * Hands the bytes to the socket: {@linkcode _WRITTEN} when it took them at
   * once, else a promise that resolves once it has (waiting out
   * backpressure) and rejects when the socket is gone.
   */
  write(data: Uint8Array | string): Promise<void>;
  /**
   * Sends FIN after everything written so far; reading goes on. Resolves once
   * the written bytes are with the kernel (or the socket is gone).
   */
  closeWrite(): Promise<void>;
  /** Closes the socket now, whatever is pending. Idempotent. */
  destroy(): void;
  /** Resolves once the socket is fully closed. */
  readonly closed: Promise<void>;
}

/** A listening TCP socket. */
interface TcpListener {
  readonly addr: Addr;
  /**
   * Stops accepting; open connections are left alone. A runtime that frees
   * the port only later returns a promise that settles once it is free.
   */
  close(): Promise<void> | void;
}

/** What a shim needs to listen on raw TCP. */
interface TcpListenOptions {
  hostname: string;
  port: number;
  /** Serve over TLS with this certificate; each accepted socket is then a TLS one. */
  tls: TlsCertificate | undefined;
  /** Called with each accepted connection. */
  accept: (socket: RawSocket) => void;
}

/** How many connections (or, where a runtime hides them, requests) ended which way. */
interface DrainCounts {
  closedIdle: number;
  drained: number;
  forced: number;
}

/** The counts of two parts of one server (its requests and its WebSockets) together. */
function _sumCounts(a: DrainCounts, b: DrainCounts): DrainCounts {
  return {
    closedIdle: a.closedIdle + b.closedIdle,
    drained: a.drained + b.drained,
    forced: a.forced + b.forced,
  };
}

/** A serving mode on a runtime, as the shared shutdown sequence drives it. */
interface Serving {
  readonly addr: Addr;
  /** Stops accepting. */
  closeListener(): void;
  /** Closes idle connections, waits for busy ones, and cuts the rest when `signal` aborts. */
  drain(signal: AbortSignal): Promise<DrainCounts>;
}

/**
 * What a shim hands the handler with each request. Shims may compute
 * `remoteAddr` lazily (a getter), since most handlers never read it.
 */
type ShimRequestInfo = RequestInfo;

/** The web-standard handler a shim serves, already wrapped with health, errors and 500s. */
type HttpHandler = (
  request: Request,
  info: ShimRequestInfo,
) => Response | Promise<Response>;

/** The answer to a health check. */
interface HealthAnswer {
  status: 200 | 503;
  body: string;
}

/** Answers a request for the health path; undefined for any other request. */
type HealthCheck = (method: string, url: string) => HealthAnswer | undefined;

/** What a shim needs to serve HTTP on its own server. */
interface HttpServeOptions {
  hostname: string;
  port: number;
  /** Serve HTTPS with this certificate, offering HTTP/2 and HTTP/1.1 by ALPN. */
  tls: TlsCertificate | undefined;
  /** Aborts when shutdown begins: from then on every response carries `Connection: close`. */
  shutdown: AbortSignal;
  /** How long a new or idle connection must have been quiet before draining closes it, in ms. */
  idleGrace: number;
  handler: HttpHandler;
}

/** What a shim needs to serve an existing node:http, node:https or node:net server. */
interface NodeServerServeOptions extends Omit<HttpServeOptions, "handler" | "tls"> {
  /** Answered before the app's own request listeners, on HTTP servers. */
  health: HealthCheck | undefined;
}

/** What `serveAndShutdown` needs from a runtime. */
interface Shim {
  readonly runtime: "node" | "deno" | "bun";
  /**
   * Listens on TCP and calls `accept` for each connection. Rejects when it
   * cannot listen, with `code === "EADDRINUSE"` for a port in use.
   */
  listenTcp(options: TcpListenOptions): Promise<TcpListener>;
  /** Serves a fetch handler on the runtime's own HTTP server. */
  serveHttp(options: HttpServeOptions): Promise<Serving>;
  /** Listens with an existing node:http(s), node:http2 or node:net server and tracks its connections. */
  serveNodeServer(server: unknown, options: NodeServerServeOptions): Promise<Serving>;
  /** Calls `handler` on each delivery of the process signal; returns the remover. */
  onSignal(signal: string, handler: () => void): () => void;
  /**
   * The names of the process's other listeners for `signal` that the
   * runtime lets a listener see (a framework's own shutdown handler);
   * empty where it shows none.
   */
  otherSignalListeners(signal: string, own: () => void): string[];
}

/**
 * The error for a certificate or key the runtime refused, keeping the
 * runtime's own as `cause`.
 */
function tlsError(cause: unknown): Error {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new Error(
    `Cannot serve over TLS as 'tls' holds no usable certificate and key: ${reason}`,
    { cause },
  );
}

/**
 * Runs the call that loads the certificate (a runtime's listen, or Node's
 * server or context creation): with `tls`, a failure other than the port's
 * is reported as the certificate's.
 */
function _loadingCertificate<T>(tls: TlsCertificate | undefined, load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (tls === undefined || (error as { code?: unknown })?.code === "EADDRINUSE") throw error;
    throw tlsError(error);
  }
}

/** An error for use of a connection after it closed. */
function _connClosedError(): Error {
  return Object.assign(new Error("The connection is closed"), { code: "ERR_CONN_CLOSED" });
}

/** A Tracker that also counts the connections that closed during drainDelay. */
type DelayAwareTracker = Tracker & { closedDuringDelay: number };

/**
 * A Tracker for a server whose shutdown begins when `shutdown` aborts. The
 * connections that close by themselves after that but before draining starts
 * (during drainDelay) count as drained.
 */
function _trackerFor(shutdown: AbortSignal): DelayAwareTracker {
  const tracker: DelayAwareTracker = Object.assign(
    new Tracker({
      onStateChange: (_conn, _from, to) => {
        // (Cheapest test first: this runs for every connection that closes.)
        if (to === "closed" && !tracker.draining && shutdown.aborted) tracker.closedDuringDelay++;
      },
    }),
    { closedDuringDelay: 0 },
  );
  return tracker;
}

/**
 * The Serving of every mode that sees its connections (raw TCP on all
 * runtimes, HTTP on Node): it drains through `tracker`, which cuts every
 * tracked socket when the deadline passes; `destroyAll` also cuts those it no
 * longer tracks.
 */
function _trackedServing(
  addr: Addr,
  tracker: DelayAwareTracker,
  closeListener: () => void,
  destroyAll?: () => void,
): Serving {
  return {
    addr,
    closeListener,
    async drain(signal: AbortSignal): Promise<DrainCounts> {
      const onForce = (): void => destroyAll?.();
      signal.addEventListener("abort", onForce, { once: true });
      if (signal.aborted) onForce();
      try {
        const { closedIdle, drained, forced } = await tracker.shutdown(signal);
        return { closedIdle, drained: drained + tracker.closedDuringDelay, forced };
      } finally {
        signal.removeEventListener("abort", onForce);
      }
    },
  };
}

// ---- src/http/health.ts ----

// The health path: 200 while the server is ready, 503 from the moment
// shutdown begins, for GET and HEAD. Every HTTP mode answers it before the
// app: the fetch handler here, node:http servers in their shim.


const READY: HealthAnswer = { status: 200, body: "ok\n" };
const DRAINING: HealthAnswer = { status: 503, body: "draining\n" };

/** The path of a request URL, absolute or relative; never throws. */
function pathOf(url: string): string {
  const start = url.charCodeAt(0) === 47 ? 0 : url.indexOf("/", url.indexOf("://") + 3);
  if (start === -1) return "/";
  const end = url.slice(start).search(/[?#]/);
  return end === -1 ? url.slice(start) : url.slice(start, start + end);
}

/** Answers `path` (compared raw, without decoding) for a server whose shutdown begins when `shutdown` aborts. */
function _healthCheck(path: string, shutdown: AbortSignal): HealthCheck {
  return (method, url) => {
    if (method !== "GET" && method !== "HEAD") return undefined;
    // Cheap test first: most requests are not for the health path.
    if (!url.includes(path) || pathOf(url) !== path) return undefined;
    return shutdown.aborted ? DRAINING : READY;
  };
}

// ---- src/http/handler.ts ----

// The runtime-neutral part of HTTP serving: the handler a shim calls, which
// answers the health path itself and turns a handler's throw, or a value that
// is not a Response, into a 500 reported to onError.


function plain(status: number, body: string, method: string): Response {
  return new Response(method === "HEAD" ? null : body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

/** The request's method; "GET" for a request the runtime already closed (Deno throws then). */
function methodOf(request: Request): string {
  try {
    return request.method;
  } catch {
    return "GET";
  }
}

/** Wraps the user's fetch handler for a shim. */
function _httpHandler(
  options: ResolvedOptions & { mode: "fetch" },
  shutdown: AbortSignal,
): HttpHandler {
  const { fetch, onError } = options;
  const health = options.health === undefined ? undefined : _healthCheck(options.health, shutdown);
  const fail = (error: unknown, request: Request, info: ShimRequestInfo): Response => {
    try {
      onError(error, { remoteAddr: info.remoteAddr, request });
    } catch (onErrorThrew) {
      console.error("lastcall: onError threw", onErrorThrew, "while reporting", error);
    }
    return plain(500, "Internal Server Error\n", methodOf(request));
  };
  const check = (response: unknown, request: Request, info: ShimRequestInfo): Response => {
    if (response instanceof Response) return response;
    return fail(
      new TypeError(`The fetch handler must return a Response: received ${String(response)}`),
      request,
      info,
    );
  };
  // Synchronous where the handler is: no promise per request for a handler
  // that returns its Response at once.
  return (request, info) => {
    const answer = health?.(request.method, request.url);
    if (answer !== undefined) return plain(answer.status, answer.body, request.method);
    let result: Response | Promise<Response>;
    try {
      result = fetch(request, info);
    } catch (error) {
      return fail(error, request, info);
    }
    if (result instanceof Response) return result;
    return Promise.resolve(result).then(
      (response) => check(response, request, info),
      (error) => fail(error, request, info),
    );
  };
}

// ---- src/tcp/conn.ts ----

// Conn over a runtime's RawSocket: the read loop as the request boundary,
// the idle grace, and the clean close with its linger.


/** How long a closed connection keeps reading and discarding before it is destroyed. */
const LINGER_MS = 1_000;

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };
const toClosedError = (): never => {
  throw _connClosedError();
};

/** The shared implementation of {@linkcode Conn} over a runtime's {@linkcode RawSocket}. */
class TcpConn implements Conn {
  readonly remoteAddr: Addr;
  readonly shutdown: AbortSignal;
  readonly #socket: RawSocket;
  readonly #tracked: TrackedConn;
  readonly #idleGrace: number;
  /** The handler asked to stay busy across reads. */
  #hold = false;
  /** Draining asked to close at the next request boundary. */
  #closeRequested = false;
  /** The clean close has begun: no more reads for the handler, no writes. */
  #closing = false;
  /** A chunk was asked of the socket and not yet delivered; it may outlive an interrupted wait. */
  #reading = false;
  /** Resolves once the peer closed, while the clean close reads and discards. */
  #peerClosed: (() => void) | undefined;
  /** Answers the handler's current wait for a chunk; set only while it waits. */
  #resolveNext: ((result: IteratorResult<Uint8Array>) => void) | undefined;
  /** That wait (read only while #resolveNext is set). */
  #waiting!: Promise<IteratorResult<Uint8Array>>;
  #lastActivity = Date.now();
  #lastWrite: Promise<void> = _WRITTEN;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(socket: RawSocket, tracker: Tracker, shutdown: AbortSignal, idleGrace: number) {
    this.#socket = socket;
    this.remoteAddr = socket.remoteAddr;
    this.shutdown = shutdown;
    this.#idleGrace = idleGrace;
    this.#tracked = tracker.track({ close: () => this.#requestClose() });
    socket.closed.then(() => {
      this.#closing = true;
      clearTimeout(this.#graceTimer);
      this.#interrupt();
      this.#tracked.closed();
    });
  }

  get state(): ConnState {
    return this.#tracked.state;
  }

  write(data: Uint8Array | string): Promise<void> {
    if (typeof data !== "string" && !(data instanceof Uint8Array)) {
      return Promise.reject(
        new TypeError(
          `Cannot write to a connection as 'data' must be a Uint8Array or a string: received ${typeof data}`,
        ),
      );
    }
    if (this.#closing) return Promise.reject(_connClosedError());
    this.#lastActivity = Date.now();
    const written = this.#socket.write(data);
    if (written === _WRITTEN) return written;
    this.#lastWrite = written;
    return written.then(this.#wrote, toClosedError);
  }

  /** A write is with the socket: activity for the idle grace. */
  readonly #wrote = (): void => {
    this.#lastActivity = Date.now();
  };

  close(): void {
    this.#beginClose();
  }

  active(): void {
    if (this.#closing) return;
    this.#hold = true;
    this.#tracked.active();
  }

  idle(): void {
    if (!this.#hold) return;
    this.#hold = false;
    // Waiting for a chunk already: the request is over now, not at the next read.
    if (this.#resolveNext !== undefined) {
      this.#tracked.idle();
      if (this.#closeRequested) this.#interrupt();
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: () => this.#next(),
      return: () => Promise.resolve(DONE),
    };
  }

  /** Closes the socket now, at the deadline. */
  destroy(): void {
    this.#closing = true;
    this.#interrupt();
    this.#socket.destroy();
  }

  #next(): Promise<IteratorResult<Uint8Array>> {
    // A second next() while one waits (no for-await does that) shares its wait.
    if (this.#resolveNext !== undefined) return this.#waiting;
    if (this.#closing) return Promise.resolve(DONE);
    // Asking for the next chunk ends the request: while draining, turning idle
    // requests the close synchronously.
    if (!this.#hold && this.#tracked.state === "active") this.#tracked.idle();
    if (this.#closeRequested && !this.#hold) {
      this.#beginClose();
      return Promise.resolve(DONE);
    }
    return this.#waiting = new Promise((resolve) => {
      this.#resolveNext = resolve;
      this.#read();
    });
  }

  /** Asks the socket for the next chunk, unless a request is still out. */
  #read(): void {
    if (this.#reading) return;
    this.#reading = true;
    this.#socket.read(this.#onChunk);
  }

  /** A chunk (or the peer's close) for the waiting handler, or for the clean close to discard. */
  readonly #onChunk = (chunk: Uint8Array | null): void => {
    this.#reading = false;
    if (this.#closing) {
      if (chunk === null) this.#peerClosed?.();
      else if (this.#peerClosed !== undefined) this.#read();
      return;
    }
    const resolve = this.#resolveNext!;
    this.#resolveNext = undefined;
    if (chunk === null) return resolve(DONE);
    this.#lastActivity = Date.now();
    this.#tracked.active();
    resolve({ done: false, value: chunk });
  };

  /** Ends the handler's current wait for a chunk, if it waits, and begins the close. */
  #interrupt(): void {
    const resolve = this.#resolveNext;
    if (resolve === undefined) return;
    this.#resolveNext = undefined;
    this.#beginClose();
    resolve(DONE);
  }

  /**
   * Draining wants this connection closed. A handler waiting for its next
   * chunk ends its loop now if the connection has been quiet for idleGrace,
   * or once it has; a busy one ends at its next request boundary.
   */
  #requestClose(): void {
    if (this.#closing || this.#closeRequested) return;
    this.#closeRequested = true;
    if (this.#resolveNext === undefined || this.#hold) return;
    const quiet = Date.now() - this.#lastActivity;
    if (quiet >= this.#idleGrace) this.#interrupt();
    else {
      this.#graceTimer = setTimeout(() => this.#interrupt(), this.#idleGrace - quiet);
    }
  }

  /**
   * The clean close: FIN once every write is with the kernel, then read and
   * discard until the peer closes or the linger passes, so unread bytes never
   * turn the close into a reset that could destroy the last reply.
   */
  #beginClose(): void {
    if (this.#closing) return;
    this.#closing = true;
    clearTimeout(this.#graceTimer);
    this.#interrupt();
    const socket = this.#socket;
    const linger = setTimeout(() => socket.destroy(), LINGER_MS);
    socket.closed.then(() => clearTimeout(linger));
    const peerClosed = new Promise<void>((resolve) => this.#peerClosed = resolve);
    this.#read();
    const closeWrite = () => socket.closeWrite();
    this.#lastWrite
      .then(closeWrite, closeWrite)
      .then(() => peerClosed)
      .then(() => socket.destroy());
  }
}

// ---- src/tcp/serve.ts ----

// Raw TCP serving: one TcpConn per accepted socket, handed to the handler.


/** Listens on TCP and serves each connection with the `connection` handler. */
async function _serveTcp(
  shim: Shim,
  options: ResolvedOptions & { mode: "connection" },
  shutdown: AbortSignal,
): Promise<Serving> {
  const { hostname, port, tls, connection } = options;
  const tracker = _trackerFor(shutdown);
  const conns = new Set<TcpConn>();
  const accept = (socket: RawSocket): void => {
    const conn = new TcpConn(socket, tracker, shutdown, options.idleGrace);
    conns.add(conn);
    socket.closed.then(() => conns.delete(conn));
    const serve = async (): Promise<void> => {
      try {
        await connection(conn);
      } catch (error) {
        options.onError(error, { remoteAddr: conn.remoteAddr });
      }
      conn.close();
    };
    void serve();
  };
  const listener = await shim.listenTcp({ hostname, port, tls, accept });
  let listenerClosed: Promise<void> | void;
  const serving = _trackedServing(
    listener.addr,
    tracker,
    () => listenerClosed = listener.close(),
    () => conns.forEach((conn) => conn.destroy()),
  );
  return {
    ...serving,
    // Done only once the port is free to bind again.
    async drain(signal: AbortSignal) {
      const [counts] = await Promise.all([serving.drain(signal), listenerClosed]);
      return counts;
    },
  };
}

// ---- src/options.ts ----

// Every option of serveAndShutdown checked once, the mode included: a wrong
// value becomes a TypeError or RangeError naming the option, and the rest of
// the library receives one resolved form.


const DEFAULT_HOSTNAME = "0.0.0.0";
const DEFAULT_SIGNALS: readonly string[] = ["SIGINT", "SIGTERM"];
const DEFAULT_GRACE_PERIOD_MS = 10_000;
const DEFAULT_IDLE_GRACE_MS = 100;
const MODES = ["fetch", "connection", "server"] as const;
const KNOWN_KEYS = new Set<string>([
  ...MODES,
  "hostname",
  "port",
  "tls",
  "signals",
  "gracePeriod",
  "drainDelay",
  "idleGrace",
  "onError",
  "health",
]);
/** The signals that may stop a server, each one every runtime lets a process catch. */
const CATCHABLE_SIGNALS = new Set(["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"]);

/** A value as an error message shows it: short, never a function's source. */
function describe(value: unknown): string {
  if (typeof value === "string") return `"${value}"`;
  if (typeof value === "function") return `a function${value.name ? ` (${value.name})` : ""}`;
  if (Array.isArray(value)) return `[${value.map(describe).join(", ")}]`;
  if (typeof value === "object" && value !== null) {
    const name = value.constructor?.name;
    return name && name !== "Object" ? `a ${name}` : `an object`;
  }
  return String(value);
}

function invalid(name: string, rule: string, value: unknown, Type = TypeError): Error {
  return new Type(`Cannot serve as '${name}' must be ${rule}: received ${describe(value)}`);
}

function duration(name: string, value: unknown, fallback: number, allowInfinity: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number") throw invalid(name, "a number of ms", value);
  if (Number.isNaN(value) || value < 0 || (!allowInfinity && !Number.isFinite(value))) {
    throw invalid(
      name,
      allowInfinity ? "a number >= 0" : "a finite number >= 0",
      value,
      RangeError,
    );
  }
  return value;
}

/** `tls`: PEM text for both parts, or a TypeError that says what is wrong. */
function checkTls(tls: unknown): TlsCertificate | undefined {
  if (tls === undefined) return undefined;
  if (typeof tls !== "object" || tls === null || Array.isArray(tls)) {
    throw invalid("tls", "an object { cert, key } of PEM text", tls);
  }
  const { cert, key } = tls as Record<string, unknown>;
  for (const [name, value] of [["tls.cert", cert], ["tls.key", key]] as const) {
    if (typeof value !== "string") throw invalid(name, "PEM text (a string)", value);
    if (!value.includes("-----BEGIN ")) {
      throw new TypeError(
        `Cannot serve as '${name}' must be PEM text, the file's contents rather than its path: received ${
          describe(value.length > 60 ? value.slice(0, 60) + "..." : value)
        }`,
      );
    }
  }
  return { cert: cert as string, key: key as string };
}

function resolveBase(options: Record<string, unknown>): ResolvedBase {
  const { hostname, port = 0, signals = DEFAULT_SIGNALS, onError } = options;
  if (hostname !== undefined && (typeof hostname !== "string" || hostname === "")) {
    throw invalid("hostname", "a non-empty host name or address", hostname);
  }
  if (typeof port !== "number") throw invalid("port", "a number", port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw invalid("port", "a whole number from 0 to 65535", port, RangeError);
  }
  if (signals !== false && !Array.isArray(signals)) {
    throw invalid("signals", "an array of signal names or false", signals);
  }
  for (const signal of signals || []) {
    if (!CATCHABLE_SIGNALS.has(signal)) {
      throw invalid("signals", `a list of ${[...CATCHABLE_SIGNALS].join(", ")}`, signal);
    }
  }
  if (onError !== undefined && typeof onError !== "function") {
    throw invalid("onError", "a function", onError);
  }
  return {
    hostname: hostname ?? DEFAULT_HOSTNAME,
    port,
    tls: checkTls(options.tls),
    signals: signals === false ? [] : signals as readonly string[],
    gracePeriod: duration("gracePeriod", options.gracePeriod, DEFAULT_GRACE_PERIOD_MS, true),
    drainDelay: duration("drainDelay", options.drainDelay, 0, false),
    idleGrace: duration("idleGrace", options.idleGrace, DEFAULT_IDLE_GRACE_MS, false),
    onError: (onError as ResolvedBase["onError"] | undefined)
      ?? ((error, context) => console.error("lastcall: handler error", error, context)),
  };
}

/**
 * Checks the options of `serveAndShutdown` and applies their defaults.
 *
 * @throws {TypeError} When `options` is not an object, not exactly one mode
 * is given, or an option has the wrong type.
 * @throws {RangeError} When a number is out of range.
 */
function _resolveOptions(
  options: HttpOptions | TcpOptions | NodeServerOptions,
): ResolvedOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Cannot serve as 'options' must be an object: received ${String(options)}`);
  }
  const raw = options as unknown as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!KNOWN_KEYS.has(key)) {
      throw new TypeError(
        `Cannot serve as '${key}' is not an option: the options are ${[...KNOWN_KEYS].join(", ")}`,
      );
    }
  }
  const modes = MODES.filter((key) => raw[key] !== undefined);
  const mode = modes[0];
  if (mode === undefined || modes.length > 1) {
    throw new TypeError(
      `Cannot serve as exactly one of 'fetch', 'connection' or 'server' must be given: received ${
        modes.length === 0 ? "none" : modes.join(", ")
      }`,
    );
  }
  if (mode !== "server" && typeof raw[mode] !== "function") {
    throw invalid(mode, "a function", raw[mode]);
  }
  const { health } = raw;
  if (health !== undefined && mode === "connection") {
    throw new TypeError(
      "Cannot serve as 'health' is HTTP and 'connection' raw TCP: serve the health path from an HTTP server in the same process",
    );
  }
  if (health !== undefined && (typeof health !== "string" || !health.startsWith("/"))) {
    throw invalid("health", "a path starting with \"/\"", health);
  }
  if (raw.tls !== undefined && mode === "server") {
    throw new TypeError(
      "Cannot serve as 'tls' is for 'fetch' and 'connection': a 'server' brings its own TLS (https.createServer or http2.createSecureServer with cert and key)",
    );
  }
  const base = resolveBase(raw);
  if (mode === "fetch") {
    const fetch = raw.fetch as HttpOptions["fetch"];
    return { ...base, mode, fetch, health: health as string | undefined };
  }
  if (mode === "connection") {
    return { ...base, mode, connection: raw.connection as TcpOptions["connection"] };
  }
  return { ...base, mode, server: checkServer(raw.server), health: health as string | undefined };
}

const SERVER_KINDS = "a node:http, node:https, node:http2 or node:net server";

/** The server of `{ server }`, or a TypeError that says what to pass instead. */
function checkServer(server: unknown): NodeServerLike {
  const candidate = server as Partial<Record<string, unknown>> | null;
  const has = (member: string): boolean => typeof candidate?.[member] === "function";
  if (typeof server === "function" && has("listen")) {
    throw new TypeError(
      `Cannot serve as 'server' must be ${SERVER_KINDS}, not an app: pass http.createServer(app) (Express, Connect)`,
    );
  }
  if (typeof server === "function") {
    throw new TypeError(
      `Cannot serve as 'server' must be ${SERVER_KINDS}, not a request listener: pass http.createServer(listener)`,
    );
  }
  if (typeof server === "object" && server !== null && !has("address")) {
    if (has("getHttpServer")) {
      throw new TypeError(
        `Cannot serve as 'server' must be ${SERVER_KINDS}, not a Nest application: pass app.getHttpServer() after await app.init()`,
      );
    }
    if (has("fetch") && !has("listen")) {
      throw new TypeError(
        `Cannot serve as 'server' must be ${SERVER_KINDS}, not a fetch app: pass { fetch: app.fetch } instead of { server } (Hono, h3, Elysia)`,
      );
    }
    if (has("callback") && has("listen")) {
      throw new TypeError(
        `Cannot serve as 'server' must be ${SERVER_KINDS}, not a Koa app: pass http.createServer(app.callback())`,
      );
    }
    if (typeof candidate?.server === "object" && has("ready")) {
      throw new TypeError(
        `Cannot serve as 'server' must be ${SERVER_KINDS}, not a Fastify instance: pass app.server after await app.ready()`,
      );
    }
  }
  if (!has("listen") || !has("on") || !has("address") || !has("close")) {
    throw invalid("server", SERVER_KINDS, server);
  }
  if ((server as NodeServerLike).listening) {
    throw new TypeError(
      "Cannot serve as 'server' is already listening: pass it before calling listen(), so lastcall sees every connection",
    );
  }
  return server as NodeServerLike;
}

// ---- src/serve.ts ----

// serveAndShutdown and the Server it returns: which mode serves, the order
// of shutdown (ready false, drainDelay, listeners, drain, deadline), and the
// process signals.


/**
 * Picks the shim of the runtime this runs on. Apart from the shims
 * themselves, only the core's timer looks at a runtime global (to unref).
 */
async function loadShim(): Promise<Shim> {
  if ("Deno" in globalThis) return _denoShim;
  if ("Bun" in globalThis) return _bunShim;
  return _nodeShim;
}

function deadlineFor(deadline: unknown, gracePeriod: number): Deadline | AbortSignal {
  if (deadline instanceof AbortSignal) return deadline;
  if (deadline === undefined) return Deadline.after(gracePeriod);
  if (typeof deadline !== "number") {
    throw new TypeError(
      `Cannot shut down as 'deadline' must be ms or an AbortSignal: received ${String(deadline)}`,
    );
  }
  if (Number.isNaN(deadline)) {
    throw new RangeError("Cannot shut down as 'deadline' must not be NaN: received NaN");
  }
  return Deadline.after(deadline);
}

class LastcallServer implements Server {
  readonly addr: Addr;
  readonly runtime: Shim["runtime"];
  readonly finished: Promise<ShutdownResult>;
  readonly #options: ResolvedOptions;
  readonly #serving: Serving;
  readonly #shutdownController: AbortController;
  readonly #force = new AbortController();
  #resolveFinished!: (result: ShutdownResult) => void;
  #rejectFinished!: (error: unknown) => void;
  #result: Promise<ShutdownResult> | undefined;
  #removeSignals: () => void = () => {};

  constructor(
    runtime: Shim["runtime"],
    options: ResolvedOptions,
    serving: Serving,
    shutdownController: AbortController,
  ) {
    this.runtime = runtime;
    this.addr = serving.addr;
    this.#options = options;
    this.#serving = serving;
    this.#shutdownController = shutdownController;
    this.finished = new Promise((resolve, reject) => {
      this.#resolveFinished = resolve;
      this.#rejectFinished = reject;
    });
  }

  get ready(): boolean {
    return this.#result === undefined;
  }

  get signal(): AbortSignal {
    return this.#shutdownController.signal;
  }

  /** Hands the process signals to this server; they are removed once it is down. */
  takeSignals(signals: ProcessSignals): void {
    this.#removeSignals = () => signals.remove();
    signals.attach(this);
  }

  shutdown(deadline?: AbortSignal | number): Promise<ShutdownResult> {
    if (this.#result !== undefined) return this.#result;
    let bound: Deadline | AbortSignal;
    try {
      bound = deadlineFor(deadline, this.#options.gracePeriod);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#result = this.#run(bound);
    this.#result.then(this.#resolveFinished, this.#rejectFinished);
    return this.#result;
  }

  async close(): Promise<void> {
    this.#force.abort();
    await this.shutdown();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown().then(() => {});
  }

  async #run(bound: Deadline | AbortSignal): Promise<ShutdownResult> {
    const started = Date.now();
    const deadline = bound instanceof Deadline ? bound.signal : bound;
    const signal = AbortSignal.any([deadline, this.#force.signal]);
    const serving = this.#serving;
    this.#shutdownController.abort();
    // Work in flight must finish even when nothing else holds the process:
    // Deno does not count an open connection as pending, so a handler waiting
    // on an unref'd timer would see the process exit under it. This timer
    // never fires; it only holds the process until the drain ends, which the
    // deadline bounds.
    const hold = setInterval(() => {}, MAX_TIMER_DELAY);
    try {
      if (this.#options.drainDelay > 0 && !signal.aborted) {
        const delay = Deadline.after(this.#options.drainDelay, { signal });
        try {
          await _untilAborted(delay.signal);
        } finally {
          delay[Symbol.dispose]();
        }
      }
      serving.closeListener();
      const counts = await serving.drain(signal);
      return { graceful: counts.forced === 0, ...counts, ms: Date.now() - started };
    } finally {
      clearInterval(hold);
      if (bound instanceof Deadline) bound[Symbol.dispose]();
      this.#removeSignals();
    }
  }
}

/**
 * The process signals of one server, installed before it listens so that
 * none is missed: the first calls `shutdown()`, any later one `close()`.
 */
class ProcessSignals {
  readonly #removers: Array<() => void> = [];
  #received = 0;
  #server: Server | undefined;

  /** @throws {TypeError} When the runtime cannot listen for one of `names`. */
  constructor(shim: Shim, names: readonly string[]) {
    try {
      for (const name of names) {
        // Those there now too: a handler that ran first may have removed
        // itself by the time this one runs.
        let others: string[] | undefined;
        const onSignal = (): void => {
          if (others !== undefined) {
            const now = shim.otherSignalListeners(name, onSignal);
            warnOfOtherListeners(name, [...new Set([...others, ...now])]);
            others = undefined;
          }
          this.#received++;
          this.#dispatch();
        };
        this.#removers.push(shim.onSignal(name, onSignal));
        others = shim.otherSignalListeners(name, onSignal);
      }
    } catch (error) {
      this.remove();
      throw new TypeError(
        `Cannot serve as 'signals' names a signal ${shim.runtime} cannot listen for: ${
          (error as Error)?.message
        }`,
        { cause: error },
      );
    }
  }

  /** From now on signals go to `server`, those received while it was starting included. */
  attach(server: Server): void {
    this.#server = server;
    this.#dispatch();
  }

  remove(): void {
    for (const remove of this.#removers.splice(0)) remove();
  }

  #dispatch(): void {
    if (this.#server === undefined || this.#received === 0) return;
    void this.#server.shutdown();
    if (this.#received > 1) void this.#server.close();
  }
}

/**
 * Says, once per signal name, that other listeners got the signal too: one
 * that exits the process or raises the signal again (some frameworks'
 * shutdown hooks do) cuts the drain short, since lastcall forces on a second
 * signal.
 */
function warnOfOtherListeners(signal: string, others: string[]): void {
  if (others.length === 0) return;
  console.warn(
    `lastcall: ${signal} also went to ${others.length} other listener${
      others.length === 1 ? "" : "s"
    } (${others.join(", ")}). lastcall shuts down on the first ${signal} and forces on the next: `
      + `a listener that exits the process or sends ${signal} again cuts the drain short. `
      + `Leave the signal to one of them: 'signals: false' here, or drop the other handler.`,
  );
}

/**
 * Listens first (a listen error rejects here, leaving nothing behind), then
 * serves until shutdown: Go's `net/http` Shutdown and Close for raw TCP
 * protocols and HTTP, on Node, Deno and Bun. The first SIGINT or SIGTERM
 * shuts down within `gracePeriod`, a second one forces.
 *
 * @param options Exactly one of `fetch` (HTTP with a web-standard handler on
 * the runtime's own server), `connection` (raw TCP) or `server` (an existing
 * node:http, node:https or node:net server, not yet listening), plus the
 * shared options.
 * @returns The running server.
 * @throws {TypeError} When an option is unknown or has the wrong type, two
 * modes are given, or `server` is not a server or already listening.
 * @throws {RangeError} When an option is out of range.
 * @throws {Error} With `code === "EADDRINUSE"` and the address in its
 * message, when the port is in use (as a rejection; nothing is left
 * listening).
 *
 * @example A line-echo TCP server that drains on SIGTERM
 * ```ts
 * import { serveAndShutdown } from "@lastcall/lastcall";
 *
 * const server = await serveAndShutdown({
 *   port: 0,
 *   gracePeriod: 5_000,
 *   async connection(conn) {
 *     for await (const chunk of conn) await conn.write(chunk);
 *   },
 * });
 * console.log(`listening on ${server.addr.port}`);
 * const result = await server.shutdown();
 * console.log(result.graceful);
 * ```
 */
export async function serveAndShutdown(
  options: HttpOptions | TcpOptions | NodeServerOptions,
): Promise<Server> {
  const resolved = _resolveOptions(options);
  const shim = await loadShim();
  const signals = new ProcessSignals(shim, resolved.signals);
  const shutdownController = new AbortController();
  let serving: Serving;
  try {
    serving = await listen(shim, resolved, shutdownController.signal);
  } catch (error) {
    signals.remove();
    throw error;
  }
  const server = new LastcallServer(shim.runtime, resolved, serving, shutdownController);
  server.takeSignals(signals);
  return server;
}

/** Listens in the resolved mode; a port in use rejects with an error that names it. */
async function listen(
  shim: Shim,
  resolved: ResolvedOptions,
  shutdown: AbortSignal,
): Promise<Serving> {
  const { hostname, port, tls, idleGrace } = resolved;
  try {
    if (resolved.mode === "connection") return await _serveTcp(shim, resolved, shutdown);
    if (resolved.mode === "fetch") {
      const handler = _httpHandler(resolved, shutdown);
      return await shim.serveHttp({ hostname, port, tls, handler, shutdown, idleGrace });
    }
    const health = resolved.health === undefined
      ? undefined
      : _healthCheck(resolved.health, shutdown);
    return await shim.serveNodeServer(resolved.server, {
      hostname,
      port,
      shutdown,
      health,
      idleGrace,
    });
  } catch (error) {
    if (error instanceof Error && error.message.startsWith("Cannot serve")) throw error;
    // The runtime's own error, named the same way everywhere: the address, and
    // its code where it has one (Deno gives none for a name it cannot resolve).
    const code = (error as { code?: unknown })?.code;
    const reason = code === "EADDRINUSE"
      ? "the address is in use (EADDRINUSE)"
      : String((error as Error)?.message ?? error);
    const failure = new Error(`Cannot listen on ${hostname}:${port}: ${reason}`, { cause: error });
    throw typeof code === "string" ? Object.assign(failure, { code }) : failure;
  }
}

// ---- src/runtime/_shared/address.ts ----

// Peer addresses reported the same way on every runtime.

const IPV4_MAPPED = "::ffff:";

/** An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, from a dual-stack socket) as plain IPv4. */
function _plainHostname(hostname: string | undefined): string {
  if (hostname === undefined) return "";
  return hostname.startsWith(IPV4_MAPPED) && hostname.includes(".")
    ? hostname.slice(IPV4_MAPPED.length)
    : hostname;
}

// ---- src/runtime/_shared/grace_queue.ts ----

// The connections draining leaves open for the rest of their idle grace, each
// until its own time: one timer for all of them, however many (10,000 idle
// connections must not cost 10,000 timers), fired at the earliest time due.
// The timer never keeps the process alive: the open sockets do, and once
// they are gone nothing is left to wait for.


interface Due<T> {
  readonly item: T;
  readonly until: number;
}

/** Calls `expire` with each item once its time (epoch ms) has come, in time order, from one timer. */
class GraceQueue<T> {
  readonly #expire: (item: T) => void;
  #due: Due<T>[] = [];
  /** The first item not yet expired. */
  #next = 0;
  /** False once an item was added out of time order; sorted again when the timer fires. */
  #sorted = true;
  #cancelTimer: (() => void) | undefined;
  #timerAt = Infinity;

  constructor(expire: (item: T) => void) {
    this.#expire = expire;
  }

  /** Expires `item` at `until`. */
  add(item: T, until: number): void {
    const due = this.#due;
    const last = due[due.length - 1];
    if (last !== undefined && until < last.until) this.#sorted = false;
    due.push({ item, until });
    if (until < this.#timerAt) this.#schedule(until);
  }

  /** Takes every item not yet expired, none of them expired (the deadline closes them). */
  takeAll(): T[] {
    this.#cancelTimer?.();
    this.#timerAt = Infinity;
    const rest = this.#due.slice(this.#next).map((due) => due.item);
    this.#due = [];
    this.#next = 0;
    return rest;
  }

  #schedule(at: number): void {
    this.#cancelTimer?.();
    this.#timerAt = at;
    this.#cancelTimer = _callAt(at, this.#fire);
  }

  readonly #fire = (): void => {
    this.#timerAt = Infinity;
    if (!this.#sorted) {
      this.#due = this.#due.slice(this.#next).sort((a, b) => a.until - b.until);
      this.#next = 0;
      this.#sorted = true;
    }
    const due = this.#due;
    const now = Date.now();
    while (this.#next < due.length && due[this.#next]!.until <= now) {
      this.#expire(due[this.#next++]!.item);
    }
    if (this.#next < due.length) this.#schedule(due[this.#next]!.until);
    else {
      this.#due = [];
      this.#next = 0;
    }
  };
}

// ---- src/runtime/_shared/http2_sessions.ts ----

// HTTP/2 sessions of a node:http2 server as tracked connections: a session is
// active while it has a stream open. Closing a session sends GOAWAY (NO_ERROR):
// streams already open finish, the session closes when its last one ends,
// and the deadline destroys the rest.
//
// Where the engine still serves a stream the client opened while a first
// GOAWAY was in flight (Bun), closing is RFC 9113 §6.8's graceful shutdown in
// two steps: GOAWAY with the largest stream id, then, one PING round trip
// later (when every such stream has arrived), the graceful close, whose
// GOAWAY carries the real last stream id. Node's engine, nghttp2, ignores
// every new stream from the first GOAWAY it sends on, whatever its stream id
// (Node has no binding for nghttp2's shutdown notice, and writing the frame
// beside nghttp2 aborts the process on TLS), and Deno's node:http2 does the
// same (measured): there the first step would gain nothing and cost a PING
// wait, up to PING_ACK_WAIT_MS with Node's own client, which stops reading
// once it got a GOAWAY. So they get one GOAWAY, with the real last stream id;
// a stream that crossed it is reported unprocessed, safe to retry.


/** The error code of a graceful GOAWAY. */
const NO_ERROR = 0;
/** The largest stream id: a GOAWAY carrying it refuses no stream yet. */
const LARGEST_STREAM_ID = 2 ** 31 - 1;
/**
 * How long the first GOAWAY waits for its PING to come back before the final
 * one is sent anyway: a round trip takes milliseconds, so this only bounds a
 * client that never answers. The deadline destroys the session sooner if it
 * passes first.
 */
const PING_ACK_WAIT_MS = 1_000;

/** What the serving needs of the sessions of one server. */
interface Http2Sessions {
  /** GOAWAY to every session: each closes once its last stream ends. */
  goAway(): void;
  /** Destroys every session still open (the deadline passed). */
  destroyAll(): void;
}

/**
 * Starts the two-step GOAWAY on `session`, once: the final step runs when the
 * PING comes back, fails, or waited too long, whichever is first.
 */
function goAwayInTwoSteps(session: http2.ServerHttp2Session): void {
  if (session.closed || session.destroyed) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const finalStep = (): void => {
    if (timer === undefined) return; // already run
    clearTimeout(timer);
    timer = undefined;
    session.off("close", finalStep);
    // Node's graceful close: GOAWAY with the last stream it processed, then
    // the session ends behind that stream (at once when none is open).
    if (!session.destroyed) session.close();
  };
  timer = setTimeout(finalStep, PING_ACK_WAIT_MS);
  timer.unref?.();
  session.once("close", finalStep); // releases the timer
  session.goaway(NO_ERROR, LARGEST_STREAM_ID);
  // nghttp2 sends a PING ahead of a GOAWAY still queued, and writes what
  // this turn queued before the next immediate: the PING goes out behind the
  // GOAWAY, so its ack comes behind every frame the client sent before it
  // read the GOAWAY.
  setImmediate(() => {
    if (session.destroyed) return;
    if (session.ping(finalStep) === false) finalStep(); // too many PINGs unanswered
  });
}

/**
 * Tracks the sessions `server` opens from now on, in `tracker`; `twoSteps`
 * where the engine serves a stream that crossed a first GOAWAY (see above).
 */
function _trackSessions(
  server: http2.Http2Server,
  tracker: Tracker,
  twoSteps: boolean,
): Http2Sessions {
  const sessions = new Map<http2.ServerHttp2Session, () => void>();
  server.on("session", (session: http2.ServerHttp2Session) => {
    let closing = false;
    const close = (): void => {
      if (closing) return;
      closing = true;
      if (twoSteps) goAwayInTwoSteps(session);
      else if (!session.closed && !session.destroyed) session.close();
    };
    sessions.set(session, close);
    // Closing an idle session (drain) goes the same way.
    const conn = tracker.track({ close });
    let open = 0;
    const streamClosed = (): void => {
      if (--open === 0) conn.idle();
    };
    session.on("stream", (stream: http2.ServerHttp2Stream) => {
      if (open++ === 0) conn.active();
      stream.once("close", streamClosed);
    });
    session.once("close", () => {
      sessions.delete(session);
      conn.closed();
    });
  });
  return {
    goAway: () => sessions.forEach((close) => close()),
    destroyAll: () => sessions.forEach((_close, session) => session.destroy()),
  };
}

// ---- src/runtime/_shared/node_sockets.ts ----

// The sockets of a node:http(s) or node:net server as tracked connections:
// what lastcall keeps per socket, and how it learns that a socket closed.
//
// Memory, measured (Node 24, 2,000 idle keep-alive connections): a `close`
// listener of lastcall's own on every socket turned Node's single listener
// into an array for good, 225 of the 384 bytes lastcall added per
// connection. So sockets are watched only once shutdown began; before that,
// the ones gone are swept out whenever the set has doubled since the last
// sweep (amortized O(1) per connection, at most twice the live count kept).
// Even then, a socket idle when shutdown began is watched only if it gets a
// request: closing it is lastcall's own doing, reported as it happens, so
// 10,000 idle sockets cost no listener and no close event to wait for.
//
// A connection closed behind its last reply (Node's own close after a
// `Connection: close` response, or lastcall's once its response ends) closes
// like a TCP one: FIN after the last byte, then the bytes the client still
// sends (a request body the handler never read) are read and discarded until
// it closes or the linger passes. Destroying it at once would leave them
// unread, and the kernel would answer with a reset that can destroy the reply
// before the client reads it (Go's closeWriteAndWait does the same).
//
// A new or idle connection gets the TCP mode's idle grace when draining
// closes it: one quiet for `idleGrace` closes at once; one quiet for less
// (a client may be sending a request right now, as nginx does on a fresh
// upstream connection) stays open until it has been quiet that long, or
// until the answer to its next request, whichever comes first. Quiet means
// since it was accepted or its last response ended; a connection that has
// sent part of its first request is not quiet, and one that has not
// completed a request within the grace is closed (slowloris stays bounded).


const kState = Symbol("lastcall.socket");

/** The fewest sockets kept before the first sweep. */
const FIRST_SWEEP_AT = 256;

/** How long a connection closed behind its last reply reads and discards before it is destroyed. */
const REPLY_LINGER_MS = 1_000;

/**
 * A socket the Tracker asked to close while tracking it (it was handed over
 * while draining), before its state had a TrackedConn to report through.
 */
let closeAskedWhileTracking: SocketState | undefined;

/**
 * What lastcall keeps per socket, on the socket itself. It is also the
 * socket's handle in the Tracker: closing an idle one closes the socket
 * fully, as Node's own closeIdleConnections and Go do, so Node's parser reads
 * nothing more and a request racing in never reaches a handler (the client
 * sees the close and may retry); closing one behind its reply lingers (see
 * above).
 */
class SocketState {
  readonly socket: net.Socket;
  readonly owner: NodeSockets;
  conn!: TrackedConn;
  inFlight = 0;
  /** The connection's latest response: the one that carries `Connection: close` in shutdown. */
  last: http.ServerResponse | undefined;
  /** Its close is reported by a listener (else by close() itself). */
  watched = false;
  /** True while the end of a response asks the Tracker to close the connection behind it. */
  answering = false;
  /** Since when the connection has been quiet: accepted, or its last response ended (epoch ms). */
  quietSince: number = Date.now();
  /** Draining left it open for the rest of its idle grace. */
  graced = false;

  constructor(socket: net.Socket, owner: NodeSockets) {
    this.socket = socket;
    this.owner = owner;
  }

  /** Reports the socket's close from now on, whoever closes it. */
  watch(): void {
    if (this.watched) return;
    this.watched = true;
    this.socket.on("close", onSocketClose);
  }

  /**
   * Called by the Tracker: for a new or idle connection when draining
   * reaches it (after its idle grace), for one behind its reply, and for a
   * busy one at the deadline.
   */
  close(): void {
    if ((this.conn as TrackedConn | undefined) === undefined) {
      closeAskedWhileTracking = this;
      return;
    }
    const socket = this.socket;
    if (!socket.destroyed) {
      // Ending already (behind its reply, or a TLS close_notify): the linger
      // or the deadline (NodeSockets.destroyAll) ends it.
      if (socket.writableEnded) return;
      if (this.answering) return this.owner.linger(this);
      if (this.conn.state !== "active") {
        if (!this.graced && this.owner.grace(this)) return;
        return this.closeQuiet();
      }
      socket.destroy();
    }
    if (!this.watched) this.conn.closed();
  }

  /** Closes a new or idle connection now; one busy again is closed behind its answer instead. */
  closeQuiet(): void {
    const socket = this.socket;
    if (!socket.destroyed) {
      if (socket.writableEnded || this.conn.state === "active") return;
      // TLS: close_notify first, then the close, so the client reads a clean
      // end rather than a truncation; a request racing in meanwhile is not
      // run (interceptRequests).
      if ((socket as tls.TLSSocket).encrypted) {
        this.owner.ending(this);
        socket.end(() => socket.destroy());
        return;
      }
      socket.destroy();
    }
    if (!this.watched) this.conn.closed();
  }
}

type StatefulSocket = net.Socket & { [kState]?: SocketState };

// Shared by every socket: `this` is the emitter, so no closure per connection.
function onSocketClose(this: StatefulSocket): void {
  const state = this[kState];
  if (state === undefined) return;
  state.owner.ended(state);
  state.conn.closed();
}

/**
 * Node's http server calls `destroySoon` behind a response sent with
 * `Connection: close`; on the sockets lastcall closes that way it lingers
 * instead. Shared by every socket: `this` is the socket.
 */
function lingerSoon(this: StatefulSocket): void {
  const state = this[kState];
  if (state === undefined) this.end();
  else state.owner.linger(state);
}

/** The state lastcall keeps for `socket`, if it tracks it. */
function _stateOf(socket: net.Socket): SocketState | undefined {
  return (socket as StatefulSocket)[kState];
}

/** The tracked sockets of one server. */
class NodeSockets {
  readonly #tracker: Tracker;
  readonly #idleGrace: number;
  readonly #states = new Set<SocketState>();
  readonly #graced = new GraceQueue<SocketState>((state) => state.closeQuiet());
  /** Sockets ending (lingering, or sending close_notify), each with its linger timer if any. */
  readonly #ending = new Map<SocketState, ReturnType<typeof setTimeout> | undefined>();
  #sweepAt = FIRST_SWEEP_AT;
  #watching = false;

  constructor(tracker: Tracker, idleGrace: number) {
    this.#tracker = tracker;
    this.#idleGrace = idleGrace;
  }

  /** Tracks a socket just accepted. */
  add(socket: net.Socket): SocketState {
    const state = new SocketState(socket, this);
    state.conn = this.#tracker.track(state);
    if (closeAskedWhileTracking === state) {
      closeAskedWhileTracking = undefined;
      state.close();
    }
    (socket as StatefulSocket)[kState] = state;
    if (this.#watching) state.watch();
    else {
      this.#states.add(state);
      if (this.#states.size >= this.#sweepAt) this.#sweep();
    }
    return state;
  }

  /**
   * Shutdown began: from now on every close is reported. Busy sockets (and
   * new ones) are watched; idle ones wait in the set for {@linkcode settle}.
   * `each` is called with every socket still open.
   */
  watch(each: (state: SocketState) => void): void {
    this.#watching = true;
    for (const state of this.#states) {
      if (state.socket.destroyed) {
        this.#states.delete(state);
        state.conn.hijack(); // gone before shutdown began: counted nowhere
        continue;
      }
      if (state.conn.state === "active") {
        this.#states.delete(state);
        state.watch();
      }
      each(state);
    }
  }

  /**
   * The listener closes: the idle sockets whose peer closed them meanwhile
   * (during drainDelay) are reported now; the rest close through close().
   */
  settle(): void {
    for (const state of this.#states) {
      if (!state.watched && state.socket.destroyed) state.conn.closed();
    }
    this.#states.clear();
  }

  /** From now on, Node's close behind a `Connection: close` response lingers. */
  lingerOnClose(state: SocketState): void {
    (state.socket as StatefulSocket).destroySoon = lingerSoon;
  }

  /**
   * Closes the connection behind its last reply: FIN once everything written
   * is with the kernel, then read and discard until the peer closes (Node
   * destroys the socket once both sides ended) or the linger passes.
   */
  linger(state: SocketState): void {
    const socket = state.socket;
    if (socket.destroyed || this.#ending.has(state)) return;
    this.ending(state);
    this.#ending.set(state, setTimeout(() => socket.destroy(), REPLY_LINGER_MS));
    socket.end();
    // Node's parser reads on (a body no handler read was dumped): keep it reading.
    socket.resume();
  }

  /** `state` is ending: its close is reported, and the deadline destroys it. */
  ending(state: SocketState): void {
    state.watch();
    if (!this.#ending.has(state)) this.#ending.set(state, undefined);
  }

  /** `state`'s socket closed. */
  ended(state: SocketState): void {
    if (this.#ending.size === 0) return;
    clearTimeout(this.#ending.get(state));
    this.#ending.delete(state);
  }

  /**
   * Draining reached a new or idle connection: true when it stays open for
   * the rest of its idle grace (then closed by closeQuiet), false when it has
   * been quiet long enough to close now.
   */
  grace(state: SocketState): boolean {
    const now = Date.now();
    // Part of a first request has arrived: not quiet, whenever it came.
    const sending = state.conn.state === "new" && state.socket.bytesRead > 0;
    const until = (sending ? now : state.quietSince) + this.#idleGrace;
    if (until <= now) return false;
    state.graced = true;
    this.#graced.add(state, until);
    return true;
  }

  /** The deadline: destroys every socket still ending or in its idle grace. */
  destroyAll(): void {
    for (const state of [...this.#ending.keys()]) state.socket.destroy();
    for (const state of this.#graced.takeAll()) state.socket.destroy();
  }

  /** Drops the sockets that closed (before shutdown began: counted nowhere). */
  #sweep(): void {
    for (const state of this.#states) {
      if (!state.socket.destroyed) continue;
      this.#states.delete(state);
      state.conn.hijack();
    }
    this.#sweepAt = Math.max(FIRST_SWEEP_AT, this.#states.size * 2);
  }
}

// ---- src/runtime/_shared/tls_handshakes.ts ----

// Connections of a node:tls based server (https, http2 secure) still in their
// TLS handshake. Node's HTTP servers see a connection only once its handshake
// is over, so neither they nor `closeIdleConnections()` ever close one that
// stalls before it: lastcall closes those with the idle ones.


/**
 * How a TLS socket names the socket the server's `connection` event gave:
 * Node wraps that socket and keeps it as `_parent` (its internal name, stable
 * since v0.11); Bun 1.4.5 gives the TLS socket itself to both events, and its
 * `_parent` is null.
 */
type WrappingSocket = tls.TLSSocket & { _parent?: net.Socket | null };

/**
 * Watches `server`'s handshakes; the function returned destroys every
 * connection still in one. Where a finished handshake links to neither
 * socket (a runtime that links them some other way), it watches nothing
 * from then on rather than destroy connections that are serving.
 */
function _trackHandshakes(server: tls.Server): () => void {
  let pending: Set<net.Socket> | undefined = new Set();
  /** Forgets the connection of `secure`; false when it was not found. */
  const done = (secure: WrappingSocket | undefined): boolean =>
    secure !== undefined
    && (pending?.delete(secure) === true
      || (!!secure._parent && pending?.delete(secure._parent) === true));
  // One listener for every socket (`this` is the socket): no closure per connection.
  function forget(this: net.Socket): void {
    pending?.delete(this);
  }
  server.on("connection", (socket: net.Socket) => {
    if (pending === undefined) return;
    pending.add(socket);
    socket.on("close", forget);
  });
  server.on("secureConnection", (secure: WrappingSocket) => {
    if (!done(secure)) pending = undefined;
  });
  // A failed handshake may come after its socket closed: not proof of a missing link.
  server.on("tlsClientError", (_error: Error, secure: WrappingSocket) => done(secure));
  return () => {
    pending?.forEach((socket) => socket.destroy());
    pending?.clear();
  };
}

// ---- src/runtime/_shared/node_server.ts ----

// Connection tracking for node:http, node:https, node:http2 and node:net
// servers, shared by Node (its fetch adapter and `{ server }`) and Bun
// (`{ server }`): each HTTP/1 socket is a tracked connection, active while it
// has a response in flight; once shutdown begins the last response of each
// connection gets `Connection: close` (the last: a pipelined request behind
// it is answered too), and a request behind a response already sent with it
// is not run. HTTP/2 sessions are tracked by http2_sessions.ts.


/** Where the fetch adapter leaves what to do when a response closes (the client may have left). */
const ON_RESPONSE_CLOSE: unique symbol = Symbol("lastcall.onResponseClose");

/** A response that may carry an {@linkcode ON_RESPONSE_CLOSE} callback. */
type ClosableResponse = http.ServerResponse & {
  [ON_RESPONSE_CLOSE]?: (() => void) | undefined;
};

function requestStarted(socket: net.Socket, shuttingDown: boolean): SocketState | undefined {
  const state = _stateOf(socket);
  if (state === undefined) return undefined;
  if (shuttingDown) state.watch();
  state.inFlight++;
  state.conn.active();
  return state;
}

/**
 * An upgrade listener (ws, socket.io, a proxy) took the socket: it is in
 * flight until it closes, never idle. The app ends it on `Server.signal`;
 * the deadline destroys it.
 */
function upgraded(request: http.IncomingMessage): void {
  const state = _stateOf(request.socket);
  state?.watch(); // in flight until it closes, whoever closes it
  state?.conn.active();
}

/**
 * Watches upgrades once the app listens for them (now or later): Node answers
 * an upgrade request no one listens for as a plain request, so lastcall must
 * not be the only listener.
 */
function trackUpgrades(server: http.Server): void {
  if (server.listenerCount("upgrade") > 0) {
    server.prependListener("upgrade", upgraded);
    return;
  }
  server.on("newListener", function onNewListener(event: string | symbol) {
    if (event !== "upgrade") return;
    server.off("newListener", onNewListener);
    server.prependListener("upgrade", upgraded);
  });
}

function responseEnded(response: http.ServerResponse): void {
  const state = _stateOf(response.req.socket);
  if (state === undefined) return;
  if (state.last === response) state.last = undefined;
  if (--state.inFlight === 0) {
    state.quietSince = Date.now();
    // While draining, the Tracker closes the connection now: behind this reply.
    state.answering = true;
    state.conn.idle();
    state.answering = false;
  }
}

function isHttpServer(server: net.Server): server is http.Server {
  return "headersTimeout" in server;
}

function isHttp2Server(server: net.Server): server is net.Server & http2.Http2Server {
  return typeof (server as Partial<http2.Http2Server>).updateSettings === "function";
}

/** HTTP/2 has no `Connection` header (it is illegal there): a session ends by GOAWAY. */
function isHttp2(request: http.IncomingMessage): boolean {
  return request.httpVersionMajor === 2;
}

/** The headers of a health answer, on HTTP/1 and HTTP/2 alike. */
function healthHeaders(answer: HealthAnswer): Record<string, string | number> {
  return { "content-type": "text/plain; charset=utf-8", "content-length": answer.body.length };
}

/** True once `response` has sent `Connection: close`: its connection ends behind it. */
function sentClose(response: http.ServerResponse | undefined): boolean {
  return response !== undefined && response.headersSent
    && String(response.getHeader("connection")).toLowerCase() === "close";
}

/**
 * Once shutdown began: `Connection: close` on the connection's latest
 * response (`state.last` is still the one before it), taken off the earlier
 * one if that has not sent its headers yet.
 */
function closeBehindLast(state: SocketState, response: http.ServerResponse): void {
  const previous = state.last;
  if (previous !== undefined && !previous.headersSent && previous !== response) {
    previous.removeHeader("connection");
  }
  if (!response.headersSent) response.setHeader("connection", "close");
  state.owner.lingerOnClose(state);
}

/**
 * Takes the server's request listeners (the app's, or the fetch adapter's)
 * and runs them behind lastcall's own: the health path is answered first, and
 * a request behind a response already sent with `Connection: close` (Node
 * would drop its answer) never reaches them. Listeners the app adds later are
 * not behind it.
 */
function interceptRequests(
  server: http.Server,
  health: HealthCheck | undefined,
  track: (request: http.IncomingMessage, response: http.ServerResponse) => SocketState | undefined,
): void {
  const appListeners = server.listeners("request") as http.RequestListener[];
  server.removeAllListeners("request");
  server.on("request", function(this: http.Server, request, response) {
    const previous = _stateOf(request.socket)?.last;
    const state = track(request, response);
    if (sentClose(previous) || request.socket.writableEnded) {
      // Not run, so not answered: the client sees the close and may resend.
      return;
    }
    if (state !== undefined) state.last = response;
    // An HTTP/2 stream's health check was answered by interceptStreams.
    const answer = isHttp2(request)
      ? undefined
      : health?.(request.method ?? "GET", request.url ?? "/");
    if (answer === undefined) {
      for (const listener of appListeners) listener.call(this, request, response);
      return;
    }
    response.writeHead(answer.status, healthHeaders(answer))
      .end(request.method === "HEAD" ? undefined : answer.body);
  });
}

/**
 * The same for the streams of an HTTP/2 server, which also serves apps that
 * use the stream API rather than `request`: the health path is answered
 * before the app's stream listeners (Node's compatibility layer among them).
 */
function interceptStreams(server: http2.Http2Server, health: HealthCheck): void {
  // Typed loosely: @types/node and Deno's own Node types disagree on them.
  type Listener = (...args: unknown[]) => void;
  const appListeners = server.listeners("stream") as unknown as Listener[];
  server.removeAllListeners("stream");
  server.on("stream", function(this: http2.Http2Server, ...args: unknown[]) {
    const stream = args[0] as http2.ServerHttp2Stream;
    const headers = args[1] as http2.IncomingHttpHeaders;
    const method = String(headers[":method"] ?? "GET");
    const answer = health(method, String(headers[":path"] ?? "/"));
    if (answer === undefined) {
      for (const listener of appListeners) listener.apply(this, args);
      return;
    }
    stream.respond({ ":status": answer.status, ...healthHeaders(answer) });
    stream.end(method === "HEAD" ? undefined : answer.body);
  });
}

/**
 * Closes the listener only: node:http's own close() would also destroy the
 * idle connections at once (with no close_notify on TLS), before the drain
 * closes them after their idle grace. It is still called, with that part
 * switched off, since it also stops node:http's unref'd connection-checking
 * interval, which would otherwise keep the server reachable for good. Bun's
 * node:http server is no net.Server, and its close() closes them itself.
 */
function stopAccepting(server: net.Server, h2: boolean): void {
  if (h2) {
    // HTTP/2 sessions get their GOAWAY from http2_sessions.ts, in one place:
    // an HTTP/2 server's own close (Node 24+, Bun) would send every session
    // a GOAWAY of its own at once (on Bun, before the first of two steps).
    net.Server.prototype.close.call(server);
    return;
  }
  const httpServer = server as Partial<http.Server>;
  if (!(server instanceof net.Server) || typeof httpServer.closeIdleConnections !== "function") {
    server.close();
    return;
  }
  const own = Object.getOwnPropertyDescriptor(server, "closeIdleConnections");
  httpServer.closeIdleConnections = () => {};
  try {
    server.close();
  } finally {
    if (own === undefined) delete httpServer.closeIdleConnections;
    else Object.defineProperty(server, "closeIdleConnections", own);
  }
}

/**
 * Tracks the connections of `candidate`, a node:http, node:https, node:http2
 * or node:net server not yet listening (checked by the options), and listens
 * on it. `http2GoAwayInTwoSteps` where the runtime's HTTP/2 engine serves a
 * stream that crossed a first GOAWAY (Bun; see http2_sessions.ts).
 */
async function _serveNodeServer(
  server: unknown,
  options: NodeServerServeOptions,
  http2GoAwayInTwoSteps = false,
): Promise<Serving> {
  const candidate = server as net.Server;
  const { shutdown } = options;
  const tracker = _trackerFor(shutdown);
  const h2 = isHttp2Server(candidate);
  const http = h2 || isHttpServer(candidate);
  const sessions = h2 ? _trackSessions(candidate, tracker, http2GoAwayInTwoSteps) : undefined;
  const isTls = candidate instanceof tls.Server;
  const closeHandshakes = isTls ? _trackHandshakes(candidate) : undefined;

  // TLS servers hand requests the TLS socket, so that is the one tracked.
  // HTTP/2 connections are tracked as sessions (h2c ones all are).
  const connectionEvent = isTls ? "secureConnection" : "connection";
  const sockets = new NodeSockets(tracker, options.idleGrace);
  if (!h2 || isTls) {
    candidate.on(connectionEvent, (socket: net.Socket) => {
      if ((socket as tls.TLSSocket).alpnProtocol === "h2") return;
      const state = sockets.add(socket);
      // A plain TCP server has no request boundary: its connections count as
      // busy until they close or the deadline cuts them.
      if (!http) state.conn.active();
    });
  }
  // Once shutdown begins, closes count (during drainDelay too), and the
  // latest response of each connection, if its head is not sent yet, says
  // Connection: close.
  let shuttingDown = false; // shutdown.aborted, without a getter per request
  shutdown.addEventListener("abort", () => {
    shuttingDown = true;
    sockets.watch((state) => {
      if (state.last !== undefined) closeBehindLast(state, state.last);
    });
  }, { once: true });

  if (h2 && options.health !== undefined) interceptStreams(candidate, options.health);
  if (http) {
    trackUpgrades(candidate as http.Server);
    function onResponseClose(this: ClosableResponse): void {
      responseEnded(this);
      this[ON_RESPONSE_CLOSE]?.();
    }
    interceptRequests(candidate as http.Server, options.health, (request, response) => {
      response.on("close", onResponseClose);
      if (isHttp2(request)) return undefined;
      const state = requestStarted(request.socket, shuttingDown);
      if (shuttingDown && state !== undefined) closeBehindLast(state, response);
      return state;
    });
  }

  await new Promise<void>((resolve, reject) => {
    candidate.once("error", reject);
    candidate.listen({ port: options.port, host: options.hostname }, () => {
      candidate.off("error", reject);
      resolve();
    });
  });
  const address = candidate.address() as net.AddressInfo;
  return _trackedServing(
    { hostname: address.address, port: address.port },
    tracker,
    () => {
      sockets.settle();
      stopAccepting(candidate, h2);
      closeHandshakes?.();
      sessions?.goAway();
    },
    () => {
      sockets.destroyAll();
      sessions?.destroyAll();
    },
  );
}

// ---- src/runtime/_shared/process_signal.ts ----

// Process signals through node:process, which Node and Bun both provide.


/** Calls `handler` on each delivery of `signal`; returns the remover. */
function _onProcessSignal(signal: string, handler: () => void): () => void {
  process.on(signal as NodeJS.Signals, handler);
  return () => void process.off(signal as NodeJS.Signals, handler);
}

/** The names of the other `process.on(signal)` listeners, besides `own`. */
function _otherProcessSignalListeners(signal: string, own: () => void): string[] {
  return process.listeners(signal as NodeJS.Signals)
    .filter((listener) => listener !== own)
    .map((listener) => listener.name === "" ? "an anonymous function" : `${listener.name}()`);
}

// ---- src/runtime/_shared/pull_reader.ts ----

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
class PullReader {
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

// ---- src/runtime/_shared/wrapped_body.ts ----

// A response whose body passes through lastcall: so that the deadline can cut
// it (Deno, where nothing else ends a response still streaming), or so that
// serving learns when it is over (Bun, which does not say).

/** What a wrapped body offers. */
interface WrappedBody {
  response: Response;
  /** Errors the body, so the client sees the response incomplete, and cancels its source. */
  cut: () => void;
}

/**
 * The response, re-wrapped; `onEnd` runs once when its body is over: read to
 * the end, cancelled (the client left), failed or cut.
 */
function _wrapBody(response: Response, onEnd: () => void = () => {}): WrappedBody {
  const body = response.body;
  if (body === null) {
    onEnd();
    return { response, cut: () => {} };
  }
  const reader = body.getReader();
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    onEnd();
  };
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    async pull(c) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          c.close();
          end();
        } else c.enqueue(value);
      } catch (error) {
        end();
        throw error;
      }
    },
    cancel(reason) {
      end();
      return reader.cancel(reason);
    },
  });
  const cut = (): void => {
    end();
    try {
      controller.error(new Error("The response was cut at the shutdown deadline"));
    } catch {
      // Already closed or errored.
    }
    reader.cancel().catch(() => {});
  };
  const { status, statusText, headers } = response;
  return { response: new Response(stream, { status, statusText, headers }), cut };
}

// ---- src/runtime/_shared/request_shutdown.ts ----

// Per-request shutdown signals, for `RequestInfo.shutdown`: each request gets
// its own signal, made the first time the handler reads it, aborted when
// shutdown begins, and forgotten with its listeners once the request is over
// (a client that left before shutdown never sees an abort).


/**
 * The live per-request signals of one server. A shim asks for one with a way
 * to learn when its request is over.
 */
class RequestShutdowns {
  /** The server's own signal: aborts when shutdown begins. */
  readonly #server: AbortSignal;
  readonly #live = new Set<AbortController>();

  constructor(shutdown: AbortSignal) {
    this.#server = shutdown;
    shutdown.addEventListener("abort", () => {
      for (const controller of this.#live) controller.abort(shutdown.reason);
      this.#live.clear();
    }, { once: true });
  }

  /**
   * A signal for one request. `untilOver` is called with the function that
   * ends it and returns false when the request is already over, in which case
   * the signal never aborts.
   */
  signal(untilOver: (end: () => void) => boolean): AbortSignal {
    const controller = new AbortController();
    if (this.#server.aborted) controller.abort(this.#server.reason);
    else if (untilOver(() => this.#live.delete(controller))) this.#live.add(controller);
    return controller.signal;
  }
}

/**
 * A RequestInfo on a runtime that serves web Responses itself (Deno, Bun). A
 * shutdown signal read before the handler returns ends with the response's
 * body, which then passes through {@linkcode _wrapBody}; the runtime's own
 * report (`watch`) ends it too, and is all there is for a signal read later.
 * Nothing is made for a request that never reads its signal.
 */
abstract class BodyScopedRequestInfo implements ShimRequestInfo {
  abstract readonly remoteAddr: Addr;
  abstract upgradeWebSocket(request: Request, options?: WebSocketUpgradeOptions): WebSocketUpgrade;
  readonly #shutdowns: RequestShutdowns;
  #signal: AbortSignal | undefined;
  /** Ends the signal; set once it was made. */
  #end: (() => void) | undefined;
  #returned = false;
  /** Set once the request became a WebSocket: the signal lives as long as the socket. */
  #socketClosed: Promise<unknown> | undefined;

  constructor(shutdowns: RequestShutdowns) {
    this.#shutdowns = shutdowns;
  }

  /** Registers `end` on the runtime's own report that the request is over. */
  protected abstract watch(end: () => void): void;

  /** The request's shutdown signal, made on first read. */
  get shutdown(): AbortSignal {
    return this.#signal ??= this.#shutdowns.signal((end) => {
      this.#end = end;
      if (this.#socketClosed !== undefined) void this.#socketClosed.then(end);
      // The runtime's report ends it, unless the request became a WebSocket.
      else this.watch(() => this.#socketClosed === undefined && end());
      return true;
    });
  }

  /** The request is a WebSocket now: its signal ends when `closed` settles. */
  protected upgraded(closed: Promise<unknown>): void {
    this.#socketClosed = closed;
    if (this.#end !== undefined) void closed.then(this.#end);
  }

  /** Cuts the response's body at the deadline; set once {@linkcode finish} wrapped it. */
  cut: (() => void) | undefined;

  /** The response to send: once the handler read its signal, one that ends it with its body. */
  finish(response: Response): Response {
    const readBeforeReturn = !this.#returned && this.#end !== undefined;
    this.#returned = true;
    if (!readBeforeReturn || this.#socketClosed !== undefined) return response;
    const wrapped = _wrapBody(response, this.#end!);
    this.cut = wrapped.cut;
    return wrapped.response;
  }
}

// ---- src/runtime/_shared/response.ts ----

// What the shims over a runtime's own fetch server (Deno.serve, Bun.serve)
// do to a response once shutdown has begun.

/**
 * The response with `Connection: close`, so the client (or proxy) retires the
 * connection itself after it. Responses with immutable headers are copied.
 */
function _withConnectionClose(response: Response): Response {
  try {
    response.headers.set("connection", "close");
    return response;
  } catch {
    const copy = new Response(response.body, response);
    copy.headers.set("connection", "close");
    return copy;
  }
}

// ---- src/runtime/_shared/utf8.ts ----

// One encoder for the shims whose sockets take only bytes (Deno, Bun).

/** Encodes the strings a connection writes. */
const _utf8: { encode(input: string): Uint8Array } = new TextEncoder();

// ---- src/runtime/_shared/websockets.ts ----

// The WebSockets a fetch handler upgraded through `info.upgradeWebSocket`
// (Deno, Bun): in flight until they close, told "going away" when the
// listener closes, and terminated at the deadline.


/** Close code 1001: the endpoint is going away (RFC 6455, 7.4.1). */
const GOING_AWAY = 1001;

/** One upgraded socket, as the registry drives it. */
interface TrackedWebSocket {
  /** Starts the close handshake. */
  close(code: number, reason: string): void;
  /** Drops the connection without a handshake, at the deadline. */
  terminate(): void;
}

/** The live WebSockets of one server, and how those that ended during shutdown ended. */
class WebSockets {
  readonly #live = new Set<TrackedWebSocket>();
  readonly #shutdown: AbortSignal;
  #wake: (() => void) | undefined;
  /** The listener closed: a socket upgraded from now on is told at once. */
  #goneAway = false;
  drained = 0;

  constructor(shutdown: AbortSignal) {
    this.#shutdown = shutdown;
  }

  /**
   * Tracks `socket` until `closed` is called for it. A handler that upgrades
   * after the listener closed (it was slow to) gets its socket told "going
   * away" at once, as Deno does, rather than held open to the deadline.
   */
  add(socket: TrackedWebSocket): void {
    this.#live.add(socket);
    if (this.#goneAway) socket.close(GOING_AWAY, "going away");
  }

  /** The socket is gone; during shutdown it counts as drained. */
  closed(socket: TrackedWebSocket): void {
    if (!this.#live.delete(socket)) return;
    if (this.#shutdown.aborted) this.drained++;
    if (this.#live.size > 0) return;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Sends close 1001 to every socket the app has not closed itself. */
  goingAway(): void {
    this.#goneAway = true;
    for (const socket of this.#live) socket.close(GOING_AWAY, "going away");
  }

  /** Resolves once every socket is gone, or when `signal` aborts. */
  allClosed(signal: AbortSignal): Promise<void> {
    if (this.#live.size === 0 || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.#wake = done;
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /** Waits until every socket is gone or `signal` aborts, then terminates the rest. */
  async drain(signal: AbortSignal): Promise<DrainCounts> {
    await this.allClosed(signal);
    const forced = this.#live.size;
    for (const socket of this.#live) socket.terminate();
    this.#live.clear();
    return { closedIdle: 0, drained: this.drained, forced };
  }
}

// ---- src/runtime/node/stream_state.ts ----

// Where a node:http response keeps its stream state. Node's HTTP/2
// compatibility API (Http2ServerResponse) lacks some of ServerResponse's
// members; its stream has them.


/** The stream state of a response, where Node keeps it: HTTP/2 responses have it on their stream. */
interface StreamState {
  readonly destroyed: boolean;
  readonly closed: boolean;
  readonly writableNeedDrain: boolean;
}

/** A response's stream state: its own (HTTP/1) or its HTTP/2 stream's (Node's compatibility API). */
function _streamState(outgoing: http.ServerResponse): StreamState {
  return (outgoing as { stream?: StreamState }).stream ?? outgoing;
}

// ---- src/runtime/node/request.ts ----

// A web Request over a node:http request, built lazily: method, url, headers
// and signal are computed on first use, and a real Request (for the body and
// everything else) only when the handler asks for it. Most handlers read the
// method, the URL and a header or two, so most requests never pay for
// Headers, URL parsing, an AbortController and a body stream.


/** The request's headers, without HTTP/2's pseudo-headers (`:path` and the like). */
function toHeaders(raw: string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.charCodeAt(0) !== 0x3a) headers.append(raw[i]!, raw[i + 1]!);
  }
  return headers;
}

let realRequestOf: (request: _NodeRequest) => Request;
let nodeRequestCompleted = false;

/**
 * Makes {@linkcode _NodeRequest} answer everything else a Request has, from
 * the real one. Run when a fetch server starts, not at import: reading
 * `Request` loads Node's fetch implementation (about 40 ms and 9-13 MB),
 * which `{ server }` and TCP servers never need.
 */
function _completeNodeRequest(): void {
  if (nodeRequestCompleted) return;
  nodeRequestCompleted = true;
  const own = new Set(Reflect.ownKeys(_NodeRequest.prototype));
  for (const key of Reflect.ownKeys(Request.prototype)) {
    if (own.has(key)) continue;
    const descriptor = Object.getOwnPropertyDescriptor(Request.prototype, key)!;
    if (descriptor.get !== undefined) {
      Object.defineProperty(_NodeRequest.prototype, key, {
        get(this: _NodeRequest) {
          return Reflect.get(realRequestOf(this), key);
        },
        configurable: true,
      });
    } else if (typeof descriptor.value === "function") {
      Object.defineProperty(_NodeRequest.prototype, key, {
        value(this: _NodeRequest, ...args: unknown[]) {
          return (descriptor.value as (...args: unknown[]) => unknown).apply(
            realRequestOf(this),
            args,
          );
        },
        configurable: true,
        writable: true,
      });
    }
  }
  Object.setPrototypeOf(_NodeRequest.prototype, Request.prototype);
}

/** A `Request` whose parts are made from `incoming` when first read. */
class _NodeRequest {
  #incoming: http.IncomingMessage;
  #outgoing: http.ServerResponse;
  #scheme: "http" | "https";
  #url?: string;
  #headers?: Headers;
  #controller?: AbortController;
  #request?: Request;

  constructor(
    incoming: http.IncomingMessage,
    outgoing: http.ServerResponse,
    scheme: "http" | "https",
  ) {
    this.#incoming = incoming;
    this.#outgoing = outgoing;
    this.#scheme = scheme;
  }

  get method(): string {
    return this.#incoming.method ?? "GET";
  }

  get url(): string {
    if (this.#url === undefined) {
      const { headers, url } = this.#incoming;
      // HTTP/2 names the host in :authority.
      const host = headers.host ?? headers[":authority"] ?? "localhost";
      this.#url = `${this.#scheme}://${host}${url ?? "/"}`;
    }
    return this.#url;
  }

  get headers(): Headers {
    return this.#headers ??= toHeaders(this.#incoming.rawHeaders);
  }

  /**
   * Aborts when the client goes away before the response is complete: its
   * connection closes, or (HTTP/1) it half-closes, as Go's request context
   * does; a response written after that still goes out.
   */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController();
      const outgoing = this.#outgoing;
      const socket = this.#incoming.httpVersionMajor === 2 ? undefined : this.#incoming.socket;
      const onGone = () => {
        if (!outgoing.writableFinished) controller.abort();
      };
      if (_streamState(outgoing).closed || socket?.readableEnded) onGone();
      else {
        socket?.once("end", onGone);
        outgoing.once("close", () => {
          socket?.off("end", onGone);
          onGone();
        });
      }
      this.#controller = controller;
    }
    return this.#controller.signal;
  }

  static {
    realRequestOf = (request) => request.#real();
  }

  #real(): Request {
    if (this.#request === undefined) {
      const method = this.method;
      const init: RequestInit & { duplex?: "half" } = {
        method,
        headers: this.headers,
        signal: this.signal,
      };
      if (method !== "GET" && method !== "HEAD") {
        init.body = Readable.toWeb(this.#incoming) as unknown as ReadableStream<Uint8Array>;
        init.duplex = "half";
      }
      this.#request = new Request(this.url, init);
    }
    return this.#request;
  }
}

// ---- src/runtime/node/fetch.ts ----

// Node's fetch adapter: node:http requests in, web Requests to the handler,
// web Responses streamed back with backpressure. Bodies are never buffered
// whole.


/** Headers HTTP/2 forbids (RFC 9113, 8.2.2): Node warns about each and drops it. */
const CONNECTION_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

function waitForDrain(outgoing: http.ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (drained: boolean) => () => {
      outgoing.off("drain", onDrain);
      outgoing.off("close", onClose);
      resolve(drained);
    };
    const onDrain = done(true);
    const onClose = done(false);
    outgoing.on("drain", onDrain);
    outgoing.on("close", onClose);
  });
}

/** Streams `reader` to `outgoing` after `first`, the first chunk already sent. */
async function writeRest(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  outgoing: http.ServerResponse,
  state: ReturnType<typeof _streamState>,
  next: ReturnType<ReadableStreamDefaultReader<Uint8Array>["read"]>,
): Promise<void> {
  for (;;) {
    const { done, value } = await next;
    if (done) break;
    if (state.destroyed) return; // the client went away: onClose cancelled the body
    if (!outgoing.write(value) && !(await waitForDrain(outgoing))) {
      await reader.cancel();
      return; // the client went away
    }
    next = reader.read();
  }
  if (!state.destroyed) outgoing.end();
}

/** Ends a streamed response when its client half-closes; returns the remover. */
function cutOnClientEnd(outgoing: http.ServerResponse): (() => void) | undefined {
  // The server is half-open so that a late answer still reaches a client that
  // sent FIN after its request, streamed or not; a FIN while a body streams
  // means the client left, as it did before (Go cancels the request's context
  // on it), and an endless stream must not outlive it.
  const socket = outgoing.req.httpVersionMajor === 2 ? undefined : outgoing.socket;
  if (socket == null || socket.readableEnded) return undefined;
  const cut = (): void => void outgoing.destroy();
  socket.once("end", cut);
  return () => socket.off("end", cut);
}

/**
 * Writes the head and the body. A body that is complete once its first chunk
 * is read (a string, bytes, JSON: most responses) goes out as one write with
 * Content-Length; any other streams chunk by chunk, the first chunk leaving
 * no later than the end of the current tick.
 */
async function writeHeadAndBody(
  status: number,
  statusText: string | undefined,
  headers: string[],
  body: ReadableStream<Uint8Array>,
  outgoing: http.ServerResponse,
): Promise<void> {
  const reader = body.getReader();
  // A client that goes away cancels the body, so its source stops producing.
  // The tracking's own close listener calls this: no listener per response.
  (outgoing as ClosableResponse)[ON_RESPONSE_CLOSE] = () => {
    if (!outgoing.writableFinished) reader.cancel().catch(() => {});
  };
  const state = _streamState(outgoing);
  let stopCutting: (() => void) | undefined;
  try {
    const first = await reader.read();
    if (first.done) {
      if (!state.destroyed) outgoing.writeHead(status, statusText, headers).end();
      return;
    }
    let sent = false;
    const send = () => {
      if (sent) return;
      sent = true;
      outgoing.writeHead(status, statusText, headers).write(first.value);
      stopCutting = cutOnClientEnd(outgoing);
    };
    process.nextTick(send);
    const second = reader.read();
    const { done } = await second;
    if (done && !sent) {
      sent = true;
      if (!headers.includes("content-length")) {
        headers.push("content-length", String(first.value.byteLength));
      }
      outgoing.writeHead(status, statusText, headers).end(first.value);
      return;
    }
    send();
    if (state.writableNeedDrain && !(await waitForDrain(outgoing))) {
      await reader.cancel();
      return; // the client went away
    }
    await writeRest(reader, outgoing, state, second);
  } catch (error) {
    // The body failed mid-stream: cut the response so the client sees it incomplete.
    outgoing.destroy(error as Error);
  } finally {
    stopCutting?.();
    (outgoing as ClosableResponse)[ON_RESPONSE_CLOSE] = undefined;
    reader.releaseLock();
  }
}

function writeResponse(
  response: Response,
  outgoing: http.ServerResponse,
  incoming: http.IncomingMessage,
): Promise<void> | undefined {
  const isHead = incoming.method === "HEAD";
  const headers: string[] = [];
  let statusText: string | undefined;
  if (incoming.httpVersionMajor === 2) {
    for (const [name, value] of response.headers) {
      if (!CONNECTION_HEADERS.has(name)) headers.push(name, value);
    }
  } else {
    // Connection: close, once set for shutdown, stays.
    const keepConnection = outgoing.hasHeader("connection");
    for (const [name, value] of response.headers) {
      if (name !== "connection" || !keepConnection) headers.push(name, value);
    }
    // HTTP/2 has no reason phrase.
    statusText = response.statusText || undefined;
  }
  const body = response.body;
  if (body === null || isHead) {
    body?.cancel().catch(() => {});
    outgoing.writeHead(response.status, statusText, headers).end();
    return;
  }
  return writeHeadAndBody(response.status, statusText, headers, body, outgoing);
}

/** What the handler learns besides the Request, each part made when first read. */
class NodeRequestInfo implements ShimRequestInfo {
  readonly #outgoing: http.ServerResponse;
  readonly #shutdowns: RequestShutdowns;
  #remoteAddr: Addr | undefined;
  #shutdown: AbortSignal | undefined;

  constructor(outgoing: http.ServerResponse, shutdowns: RequestShutdowns) {
    this.#outgoing = outgoing;
    this.#shutdowns = shutdowns;
  }

  get remoteAddr(): Addr {
    const socket = this.#outgoing.req.socket;
    return this.#remoteAddr ??= {
      hostname: _plainHostname(socket.remoteAddress),
      port: socket.remotePort ?? 0,
    };
  }

  get shutdown(): AbortSignal {
    const outgoing = this.#outgoing;
    return this.#shutdown ??= this.#shutdowns.signal((end) => {
      if (_streamState(outgoing).closed) return false;
      outgoing.once("close", end);
      return true;
    });
  }

  upgradeWebSocket(): never {
    throw new TypeError(
      "Cannot upgrade to a WebSocket in fetch mode on Node: serve { server: http.createServer(app) } "
        + "and attach the ws package (new WebSocketServer({ server })), closing its clients on server.signal",
    );
  }
}

/**
 * A node:http request listener that serves `handler`; with node:http2's
 * compatibility API it serves HTTP/2 streams too.
 */
function _fetchListener(
  handler: HttpHandler,
  shutdown: AbortSignal,
  scheme: "http" | "https",
): (incoming: http.IncomingMessage, outgoing: http.ServerResponse) => void {
  _completeNodeRequest();
  const shutdowns = new RequestShutdowns(shutdown);
  return (incoming, outgoing) => {
    const fail = (error: unknown) => outgoing.destroy(error as Error);
    try {
      const request = new _NodeRequest(incoming, outgoing, scheme) as unknown as Request;
      const response = handler(request, new NodeRequestInfo(outgoing, shutdowns));
      if (response instanceof Response) {
        writeResponse(response, outgoing, incoming)?.catch(fail);
      } else {
        response.then((r) => writeResponse(r, outgoing, incoming)).catch(fail);
      }
    } catch (error) {
      fail(error);
    }
  };
}

// ---- src/runtime/node/socket.ts ----

// Raw TCP on Node: node:net sockets behind the RawSocket interface.


/** A node:net socket as a RawSocket. */
class NodeSocket implements RawSocket {
  readonly remoteAddr: Addr;
  readonly closed: Promise<void>;
  readonly #socket: net.Socket;
  readonly #reader: PullReader;
  /** False while a TLS socket is still in its handshake. */
  #secure: boolean;

  constructor(socket: net.Socket) {
    this.#socket = socket;
    this.#secure = !(socket instanceof tls.TLSSocket);
    if (!this.#secure) socket.once("secure", () => this.#secure = true);
    this.remoteAddr = {
      hostname: _plainHostname(socket.remoteAddress),
      port: socket.remotePort ?? 0,
    };
    this.#reader = new PullReader(() => socket.pause(), () => socket.resume());
    socket.on("data", (chunk: Uint8Array) => this.#reader.push(chunk));
    const end = (): void => this.#reader.end();
    socket.on("end", end);
    // A reset or other socket error ends reading like EOF; "close" follows.
    socket.on("error", end);
    this.closed = new Promise((resolve) => {
      socket.on("close", () => {
        end();
        resolve();
      });
    });
  }

  read(deliver: (chunk: Uint8Array | null) => void): void {
    this.#reader.read(deliver);
  }

  write(data: Uint8Array | string): Promise<void> {
    const socket = this.#socket;
    if (socket.destroyed || !socket.writable) return Promise.reject(_connClosedError());
    if (socket.write(data)) return _WRITTEN;
    return new Promise((resolve, reject) => {
      const settle = (): void => {
        socket.off("drain", settle);
        socket.off("close", settle);
        if (socket.destroyed) reject(_connClosedError());
        else resolve();
      };
      socket.on("drain", settle);
      socket.on("close", settle);
    });
  }

  closeWrite(): Promise<void> {
    const socket = this.#socket;
    // A TLS handshake in progress has nothing to deliver: closing it must not wait.
    if (!this.#secure) socket.destroy();
    if (socket.destroyed || socket.writableEnded) return Promise.resolve();
    return new Promise((resolve) => {
      socket.once("close", resolve);
      socket.end(resolve);
    });
  }

  destroy(): void {
    this.#socket.destroy();
  }
}

/**
 * Wraps each accepted socket in TLS itself rather than through a tls.Server,
 * so a connection is handed over (and tracked) from its first byte: one
 * still in its handshake is an idle connection, closed at once on drain.
 */
function tlsAcceptor(
  certificate: NonNullable<TcpListenOptions["tls"]>,
  accept: TcpListenOptions["accept"],
): (socket: net.Socket) => void {
  const secureContext = _loadingCertificate(
    certificate,
    () => tls.createSecureContext(certificate),
  );
  return (socket) => {
    const secure = new tls.TLSSocket(socket, { isServer: true, secureContext });
    // A failed handshake is the client's business: the socket just closes.
    secure.on("error", () => secure.destroy());
    accept(new NodeSocket(secure));
  };
}

/** Listens with node:net (and TLS); a port in use rejects with Node's own EADDRINUSE error. */
function _listenNodeTcp(
  { hostname, port, tls: certificate, accept }: TcpListenOptions,
): Promise<TcpListener> {
  const server = net.createServer(
    // Half-open: a peer that sends its last command and FIN still gets the reply.
    { allowHalfOpen: true, noDelay: true, keepAlive: true },
    certificate === undefined
      ? (socket) => accept(new NodeSocket(socket))
      : tlsAcceptor(certificate, accept),
  );
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host: hostname }, () => {
      server.off("error", reject);
      const address = server.address() as net.AddressInfo;
      resolve({
        addr: { hostname: address.address, port: address.port },
        close: () => void server.close(),
      });
    });
  });
}

// ---- src/runtime/node/mod.ts ----

// Node's shim: node:net (and node:tls) for raw TCP, node:http with
// connection tracking for HTTP, node:http2 for HTTPS (HTTP/2 and HTTP/1.1 by
// ALPN), and the fetch adapter on top of them.


/** node:http's switch for half-open connections (Deno's Node types lack it). */
interface HalfOpenSetting {
  httpAllowHalfOpen?: boolean;
}

function createServer(
  { tls, handler, shutdown }: HttpServeOptions,
): http.Server | http2.Http2SecureServer {
  if (tls === undefined) {
    const server = http.createServer(
      { noDelay: true, keepAlive: true },
      _fetchListener(handler, shutdown, "http"),
    );
    // Half-open: a client that sends its request and then FIN still gets the
    // answer, however late (node:http would close on the FIN; Node 22-26
    // offer this only as a property).
    (server as HalfOpenSetting).httpAllowHalfOpen = true;
    return server;
  }
  const listener = _fetchListener(handler, shutdown, "https");
  // The listener serves HTTP/1.1 requests and HTTP/2 streams alike (Node's compatibility API).
  const server = _loadingCertificate(tls, () =>
    http2.createSecureServer(
      { ...tls, allowHTTP1: true, allowHalfOpen: true, noDelay: true, keepAlive: true },
      listener as unknown as (
        request: http2.Http2ServerRequest,
        response: http2.Http2ServerResponse,
      ) => void,
    ));
  // The same for HTTP/1.1 over TLS: node:http's connection handling reads it here.
  (server as HalfOpenSetting).httpAllowHalfOpen = true;
  return server;
}

function serveNodeHttp(options: HttpServeOptions): Promise<Serving> {
  const server = createServer(options);
  // The fetch handler answers the health path itself.
  return _serveNodeServer(server, { ...options, health: undefined });
}

/** The shim for Node. */
const _nodeShim: Shim = {
  runtime: "node",
  listenTcp: _listenNodeTcp,
  serveHttp: serveNodeHttp,
  serveNodeServer: _serveNodeServer,
  onSignal: _onProcessSignal,
  otherSignalListeners: _otherProcessSignalListeners,
};

// ---- src/runtime/deno/streamed_body.ts ----

// Telling a streamed response body from a static one on Deno, without reading
// `response.body`: reading it turns a string or bytes body into a stream and
// takes the response off Deno.serve's fast path (about 20 % of hello-world
// throughput). Deno 2.9 keeps a Response's inner response under an own symbol
// described "response"; its `body` is null for a string or bytes body, and
// holds the ReadableStream in `streamOrStatic` for a stream (a Blob or
// FormData body is a stream there too). These are internals: they are probed
// once, and where the probe finds something else the caller falls back to
// what lastcall did before it looked.

/** The part of Deno's inner response this reads. */
interface InnerResponse {
  body?: { streamOrStatic?: unknown } | null;
}

/** A Response seen through its own symbol-keyed properties. */
type ResponseInternals = Record<symbol, InnerResponse | undefined>;

/** The symbol under which Deno keeps a Response's inner response, or undefined where it is not found. */
function findInnerResponseKey(): symbol | undefined {
  try {
    const staticBody = new Response("probe") as unknown as ResponseInternals;
    const streamBody = new Response(new ReadableStream()) as unknown as ResponseInternals;
    const key = Object.getOwnPropertySymbols(staticBody).find((symbol) =>
      symbol.description === "response"
    );
    if (key === undefined || staticBody[key]?.body !== null) return undefined;
    return streamBody[key]?.body?.streamOrStatic instanceof ReadableStream ? key : undefined;
  } catch {
    return undefined;
  }
}

/** Tells whether a response's body is a stream; made once per server. */
type StreamedBodyTest = (response: Response) => boolean;

/**
 * The test for streamed bodies on this runtime, by Deno's internals; undefined
 * where the probe does not find them.
 */
function _streamedBodyTest(): StreamedBodyTest | undefined {
  const key = findInnerResponseKey();
  if (key === undefined) return undefined;
  return (response) => {
    const body = (response as unknown as ResponseInternals)[key]?.body;
    return body != null && body.streamOrStatic instanceof ReadableStream;
  };
}

// ---- src/runtime/deno/types.ts ----

// The few structural types of Deno's API that its shim uses, so the library
// needs neither @types/deno nor @types/bun (which conflict with each other
// and with @types/node in users' builds).

interface DenoNetAddr {
  transport: string;
  hostname: string;
  port: number;
}

interface DenoConn {
  readonly remoteAddr: DenoNetAddr;
  read(buffer: Uint8Array): Promise<number | null>;
  write(data: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
  setNoDelay(noDelay?: boolean): void;
  setKeepAlive(keepAlive?: boolean): void;
}

/** A TLS connection: its handshake runs on the first read or write, or when asked. */
interface DenoTlsConn extends DenoConn {
  handshake(): Promise<unknown>;
}

interface DenoListener extends AsyncIterable<DenoConn> {
  readonly addr: DenoNetAddr;
  accept(): Promise<DenoConn>;
  close(): void;
}

interface DenoNamespace {
  listen(options: { hostname?: string; port: number; transport?: "tcp" }): DenoListener;
  listenTls(options: { hostname?: string; port: number; cert: string; key: string }): DenoListener;
  addSignalListener(signal: string, handler: () => void): void;
  removeSignalListener(signal: string, handler: () => void): void;
  upgradeWebSocket(
    request: Request,
    options?: { protocol?: string; idleTimeout?: number },
  ): { socket: WebSocket; response: Response };
}

interface DenoServeHandlerInfo {
  remoteAddr: DenoNetAddr;
  completed?: Promise<void>;
}

interface DenoHttpServer {
  readonly addr: DenoNetAddr;
  readonly finished: Promise<void>;
  shutdown(): Promise<void>;
  unref(): void;
}

interface DenoServeOptions {
  hostname?: string;
  port: number;
  cert?: string;
  key?: string;
  onListen?: (addr: DenoNetAddr) => void;
  onError?: (error: unknown) => Response | Promise<Response>;
}

interface DenoServe {
  serve(
    options: DenoServeOptions,
    handler: (request: Request, info: DenoServeHandlerInfo) => Response | Promise<Response>,
  ): DenoHttpServer;
}

/** The `Deno` global, typed by the interfaces above. */
const _deno: DenoNamespace & DenoServe =
  (globalThis as unknown as { Deno: DenoNamespace & DenoServe }).Deno;

// ---- src/runtime/deno/http.ts ----

// HTTP on Deno: Deno.serve, with requests counted since it hides its
// connections, and a way to end what is still running at the deadline.


/** The 503 a handler still pending at the deadline is answered with, where nothing else can end it. */
function deadlineResponse(): Response {
  return new Response("Service Unavailable: the server is shutting down\n", {
    status: 503,
    headers: { "content-type": "text/plain; charset=utf-8", connection: "close" },
  });
}

const SWITCHING_PROTOCOLS = 101;

/**
 * How long Deno's own shutdown may still take past the deadline, for the
 * bodies just cut to end (measured on Deno 2.9.6: under 2 ms on loopback).
 */
const CUT_LANDING_MS = 10;

/** What the handler learns besides the Request, each part made when first read. */
class DenoRequestInfo extends BodyScopedRequestInfo {
  readonly #info: DenoServeHandlerInfo;
  readonly #sockets: WebSockets;
  #remoteAddr: Addr | undefined;

  constructor(info: DenoServeHandlerInfo, shutdowns: RequestShutdowns, sockets: WebSockets) {
    super(shutdowns);
    this.#info = info;
    this.#sockets = sockets;
  }

  upgradeWebSocket(request: Request, options?: WebSocketUpgradeOptions): WebSocketUpgrade {
    const upgrade = _deno.upgradeWebSocket(request, options);
    const socket = upgrade.socket;
    // Deno's shutdown() closes and drops the socket itself, and lastcall
    // must not close it from JavaScript (see closeListener below).
    const tracked: TrackedWebSocket = { close: () => {}, terminate: () => {} };
    this.#sockets.add(tracked);
    const closed = new Promise((resolve) =>
      socket.addEventListener("close", resolve, { once: true })
    );
    void closed.then(() => this.#sockets.closed(tracked));
    this.upgraded(closed);
    return upgrade;
  }

  get remoteAddr(): Addr {
    const { hostname, port } = this.#info.remoteAddr;
    return this.#remoteAddr ??= { hostname: _plainHostname(hostname), port };
  }

  /** Deno reports a request over (sent, or its client gone) through `completed`. */
  protected watch(end: () => void): void {
    this.#info.completed?.then(end, end);
  }
}

/** A request being served, until Deno reports its response sent. */
interface InFlight {
  /** Ends it at the deadline, where that is possible. */
  cut: () => void;
  /** Its body already passes through lastcall (a stream, or its request read info.shutdown). */
  wrapped?: boolean;
  /** The request, while its handler has not answered yet. */
  unanswered?: Request | undefined;
}

/**
 * Deno.serve hides its connections, so requests are counted instead: those
 * finished after shutdown began are drained, those still in flight at the
 * deadline forced. Deno's own shutdown() closes the listener and idle
 * connections and drains, but waits forever for a handler that never settles:
 * at the deadline one still pending is answered with a 503, and a body still
 * streaming is cut. Only stream bodies pass through lastcall: wrapping a
 * string or bytes body would take it off Deno's fast path (about 20 % of
 * hello-world throughput), and such a body needs no cutting.
 */
function _serveDenoHttp(options: HttpServeOptions): Promise<Serving> {
  const { handler, shutdown } = options;
  const inFlight = new Set<InFlight>();
  const counts: DrainCounts = { closedIdle: 0, drained: 0, forced: 0 };
  // Undefined where Deno's internals do not tell stream bodies apart: then
  // only bodies sent during shutdown (and of requests that read
  // info.shutdown) are made cuttable.
  const isStreamed = _streamedBodyTest();
  let wakeDrain: (() => void) | undefined;
  const finish = (request: InFlight): void => {
    if (!inFlight.delete(request)) return;
    if (shutdown.aborted) counts.drained++;
    if (inFlight.size === 0) wakeDrain?.();
  };
  let draining = false;
  /**
   * While draining, a request whose client left must not hold the drain
   * until its handler settles (perhaps never): it is dropped uncounted, as
   * on Node and Bun, and answered so that Deno lets go of it. Deno reports
   * the client leaving only through `request.signal`, which is read for
   * handlers still pending once draining starts, never on the hot path:
   * Deno 2.9.6 warns once per process when a request whose signal was read
   * then completes (its legacy abort-on-success), see docs/runtimes.md.
   */
  const dropWhenClientLeaves = (entry: InFlight): void => {
    const request = entry.unanswered!;
    // An upgrade's signal also aborts when its handler upgrades (Deno takes
    // the connection over), before the 101 is returned: not a client leaving.
    if (request.headers.has("upgrade")) return;
    const signal = request.signal;
    // Before its handler answered, only its client leaving aborts it.
    const left = (): void => {
      if (entry.unanswered === undefined || !inFlight.delete(entry)) return;
      entry.cut();
      if (inFlight.size === 0) wakeDrain?.();
    };
    if (signal.aborted) left();
    else signal.addEventListener("abort", left, { once: true });
  };
  /** Once shutdown began: Connection: close, and a body the deadline can cut (if not yet). */
  const prepare = (response: Response, isHead: boolean, entry: InFlight): Response => {
    if (!shutdown.aborted || response.status === SWITCHING_PROTOCOLS) return response;
    response = _withConnectionClose(response);
    // Where stream bodies are told apart, send() made them cuttable already,
    // and reading `body` would turn a static one into a stream, which Deno
    // writes and reports done later.
    if (isStreamed !== undefined || isHead || entry.wrapped) return response;
    if (response.body === null) return response;
    const cuttable = _wrapBody(response);
    entry.cut = cuttable.cut;
    return cuttable.response;
  };
  /** The response as the request's scope sends it; a stream body made cuttable. */
  const send = (info: DenoRequestInfo, response: Response, entry: InFlight): Response => {
    const sent = info.finish(response);
    if (info.cut !== undefined) {
      entry.cut = info.cut;
      entry.wrapped = true;
      return sent;
    }
    if (isStreamed === undefined || !isStreamed(sent)) return sent;
    const cuttable = _wrapBody(sent);
    entry.cut = cuttable.cut;
    entry.wrapped = true;
    return cuttable.response;
  };
  const shutdowns = new RequestShutdowns(shutdown);
  const sockets = new WebSockets(shutdown);
  const { hostname, port, tls } = options;
  // With a certificate, Deno offers HTTP/2 and HTTP/1.1 by ALPN itself.
  const server = _loadingCertificate(tls, () =>
    _deno.serve(
      { hostname, port, ...tls, onListen: () => {} },
      (request, info) => {
        const entry: InFlight = { cut: () => {} };
        inFlight.add(entry);
        const done = (): void => finish(entry);
        if (info.completed) info.completed.then(done, done);
        // Read now: once the deadline answered for it, the request is closed.
        const isHead = request.method === "HEAD";
        const requestInfo = new DenoRequestInfo(info, shutdowns, sockets);
        const result = handler(request, requestInfo);
        if (result instanceof Response) {
          if (!info.completed) queueMicrotask(done);
          return prepare(send(requestInfo, result, entry), isHead, entry);
        }
        entry.unanswered = request;
        if (draining) dropWhenClientLeaves(entry);
        return new Promise<Response>((resolve) => {
          let answered = false;
          entry.cut = () => {
            answered = true;
            resolve(deadlineResponse());
          };
          result.then((response) => {
            entry.unanswered = undefined;
            if (answered) {
              // Settled after the deadline answered: nobody reads this body.
              response.body?.cancel().catch(() => {});
              return;
            }
            if (!info.completed) queueMicrotask(done);
            resolve(prepare(send(requestInfo, response, entry), isHead, entry));
          });
        });
      },
    ));
  let shuttingDown: Promise<void> | undefined;
  /** Waits for requests in flight; at the deadline answers or cuts the rest. */
  const drainRequests = async (signal: AbortSignal): Promise<DrainCounts> => {
    draining = true;
    for (const entry of inFlight) if (entry.unanswered !== undefined) dropWhenClientLeaves(entry);
    if (inFlight.size > 0) {
      await Promise.race([new Promise<void>((wake) => wakeDrain = wake), _untilAborted(signal)]);
    }
    for (const request of [...inFlight]) {
      inFlight.delete(request);
      counts.forced++;
      request.cut();
    }
    return counts;
  };
  return Promise.resolve({
    addr: { hostname: server.addr.hostname, port: server.addr.port },
    closeListener: () => {
      // Deno's shutdown() sends every WebSocket its own close 1001 ("Server
      // shutting down") and drops the connection. lastcall sends none of its
      // own: on Deno 2.9.6 a server-side WebSocket closed from JavaScript
      // while its peer still sends leaves the process running forever after
      // shutdown (measured with and without lastcall; docs/runtimes.md).
      shuttingDown = server.shutdown();
    },
    async drain(signal: AbortSignal): Promise<DrainCounts> {
      const [requests, upgraded] = await Promise.all([
        drainRequests(signal),
        sockets.drain(signal),
      ]);
      // Before the deadline Deno's shutdown ends right behind the last
      // request. Past it, a cut body ends within a turn or two, but one whose
      // client stopped reading leaves Deno's writer blocked for good: wait
      // only as long as a cut takes to land, so shutdown ends at its deadline.
      if (!signal.aborted) await Promise.race([shuttingDown, _untilAborted(signal)]);
      if (signal.aborted) await _atMost(shuttingDown, CUT_LANDING_MS);
      // Whatever Deno still holds now (a connection whose client stopped
      // reading, kept after its body was cancelled) must not keep the
      // process alive: the drain is over.
      server.unref();
      return _sumCounts(requests, upgraded);
    },
  });
}

// ---- src/runtime/deno/socket.ts ----

// Raw TCP on Deno: Deno.listen connections behind the RawSocket interface.


/** Bytes asked for per read. */
const READ_SIZE = 64 * 1024;

class DenoSocket implements RawSocket {
  readonly remoteAddr: Addr;
  readonly closed: Promise<void>;
  readonly #conn: DenoConn;
  readonly #buffer = new Uint8Array(READ_SIZE);
  #resolveClosed!: () => void;
  #isClosed = false;
  /** False while a TLS connection is still in its handshake. */
  #secure = true;
  /** Writes run one after another; Deno's write may take only part of the bytes. */
  #writes: Promise<void> = Promise.resolve();

  constructor(conn: DenoConn) {
    this.#conn = conn;
    if ("handshake" in conn) {
      this.#secure = false;
      (conn as DenoTlsConn).handshake().then(() => this.#secure = true, () => {});
    }
    const { hostname, port } = conn.remoteAddr;
    this.remoteAddr = { hostname: _plainHostname(hostname), port };
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  read(deliver: (chunk: Uint8Array | null) => void): void {
    if (this.#isClosed) {
      queueMicrotask(() => deliver(null));
      return;
    }
    this.#conn.read(this.#buffer).then(
      // Each chunk gets its own copy: the read buffer is reused.
      (n) => deliver(n === null ? null : this.#buffer.slice(0, n)),
      () => deliver(null), // reset, or closed while reading
    );
  }

  write(input: Uint8Array | string): Promise<void> {
    const data = typeof input === "string" ? _utf8.encode(input) : input;
    if (this.#isClosed) return Promise.reject(_connClosedError());
    const written = this.#writes.then(async () => {
      if (this.#isClosed) throw _connClosedError();
      let offset = 0;
      while (offset < data.byteLength) offset += await this.#conn.write(data.subarray(offset));
    });
    this.#writes = written.catch(() => {});
    return written;
  }

  async closeWrite(): Promise<void> {
    // A TLS handshake in progress has nothing to deliver: closing it must not wait.
    if (!this.#secure) return this.destroy();
    await this.#writes;
    if (this.#isClosed) return;
    try {
      await this.#conn.closeWrite();
    } catch {
      // Already gone: the peer reset it.
    }
  }

  destroy(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
    this.#resolveClosed();
  }
}

/** Listens with Deno.listen(Tls); a port in use throws Deno's AddrInUse, whose code is EADDRINUSE. */
function _listenDenoTcp(
  { hostname, port, tls, accept }: TcpListenOptions,
): Promise<TcpListener> {
  const listener: DenoListener = _loadingCertificate(
    tls,
    () =>
      tls === undefined
        ? _deno.listen({ hostname, port, transport: "tcp" })
        : _deno.listenTls({ hostname, port, ...tls }),
  );
  // Deno frees the port only once the pending accept() has let go of the
  // listener, a turn after close(): the loop's end is when it is free.
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        try {
          conn.setNoDelay(true);
          conn.setKeepAlive(true);
        } catch {
          // The peer may already be gone; reading will tell.
        }
        accept(new DenoSocket(conn));
      }
    } catch {
      // The listener was closed.
    }
  })();
  return Promise.resolve({
    addr: { hostname: listener.addr.hostname, port: listener.addr.port },
    close: () => {
      try {
        listener.close();
      } catch {
        // Already closed.
      }
      return accepting;
    },
  });
}

// ---- src/runtime/deno/mod.ts ----

// Deno's shim: Deno.listen for raw TCP, Deno.serve for HTTP, and Deno's
// node:http for `{ server }`.


function onDenoSignal(signal: string, handler: () => void): () => void {
  _deno.addSignalListener(signal, handler);
  return () => _deno.removeSignalListener(signal, handler);
}

/**
 * Deno's node:http reports its connections as Node's does, so the shared
 * tracking serves it. Loaded only when asked for: the node:* modules it
 * needs stay out of the startup of Deno's own fetch and TCP serving.
 */
async function serveDenoNodeServer(
  server: unknown,
  options: NodeServerServeOptions,
): Promise<Serving> {
  return _serveNodeServer(server, options);
}

/** The shim for Deno. */
const _denoShim: Shim = {
  runtime: "deno",
  listenTcp: _listenDenoTcp,
  serveHttp: _serveDenoHttp,
  serveNodeServer: serveDenoNodeServer,
  onSignal: onDenoSignal,
  // Deno.addSignalListener does not list the other listeners.
  otherSignalListeners: () => [],
};

// ---- src/runtime/bun/types.ts ----

// The few structural types of Bun's API that its shim uses, so the library
// needs neither @types/deno nor @types/bun (which conflict with each other
// and with @types/node in users' builds).

interface BunSocket<Data> {
  data: Data;
  readonly remoteAddress: string;
  readonly remotePort?: number;
  write(data: Uint8Array): number;
  shutdown(halfClose?: boolean): void;
  end(): void;
  pause(): void;
  resume(): void;
  setNoDelay?(noDelay?: boolean): boolean;
  setKeepAlive?(enable?: boolean, initialDelay?: number): boolean;
}

interface BunSocketHandler<Data> {
  open?(socket: BunSocket<Data>): void;
  data?(socket: BunSocket<Data>, data: Uint8Array): void;
  drain?(socket: BunSocket<Data>): void;
  end?(socket: BunSocket<Data>): void;
  close?(socket: BunSocket<Data>, error?: Error): void;
  error?(socket: BunSocket<Data>, error: Error): void;
  /** TLS only: the handshake is over (`success` false when it failed). */
  handshake?(socket: BunSocket<Data>, success: boolean, error: Error | null): void;
}

interface BunTcpListener {
  readonly hostname: string;
  readonly port: number;
  stop(closeActiveConnections?: boolean): void;
}

interface BunNamespace {
  listen<Data>(options: {
    hostname: string;
    port: number;
    allowHalfOpen?: boolean;
    tls?: { cert: string; key: string };
    socket: BunSocketHandler<Data>;
  }): BunTcpListener;
}

interface BunServer {
  readonly hostname: string;
  readonly port: number;
  readonly pendingRequests: number;
  stop(closeActiveConnections?: boolean): Promise<void>;
  requestIP(request: Request): { address: string; port: number } | null;
  upgrade<Data>(
    request: Request,
    options?: { data?: Data; headers?: Record<string, string> },
  ): boolean;
}

interface BunServerWebSocket<Data> {
  data: Data;
  readonly readyState: number;
  send(data: string | ArrayBufferView | ArrayBuffer): number;
  close(code?: number, reason?: string): void;
  terminate(): void;
  getBufferedAmount(): number;
}

interface BunWebSocketHandler<Data> {
  open?(ws: BunServerWebSocket<Data>): void;
  message(ws: BunServerWebSocket<Data>, message: string | Uint8Array): void;
  close?(ws: BunServerWebSocket<Data>, code: number, reason: string): void;
}

interface BunServe {
  serve<Data>(options: {
    hostname: string;
    port: number;
    tls?: { cert: string; key: string };
    http2?: boolean;
    fetch(
      request: Request,
      server: BunServer,
    ): Response | undefined | Promise<Response | undefined>;
    error?(error: Error): Response | Promise<Response>;
    websocket?: BunWebSocketHandler<Data>;
  }): BunServer;
}

/** The `Bun` global, typed by the interfaces above. */
const _bun: BunNamespace & BunServe =
  (globalThis as unknown as { Bun: BunNamespace & BunServe }).Bun;

// ---- src/runtime/bun/websocket.ts ----

// WebSockets on Bun in Deno's shape: `info.upgradeWebSocket(request)` gives
// `{ socket, response }`, where `socket` is a standard-looking WebSocket
// (events open, message, close, error; send, close, readyState, protocol,
// bufferedAmount) bridged to Bun.serve's `websocket` handlers.


const CONNECTING = 0 as const;
const OPEN = 1 as const;
const CLOSING = 2 as const;
const CLOSED = 3 as const;

type Handler = ((this: BunWebSocket, event: Event) => unknown) | null;

/** Bun's server-side socket behind the standard WebSocket interface. */
class BunWebSocket extends EventTarget implements TrackedWebSocket {
  static readonly CONNECTING: 0 = CONNECTING;
  static readonly OPEN: 1 = OPEN;
  static readonly CLOSING: 2 = CLOSING;
  static readonly CLOSED: 3 = CLOSED;
  readonly CONNECTING: 0 = CONNECTING;
  readonly OPEN: 1 = OPEN;
  readonly CLOSING: 2 = CLOSING;
  readonly CLOSED: 3 = CLOSED;
  readonly protocol: string;
  readonly url: string;
  readonly extensions = "";
  /** Binary messages arrive as ArrayBuffers. */
  binaryType: "arraybuffer" = "arraybuffer";
  readyState: number = CONNECTING;
  onopen: Handler = null;
  onmessage: Handler = null;
  onclose: Handler = null;
  onerror: Handler = null;
  readonly #registry: WebSockets;
  #ws: BunServerWebSocket<BunWebSocket> | undefined;
  /** A close asked for before Bun opened the socket. */
  #pendingClose: [number | undefined, string | undefined] | undefined;

  constructor(url: string, protocol: string, registry: WebSockets) {
    super();
    this.url = url;
    this.protocol = protocol;
    this.#registry = registry;
  }

  get bufferedAmount(): number {
    return this.#ws?.getBufferedAmount() ?? 0;
  }

  send(data: string | ArrayBufferView | ArrayBuffer | Blob): void {
    if (this.readyState === CONNECTING) {
      throw new DOMException("The WebSocket is not open yet", "InvalidStateError");
    }
    if (this.readyState !== OPEN || this.#ws === undefined) return;
    if (data instanceof Blob) {
      const ws = this.#ws;
      void data.arrayBuffer().then((bytes) => ws.send(bytes));
    } else this.#ws.send(data);
  }

  close(code?: number, reason?: string): void {
    if (this.readyState >= CLOSING) return;
    this.readyState = CLOSING;
    if (this.#ws === undefined) this.#pendingClose = [code, reason];
    else this.#ws.close(code, reason);
  }

  /** Drops the connection without a close handshake. */
  terminate(): void {
    this.readyState = CLOSING;
    this.#ws?.terminate();
  }

  /**
   * Bun opened the socket, possibly inside `server.upgrade()`, before the
   * handler could listen: the open event waits for the handler's turn to end,
   * as it does on Deno.
   */
  opened(ws: BunServerWebSocket<BunWebSocket>): void {
    this.#ws = ws;
    queueMicrotask(() => {
      if (this.#pendingClose !== undefined) {
        ws.close(...this.#pendingClose);
        return;
      }
      if (this.readyState !== CONNECTING) return;
      this.readyState = OPEN;
      this.#dispatch(new Event("open"));
    });
  }

  /** A message from the peer. */
  received(message: string | Uint8Array): void {
    const data = typeof message === "string"
      ? message
      : message.buffer.slice(message.byteOffset, message.byteOffset + message.byteLength);
    this.#dispatch(Object.assign(new Event("message"), { data, origin: "", lastEventId: "" }));
  }

  /** The connection is gone. */
  closedWith(code: number, reason: string): void {
    this.readyState = CLOSED;
    this.#registry.closed(this);
    const wasClean = code !== 1006;
    this.#dispatch(Object.assign(new Event("close"), { code, reason, wasClean }));
  }

  #dispatch(event: Event): void {
    this.dispatchEvent(event);
    const handler = this[`on${event.type}` as "onopen"];
    try {
      handler?.call(this, event);
    } catch (error) {
      // An event handler's throw is reported, as a browser would, not thrown into Bun.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

/** Bun.serve's `websocket` option, feeding each socket's bridge. */
const _bunWebSocketHandler: BunWebSocketHandler<BunWebSocket> = {
  open: (ws) => ws.data.opened(ws),
  message: (ws, message) => ws.data.received(message),
  close: (ws, code, reason) => ws.data.closedWith(code, reason),
};

/** What `info.upgradeWebSocket` gives the handler. */
interface Upgrade {
  socket: WebSocket;
  response: Response;
}

/**
 * Upgrades `request` on `server`; the returned response is a marker the
 * shim recognises and answers nothing for (Bun has answered the upgrade).
 *
 * @throws {TypeError} When the request is not a WebSocket upgrade.
 */
function _upgradeBunWebSocket(
  server: BunServer,
  request: Request,
  registry: WebSockets,
  protocol: string | undefined,
): Upgrade {
  const socket = new BunWebSocket(request.url, protocol ?? "", registry);
  const headers: Record<string, string> = protocol ? { "sec-websocket-protocol": protocol } : {};
  if (!server.upgrade(request, { data: socket, headers })) {
    throw new TypeError("Cannot upgrade: the request is not a WebSocket upgrade request");
  }
  registry.add(socket);
  return { socket: socket as unknown as WebSocket, response: new Response(null) };
}

// ---- src/runtime/bun/http.ts ----

// HTTP on Bun: Bun.serve, with requests counted since it hides its
// connections.


/** What every request of one server shares. */
interface BunServing {
  readonly shutdowns: RequestShutdowns;
  readonly sockets: WebSockets;
}

/** What the handler learns besides the Request, each part made when first read. */
class BunRequestInfo extends BodyScopedRequestInfo {
  readonly #server: BunServer;
  readonly #request: Request;
  readonly #sockets: WebSockets;
  /** Set once the handler upgraded the request: Bun has answered it. */
  upgrade: WebSocketUpgrade | undefined;

  constructor(server: BunServer, request: Request, serving: BunServing) {
    super(serving.shutdowns);
    this.#server = server;
    this.#request = request;
    this.#sockets = serving.sockets;
  }

  get remoteAddr(): Addr {
    const ip = this.#server.requestIP(this.#request);
    return { hostname: _plainHostname(ip?.address), port: ip?.port ?? 0 };
  }

  upgradeWebSocket(request: Request, options?: WebSocketUpgradeOptions): WebSocketUpgrade {
    const upgrade = _upgradeBunWebSocket(this.#server, request, this.#sockets, options?.protocol);
    const { socket } = upgrade;
    this.upgraded(
      new Promise((resolve) => socket.addEventListener("close", resolve, { once: true })),
    );
    return this.upgrade = upgrade;
  }

  /** Bun says when a client leaves (request.signal), not when a response is done. */
  protected watch(end: () => void): void {
    this.#request.signal.addEventListener("abort", end, { once: true });
  }
}

/**
 * Bun.serve hides its connections, so requests are counted instead: those in
 * flight when shutdown began or started after it are drained unless still
 * pending at the deadline, which are forced. Bun's own stop() closes the
 * listener and idle connections and resolves once the last request is done;
 * stop(true) cuts the rest at the deadline. WebSockets count one each: told
 * "going away" when the listener closes, terminated at the deadline.
 */
function _serveBunHttp(options: HttpServeOptions): Promise<Serving> {
  const { handler, shutdown } = options;
  let startedDuringShutdown = 0;
  const serving: BunServing = {
    shutdowns: new RequestShutdowns(shutdown),
    sockets: new WebSockets(shutdown),
  };
  const send = (response: Response, info: BunRequestInfo): Response | undefined => {
    if (info.upgrade !== undefined && response === info.upgrade.response) return undefined;
    response = info.finish(response);
    return shutdown.aborted ? _withConnectionClose(response) : response;
  };
  let inFlightAtShutdown = 0;
  const { hostname, port, tls } = options;
  const server = _loadingCertificate(tls, () =>
    _bun.serve<BunWebSocket>({
      hostname,
      port,
      // With a certificate, HTTP/2 and HTTP/1.1 by ALPN.
      ...(tls === undefined ? {} : { tls, http2: true }),
      websocket: _bunWebSocketHandler,
      fetch(request, bunServer) {
        if (shutdown.aborted) startedDuringShutdown++;
        // Bun gives an HTTP/1.0 request without Host (HAProxy's default health
        // check) a relative URL, which new URL() rejects: make it absolute.
        if (request.url.charCodeAt(0) === 47) {
          request = new Request(
            `http://${bunServer.hostname}:${bunServer.port}${request.url}`,
            request,
          );
        }
        const info = new BunRequestInfo(bunServer, request, serving);
        const result = handler(request, info);
        if (result instanceof Response) return send(result, info);
        return result.then((response) => send(response, info));
      },
    }));
  shutdown.addEventListener("abort", () => inFlightAtShutdown = server.pendingRequests, {
    once: true,
  });
  let stopped: Promise<void> | undefined;
  const drainRequests = async (signal: AbortSignal): Promise<DrainCounts> => {
    const started = inFlightAtShutdown + startedDuringShutdown;
    if (server.pendingRequests === 0) {
      // No request in flight: whatever still holds stop() is a connection
      // that never completed a request (a client trickling its headers). It
      // reached no handler, so it closes now rather than at the deadline.
      await _atMost(server.stop(true), NATIVE_STOP_WAIT_MS);
      return { closedIdle: 0, drained: started, forced: 0 };
    }
    let forced = 0;
    let drainedInTime = false;
    await Promise.race([stopped?.then(() => drainedInTime = true), _untilAborted(signal)]);
    if (!drainedInTime) {
      // Something was cut, even where Bun counts no request for it.
      forced = Math.max(server.pendingRequests, 1);
      await _atMost(server.stop(true), NATIVE_STOP_WAIT_MS);
    }
    return { closedIdle: 0, drained: Math.max(0, started - forced), forced };
  };
  return Promise.resolve({
    addr: { hostname: server.hostname, port: server.port },
    closeListener: () => {
      serving.sockets.goingAway();
      stopped = server.stop();
    },
    async drain(signal: AbortSignal): Promise<DrainCounts> {
      const [requests, sockets] = await Promise.all([
        drainRequests(signal),
        serving.sockets.drain(signal),
      ]);
      return _sumCounts(requests, sockets);
    },
  });
}

// ---- src/runtime/bun/socket.ts ----

// Raw TCP on Bun: Bun.listen's push-style socket handlers behind the
// RawSocket interface.


/** Pull reads and awaited writes over Bun's push-style socket handlers. */
class BunRawSocket implements RawSocket {
  readonly remoteAddr: Addr;
  readonly closed: Promise<void>;
  readonly #socket: BunSocket<BunRawSocket>;
  readonly #reader: PullReader;
  #isClosed = false;
  /** False while a TLS connection is still in its handshake. */
  secure: boolean;
  /** Bytes Bun did not take yet, written on drain, in order. */
  #unsent: Array<{ data: Uint8Array; resolve: () => void; reject: (e: unknown) => void }> = [];
  #resolveClosed!: () => void;

  constructor(socket: BunSocket<BunRawSocket>, secure: boolean) {
    this.#socket = socket;
    this.secure = secure;
    this.remoteAddr = {
      hostname: _plainHostname(socket.remoteAddress),
      port: socket.remotePort ?? 0,
    };
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    this.#reader = new PullReader(() => socket.pause(), () => socket.resume());
  }

  onData(chunk: Uint8Array): void {
    this.#reader.push(chunk);
  }

  onEnd(): void {
    this.#reader.end();
  }

  onDrain(): void {
    for (let next = this.#unsent[0]; next !== undefined; next = this.#unsent[0]) {
      const written = this.#socket.write(next.data);
      if (written < next.data.byteLength) {
        next.data = next.data.subarray(Math.max(written, 0));
        return;
      }
      this.#unsent.shift();
      next.resolve();
    }
  }

  onClose(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.onEnd();
    for (const { reject } of this.#unsent.splice(0)) reject(_connClosedError());
    this.#resolveClosed();
  }

  read(deliver: (chunk: Uint8Array | null) => void): void {
    this.#reader.read(deliver);
  }

  write(input: Uint8Array | string): Promise<void> {
    let data = typeof input === "string" ? _utf8.encode(input) : input;
    if (this.#isClosed) return Promise.reject(_connClosedError());
    if (this.#unsent.length === 0) {
      const written = this.#socket.write(data);
      if (written >= data.byteLength) return _WRITTEN;
      data = data.subarray(Math.max(written, 0));
    }
    return new Promise((resolve, reject) => this.#unsent.push({ data, resolve, reject }));
  }

  async closeWrite(): Promise<void> {
    // A TLS handshake in progress has nothing to deliver: closing it must not wait.
    if (!this.secure) return this.destroy();
    if (this.#unsent.length > 0) {
      await new Promise<void>((resolve, reject) =>
        this.#unsent.push({ data: new Uint8Array(0), resolve, reject })
      ).catch(() => {});
    }
    if (!this.#isClosed) this.#socket.shutdown();
  }

  destroy(): void {
    if (this.#isClosed) return;
    // end(), not terminate(), also for a TLS socket still in its handshake:
    // Bun closes it at once either way, but terminate() resets it (ECONNRESET
    // at the client) where end() sends FIN (measured on Bun 1.4.5), and a
    // connection the listener closes is closed cleanly.
    this.#socket.end();
    this.onClose();
  }
}

/** Listens with Bun.listen; a port in use throws Bun's EADDRINUSE error. */
function _listenBunTcp(
  { hostname, port, tls, accept }: TcpListenOptions,
): Promise<TcpListener> {
  const listener = _loadingCertificate(tls, () =>
    _bun.listen<BunRawSocket>({
      hostname,
      port,
      allowHalfOpen: true,
      ...(tls === undefined ? {} : { tls }),
      socket: {
        // A TLS socket opens before its handshake: it is tracked (as idle) from here.
        open(socket) {
          socket.setNoDelay?.(true);
          socket.setKeepAlive?.(true);
          socket.data = new BunRawSocket(socket, tls === undefined);
          accept(socket.data);
        },
        handshake(socket, success) {
          if (success) socket.data.secure = true;
          else socket.data.destroy();
        },
        data: (socket, chunk) => socket.data.onData(chunk),
        drain: (socket) => socket.data.onDrain(),
        end: (socket) => socket.data.onEnd(),
        close: (socket) => socket.data?.onClose(),
        error: (socket) => socket.data?.onEnd(),
      },
    }));
  return Promise.resolve({
    addr: { hostname: listener.hostname, port: listener.port },
    close: () => listener.stop(false),
  });
}

// ---- src/runtime/bun/mod.ts ----

// Bun's shim: Bun.listen for raw TCP, Bun.serve for HTTP, and Bun's
// node:http for `{ server }`.


/** The shim for Bun. */
const _bunShim: Shim = {
  runtime: "bun",
  listenTcp: _listenBunTcp,
  serveHttp: _serveBunHttp,
  // Bun's node:http reports a connection only with the client's first byte,
  // so connections that never send anything are not seen (see README). Its
  // HTTP/2 engine serves a stream that crossed a first GOAWAY, so sessions
  // get the two-step GOAWAY.
  serveNodeServer: (server, options) => _serveNodeServer(server, options, true),
  onSignal: _onProcessSignal,
  otherSignalListeners: _otherProcessSignalListeners,
};
