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
