// Node's fetch adapter: node:http requests in, web Requests to the handler,
// web Responses streamed back with backpressure. Bodies are never buffered
// whole.

import type http from "node:http";
import { Readable } from "node:stream";
import type { Addr, HttpHandler } from "./shim.ts";

function toRequest(incoming: http.IncomingMessage, signal: AbortSignal): Request {
  const headers = new Headers();
  const raw = incoming.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
  const method = incoming.method ?? "GET";
  const init: RequestInit & { duplex?: "half" } = { method, headers, signal };
  if (method !== "GET" && method !== "HEAD") {
    init.body = Readable.toWeb(incoming) as unknown as ReadableStream<Uint8Array>;
    init.duplex = "half";
  }
  const host = incoming.headers.host ?? "localhost";
  return new Request(`http://${host}${incoming.url ?? "/"}`, init);
}

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

async function writeResponse(
  response: Response,
  outgoing: http.ServerResponse,
  isHead: boolean,
): Promise<void> {
  outgoing.statusCode = response.status;
  if (response.statusText) outgoing.statusMessage = response.statusText;
  for (const [name, value] of response.headers) {
    // Connection: close, once set for shutdown, stays.
    if (name === "set-cookie" || (name === "connection" && outgoing.hasHeader("connection"))) {
      continue;
    }
    outgoing.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) outgoing.setHeader("set-cookie", cookies);
  const body = response.body;
  if (body === null || isHead) {
    await body?.cancel();
    outgoing.end();
    return;
  }
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!outgoing.write(value) && !(await waitForDrain(outgoing))) {
        await reader.cancel();
        return; // the client went away
      }
    }
    outgoing.end();
  } catch (error) {
    // The body failed mid-stream: cut the response so the client sees it incomplete.
    outgoing.destroy(error as Error);
  } finally {
    reader.releaseLock();
  }
}

/** A node:http request listener that serves `handler`. */
export function _fetchListener(
  handler: HttpHandler,
  shutdown: AbortSignal,
): (incoming: http.IncomingMessage, outgoing: http.ServerResponse) => void {
  return (incoming, outgoing) => {
    const controller = new AbortController();
    outgoing.once("close", () => {
      if (!outgoing.writableFinished) controller.abort();
    });
    const socket = incoming.socket;
    const remoteAddr: Addr = {
      hostname: socket.remoteAddress ?? "",
      port: socket.remotePort ?? 0,
    };
    const serve = async (): Promise<void> => {
      const request = toRequest(incoming, controller.signal);
      const response = await handler(request, { remoteAddr, shutdown });
      await writeResponse(response, outgoing, incoming.method === "HEAD");
    };
    serve().catch((error) => outgoing.destroy(error));
  };
}
