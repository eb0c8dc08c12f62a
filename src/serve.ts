// serveAndShutdown and the Server it returns: which mode serves, the order
// of shutdown (ready false, drainDelay, listeners, drain, deadline), and the
// process signals.

import { _untilAborted } from "./_abort.ts";
import { MAX_TIMER_DELAY } from "./_timer.ts";
import { Deadline } from "./deadline.ts";
import { _httpHandler } from "./http/handler.ts";
import { _healthCheck } from "./http/health.ts";
import { _resolveOptions } from "./options.ts";
import type { Serving, Shim } from "./shim.ts";
import { _serveTcp } from "./tcp/serve.ts";
import type { ShutdownResult } from "./tracker.ts";
import type { Addr } from "./types.ts";
import type {
  HttpOptions,
  NodeServerOptions,
  ResolvedOptions,
  Server,
  TcpOptions,
} from "./types.ts";

/**
 * Picks the shim of the runtime this runs on. Apart from the shims
 * themselves, only the core's timer looks at a runtime global (to unref).
 */
async function loadShim(): Promise<Shim> {
  if ("Deno" in globalThis) return (await import("./runtime/deno/mod.ts"))._denoShim;
  if ("Bun" in globalThis) return (await import("./runtime/bun/mod.ts"))._bunShim;
  return (await import("./runtime/node/mod.ts"))._nodeShim;
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
