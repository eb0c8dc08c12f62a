// Per-request shutdown signals, for `RequestInfo.shutdown`: each request gets
// its own signal, made the first time the handler reads it, aborted when
// shutdown begins, and forgotten with its listeners once the request is over
// (a client that left before shutdown never sees an abort).

import type { ShimRequestInfo } from "../../shim.ts";
import type { Addr } from "../../types.ts";
import { _wrapBody } from "./wrapped_body.ts";

/**
 * The live per-request signals of one server. A shim asks for one with a way
 * to learn when its request is over.
 */
export class RequestShutdowns {
  /** The server's own signal: aborts when shutdown begins. */
  readonly server: AbortSignal;
  readonly #live = new Set<AbortController>();

  constructor(shutdown: AbortSignal) {
    this.server = shutdown;
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
    if (this.server.aborted) controller.abort(this.server.reason);
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
  readonly #shutdowns: RequestShutdowns;
  #signal: AbortSignal | undefined;
  #end: (() => void) | undefined;
  #returned = false;

  constructor(shutdowns: RequestShutdowns) {
    this.#shutdowns = shutdowns;
  }

  /** Registers `end` on the runtime's own report that the request is over. */
  protected abstract watch(end: () => void): void;

  /** The request's shutdown signal, made on first read. */
  get shutdown(): AbortSignal {
    return this.#signal ??= this.#shutdowns.signal((end) => {
      this.watch(end);
      if (!this.#returned) this.#end = end;
      return true;
    });
  }

  /** The response to send: once the handler read its signal, one that ends it with its body. */
  finish(response: Response): Response {
    this.#returned = true;
    return this.#end === undefined ? response : _wrapBody(response, this.#end).response;
  }
}
