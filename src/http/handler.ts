// The runtime-neutral part of HTTP serving: the handler a shim calls, which
// answers the health path itself and turns a handler's throw, or a value that
// is not a Response, into a 500 reported to onError.

import type { HttpHandler, ShimRequestInfo } from "../shim.ts";
import type { ResolvedOptions } from "../types.ts";

function plain(status: number, body: string, method: string): Response {
  return new Response(method === "HEAD" ? null : body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

/** The path of a request URL, absolute or relative; never throws. */
function pathOf(url: string): string {
  const start = url.charCodeAt(0) === 47 ? 0 : url.indexOf("/", url.indexOf("://") + 3);
  if (start === -1) return "/";
  const end = url.slice(start).search(/[?#]/);
  return end === -1 ? url.slice(start) : url.slice(start, start + end);
}

/** Wraps the user's fetch handler for a shim. */
export function _httpHandler(
  options: ResolvedOptions & { mode: "fetch" },
  shutdown: AbortSignal,
): HttpHandler {
  const { fetch, health, onError } = options;
  const fail = (error: unknown, request: Request, info: ShimRequestInfo): Response => {
    onError(error, { remoteAddr: info.remoteAddr, request });
    return plain(500, "Internal Server Error\n", request.method);
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
    if (health !== undefined && (request.method === "GET" || request.method === "HEAD")) {
      // Cheap test first: most requests are not for the health path.
      if (request.url.includes(health) && pathOf(request.url) === health) {
        return shutdown.aborted
          ? plain(503, "draining\n", request.method)
          : plain(200, "ok\n", request.method);
      }
    }
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
