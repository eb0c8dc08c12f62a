// What the shims over a runtime's own fetch server (Deno.serve, Bun.serve)
// do to a response once shutdown has begun.

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
