import { Deadline } from "./deadline.ts";
import { _resolveOptions, type ResolvedOptions, type TcpOptions } from "./options.ts";
import type { Addr, Shim, TcpListener } from "./runtime/shim.ts";
import { TcpConn } from "./tcp_conn.ts";
import { type ShutdownResult, Tracker } from "./tracker.ts";

/** A running server, as `serveAndShutdown` returns it. */
export interface Server extends AsyncDisposable {
  /** Where it listens. */
  readonly addr: { hostname: string; port: number };
  /** The runtime serving it. */
  readonly runtime: "node" | "deno" | "bun";
  /** False from the moment shutdown begins: fail health checks now. */
  readonly ready: boolean;
  /**
   * Go's Shutdown, then Close at the deadline: stop accepting, close idle
   * connections, let in-flight work finish, force the rest when `deadline`
   * (ms, or a signal) passes; default `gracePeriod`. Idempotent: every call
   * resolves with the same result.
   */
  shutdown(deadline?: AbortSignal | number): Promise<ShutdownResult>;
  /** Go's Close: closes the listener and every connection now. */
  close(): Promise<void>;
  /** Settles once the server is fully down. */
  readonly finished: Promise<ShutdownResult>;
}

/** Picks the shim of the runtime this runs on; nothing else looks at runtime globals. */
async function loadShim(): Promise<Shim> {
  if ("Deno" in globalThis) return (await import("./runtime/deno.ts")).shim;
  if ("Bun" in globalThis) return (await import("./runtime/bun.ts")).shim;
  return (await import("./runtime/node.ts")).shim;
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

function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
}

/** What a serving mode (raw TCP, HTTP) hands to the shared shutdown sequence. */
interface Serving {
  readonly addr: Addr;
  readonly tracker: Tracker;
  /** Stops accepting. */
  closeListener(): void;
  /** Cuts every connection now, lingering ones included. */
  destroyAll(): void;
}

class LastcallServer implements Server {
  readonly addr: Addr;
  readonly runtime: Shim["runtime"];
  readonly finished: Promise<ShutdownResult>;
  readonly #options: ResolvedOptions;
  readonly #serving: Serving;
  readonly #shutdownController: AbortController;
  readonly #force = new AbortController();
  readonly #counts: { drainedDuringDelay: number };
  #resolveFinished!: (result: ShutdownResult) => void;
  #rejectFinished!: (error: unknown) => void;
  #result: Promise<ShutdownResult> | undefined;
  #removeSignals: () => void = () => {};

  constructor(
    runtime: Shim["runtime"],
    options: ResolvedOptions,
    serving: Serving,
    shutdownController: AbortController,
    counts: { drainedDuringDelay: number },
  ) {
    this.runtime = runtime;
    this.addr = serving.addr;
    this.#options = options;
    this.#serving = serving;
    this.#shutdownController = shutdownController;
    this.#counts = counts;
    this.finished = new Promise((resolve, reject) => {
      this.#resolveFinished = resolve;
      this.#rejectFinished = reject;
    });
  }

  get ready(): boolean {
    return this.#result === undefined;
  }

  installSignals(shim: Shim): void {
    let received = 0;
    const onSignal = (): void => {
      received++;
      if (received === 1) void this.shutdown();
      else void this.close();
    };
    const removers = this.#options.signals.map((signal) => shim.onSignal(signal, onSignal));
    this.#removeSignals = () => removers.forEach((remove) => remove());
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
    try {
      if (this.#options.drainDelay > 0 && !signal.aborted) {
        using delay = Deadline.after(this.#options.drainDelay, { signal });
        await untilAborted(delay.signal);
      }
      serving.closeListener();
      const onForce = (): void => serving.destroyAll();
      signal.addEventListener("abort", onForce, { once: true });
      if (signal.aborted) onForce();
      const result = await serving.tracker.shutdown(signal);
      signal.removeEventListener("abort", onForce);
      const drained = result.drained + this.#counts.drainedDuringDelay;
      return { ...result, drained, ms: Date.now() - started };
    } finally {
      if (bound instanceof Deadline) bound[Symbol.dispose]();
      this.#removeSignals();
    }
  }
}

async function serveTcp(
  shim: Shim,
  options: ResolvedOptions,
  connection: TcpOptions["connection"],
  shutdown: AbortSignal,
  tracker: Tracker,
): Promise<Serving> {
  const conns = new Set<TcpConn>();
  const listener: TcpListener = await shim.listenTcp(options.hostname, options.port, (socket) => {
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
  });
  return {
    addr: listener.addr,
    tracker,
    closeListener: () => listener.close(),
    destroyAll: () => conns.forEach((conn) => conn.destroy()),
  };
}

/**
 * Listens first (a listen error rejects here, leaving nothing behind), then
 * serves until shutdown: Go's `net/http` Shutdown and Close for raw TCP
 * protocols and HTTP, on Node, Deno and Bun. The first SIGINT or SIGTERM
 * shuts down within `gracePeriod`, a second one forces.
 *
 * @param options `connection` for raw TCP, plus the shared options.
 * @returns The running server.
 * @throws {TypeError} When an option has the wrong type.
 * @throws {RangeError} When an option is out of range.
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
export async function serveAndShutdown(options: TcpOptions): Promise<Server> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Cannot serve as 'options' must be an object: received ${String(options)}`);
  }
  if (typeof options.connection !== "function") {
    throw new TypeError(
      `Cannot serve as 'connection' must be a function: received ${String(options.connection)}`,
    );
  }
  const resolved = _resolveOptions(options);
  const shim = await loadShim();
  const shutdownController = new AbortController();
  const counts = { drainedDuringDelay: 0 };
  const tracker = new Tracker({
    onStateChange: (_conn, _from, to) => {
      if (to === "closed" && shutdownController.signal.aborted && !tracker.draining) {
        counts.drainedDuringDelay++;
      }
    },
  });
  const serving = await serveTcp(
    shim,
    resolved,
    options.connection,
    shutdownController.signal,
    tracker,
  );
  const server = new LastcallServer(shim.runtime, resolved, serving, shutdownController, counts);
  server.installSignals(shim);
  return server;
}
