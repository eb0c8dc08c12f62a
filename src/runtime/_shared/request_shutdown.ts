// Per-request shutdown signals, for `RequestInfo.shutdown`: each request gets
// its own signal, made the first time the handler reads it, aborted when
// shutdown begins, and forgotten with its listeners once the request is over
// (a client that left before shutdown never sees an abort).

import type { ShimRequestInfo } from "../../shim.ts";
import type { Addr, WebSocketUpgrade, WebSocketUpgradeOptions } from "../../types.ts";
import { _wrapBody } from "./wrapped_body.ts";

/**
 * The live per-request signals of one server. A shim asks for one with a way
 * to learn when its request is over.
 */
export class RequestShutdowns {
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
export abstract class BodyScopedRequestInfo implements ShimRequestInfo {
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
