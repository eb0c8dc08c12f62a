// The runtime-neutral part of HTTP serving: the health path, turning a
// handler's throw into a 500 reported to onError, and the RequestInfo.

import type { HttpOptions, ResolvedOptions } from "./options.ts";
import type { HttpHandler } from "./runtime/shim.ts";

function plain(status: number, body: string, method: string): Response {
  return new Response(method === "HEAD" ? null : body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

/** Wraps the user's fetch handler for a shim. */
export function _httpHandler(
  options: HttpOptions,
  resolved: ResolvedOptions,
  shutdown: AbortSignal,
): HttpHandler {
  const { fetch, health } = options;
  const healthPath = health;
  return async (request, { remoteAddr }) => {
    if (healthPath !== undefined && (request.method === "GET" || request.method === "HEAD")) {
      // Cheap test first: most requests are not for the health path.
      if (request.url.includes(healthPath) && new URL(request.url).pathname === healthPath) {
        return shutdown.aborted
          ? plain(503, "draining\n", request.method)
          : plain(200, "ok\n", request.method);
      }
    }
    try {
      const response = await fetch(request, { remoteAddr, shutdown });
      if (response instanceof Response) return response;
      throw new TypeError(
        `The fetch handler must return a Response: received ${String(response)}`,
      );
    } catch (error) {
      resolved.onError(error, { remoteAddr, request });
      return plain(500, "Internal Server Error\n", request.method);
    }
  };
}

/**
 * The response with `Connection: close`, so the client (or proxy) retires the
 * connection itself after it. Responses with immutable headers are copied.
 */
export function _withConnectionClose(response: Response): Response {
  try {
    response.headers.set("connection", "close");
    return response;
  } catch {
    const copy = new Response(response.body, response);
    copy.headers.set("connection", "close");
    return copy;
  }
}

/** The 503 a handler still pending at the deadline is answered with, where nothing else can end it. */
export function _deadlineResponse(): Response {
  return new Response("Service Unavailable: the server is shutting down\n", {
    status: 503,
    headers: { "content-type": "text/plain; charset=utf-8", connection: "close" },
  });
}
