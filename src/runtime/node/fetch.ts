// Node's fetch adapter: node:http requests in, web Requests to the handler,
// web Responses streamed back with backpressure. Bodies are never buffered
// whole.

import type http from "node:http";
import process from "node:process";
import type { HttpHandler, ShimRequestInfo } from "../../shim.ts";
import type { Addr } from "../../types.ts";
import { _plainHostname } from "../_shared/address.ts";
import { type ClosableResponse, ON_RESPONSE_CLOSE } from "../_shared/node_server.ts";
import { RequestShutdowns } from "../_shared/request_shutdown.ts";
import { _completeNodeRequest, _NodeRequest } from "./request.ts";
import { _streamState } from "./stream_state.ts";

/** Headers HTTP/2 forbids (RFC 9113, 8.2.2): Node warns about each and drops it. */
const CONNECTION_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

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

/** Streams `reader` to `outgoing` after `first`, the first chunk already sent. */
async function writeRest(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  outgoing: http.ServerResponse,
  state: ReturnType<typeof _streamState>,
  next: ReturnType<ReadableStreamDefaultReader<Uint8Array>["read"]>,
): Promise<void> {
  for (;;) {
    const { done, value } = await next;
    if (done) break;
    if (state.destroyed) return; // the client went away: onClose cancelled the body
    if (!outgoing.write(value) && !(await waitForDrain(outgoing))) {
      await reader.cancel();
      return; // the client went away
    }
    next = reader.read();
  }
  if (!state.destroyed) outgoing.end();
}

/** Ends a streamed response when its client half-closes; returns the remover. */
function cutOnClientEnd(outgoing: http.ServerResponse): (() => void) | undefined {
  // The server is half-open so that a late answer still reaches a client that
  // sent FIN after its request, streamed or not; a FIN while a body streams
  // means the client left, as it did before (Go cancels the request's context
  // on it), and an endless stream must not outlive it.
  const socket = outgoing.req.httpVersionMajor === 2 ? undefined : outgoing.socket;
  if (socket == null || socket.readableEnded) return undefined;
  const cut = (): void => void outgoing.destroy();
  socket.once("end", cut);
  return () => socket.off("end", cut);
}

/**
 * Writes the head and the body. A body that is complete once its first chunk
 * is read (a string, bytes, JSON: most responses) goes out as one write with
 * Content-Length; any other streams chunk by chunk, the first chunk leaving
 * no later than the end of the current tick.
 */
async function writeHeadAndBody(
  status: number,
  statusText: string | undefined,
  headers: string[],
  body: ReadableStream<Uint8Array>,
  outgoing: http.ServerResponse,
): Promise<void> {
  const reader = body.getReader();
  // A client that goes away cancels the body, so its source stops producing.
  // The tracking's own close listener calls this: no listener per response.
  (outgoing as ClosableResponse)[ON_RESPONSE_CLOSE] = () => {
    if (!outgoing.writableFinished) reader.cancel().catch(() => {});
  };
  const state = _streamState(outgoing);
  let stopCutting: (() => void) | undefined;
  try {
    const first = await reader.read();
    if (first.done) {
      if (!state.destroyed) outgoing.writeHead(status, statusText, headers).end();
      return;
    }
    let sent = false;
    const send = () => {
      if (sent) return;
      sent = true;
      outgoing.writeHead(status, statusText, headers).write(first.value);
      stopCutting = cutOnClientEnd(outgoing);
    };
    process.nextTick(send);
    const second = reader.read();
    const { done } = await second;
    if (done && !sent) {
      sent = true;
      if (!headers.includes("content-length")) {
        headers.push("content-length", String(first.value.byteLength));
      }
      outgoing.writeHead(status, statusText, headers).end(first.value);
      return;
    }
    send();
    if (state.writableNeedDrain && !(await waitForDrain(outgoing))) {
      await reader.cancel();
      return; // the client went away
    }
    await writeRest(reader, outgoing, state, second);
  } catch (error) {
    // The body failed mid-stream: cut the response so the client sees it incomplete.
    outgoing.destroy(error as Error);
  } finally {
    stopCutting?.();
    (outgoing as ClosableResponse)[ON_RESPONSE_CLOSE] = undefined;
    reader.releaseLock();
  }
}

function writeResponse(
  response: Response,
  outgoing: http.ServerResponse,
  incoming: http.IncomingMessage,
): Promise<void> | undefined {
  const isHead = incoming.method === "HEAD";
  const headers: string[] = [];
  let statusText: string | undefined;
  if (incoming.httpVersionMajor === 2) {
    for (const [name, value] of response.headers) {
      if (!CONNECTION_HEADERS.has(name)) headers.push(name, value);
    }
  } else {
    // Connection: close, once set for shutdown, stays.
    const keepConnection = outgoing.hasHeader("connection");
    for (const [name, value] of response.headers) {
      if (name !== "connection" || !keepConnection) headers.push(name, value);
    }
    // HTTP/2 has no reason phrase.
    statusText = response.statusText || undefined;
  }
  const body = response.body;
  if (body === null || isHead) {
    body?.cancel().catch(() => {});
    outgoing.writeHead(response.status, statusText, headers).end();
    return;
  }
  return writeHeadAndBody(response.status, statusText, headers, body, outgoing);
}

/** What the handler learns besides the Request, each part made when first read. */
class NodeRequestInfo implements ShimRequestInfo {
  readonly #outgoing: http.ServerResponse;
  readonly #shutdowns: RequestShutdowns;
  #remoteAddr: Addr | undefined;
  #shutdown: AbortSignal | undefined;

  constructor(outgoing: http.ServerResponse, shutdowns: RequestShutdowns) {
    this.#outgoing = outgoing;
    this.#shutdowns = shutdowns;
  }

  get remoteAddr(): Addr {
    const socket = this.#outgoing.req.socket;
    return this.#remoteAddr ??= {
      hostname: _plainHostname(socket.remoteAddress),
      port: socket.remotePort ?? 0,
    };
  }

  get shutdown(): AbortSignal {
    const outgoing = this.#outgoing;
    return this.#shutdown ??= this.#shutdowns.signal((end) => {
      if (_streamState(outgoing).closed) return false;
      outgoing.once("close", end);
      return true;
    });
  }

  upgradeWebSocket(): never {
    throw new TypeError(
      "Cannot upgrade to a WebSocket in fetch mode on Node: serve { server: http.createServer(app) } "
        + "and attach the ws package (new WebSocketServer({ server })), closing its clients on server.signal",
    );
  }
}

/**
 * A node:http request listener that serves `handler`; with node:http2's
 * compatibility API it serves HTTP/2 streams too.
 */
export function _fetchListener(
  handler: HttpHandler,
  shutdown: AbortSignal,
  scheme: "http" | "https",
): (incoming: http.IncomingMessage, outgoing: http.ServerResponse) => void {
  _completeNodeRequest();
  const shutdowns = new RequestShutdowns(shutdown);
  return (incoming, outgoing) => {
    const fail = (error: unknown) => outgoing.destroy(error as Error);
    try {
      const request = new _NodeRequest(incoming, outgoing, scheme) as unknown as Request;
      const response = handler(request, new NodeRequestInfo(outgoing, shutdowns));
      if (response instanceof Response) {
        writeResponse(response, outgoing, incoming)?.catch(fail);
      } else {
        response.then((r) => writeResponse(r, outgoing, incoming)).catch(fail);
      }
    } catch (error) {
      fail(error);
    }
  };
}
