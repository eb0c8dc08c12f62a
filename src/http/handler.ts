// The runtime-neutral part of HTTP serving: the handler a shim calls, which
// answers the health path itself and turns a handler's throw, or a value that
// is not a Response, into a 500 reported to onError.

import type { HttpHandler, ShimRequestInfo } from "../shim.ts";
import type { ResolvedOptions } from "../types.ts";
import { _healthCheck } from "./health.ts";

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
export function _httpHandler(
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
