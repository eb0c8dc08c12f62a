// Node's fetch adapter: node:http requests in, web Requests to the handler,
// web Responses streamed back with backpressure. Bodies are never buffered
// whole.

import type http from "node:http";
import process from "node:process";
import type { HttpHandler } from "../../shim.ts";
import type { Addr } from "../../types.ts";
import { _NodeRequest } from "./request.ts";

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
  next: Promise<ReadableStreamReadResult<Uint8Array>>,
): Promise<void> {
  for (;;) {
    const { done, value } = await next;
    if (done) break;
    if (!outgoing.write(value) && !(await waitForDrain(outgoing))) {
      await reader.cancel();
      return; // the client went away
    }
    next = reader.read();
  }
  outgoing.end();
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
  try {
    const first = await reader.read();
    if (first.done) {
      outgoing.writeHead(status, statusText, headers).end();
      return;
    }
    let sent = false;
    const send = () => {
      if (sent) return;
      sent = true;
      outgoing.writeHead(status, statusText, headers).write(first.value);
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
    if (outgoing.writableNeedDrain && !(await waitForDrain(outgoing))) {
      await reader.cancel();
      return; // the client went away
    }
    await writeRest(reader, outgoing, second);
  } catch (error) {
    // The body failed mid-stream: cut the response so the client sees it incomplete.
    outgoing.destroy(error as Error);
  } finally {
    reader.releaseLock();
  }
}

function writeResponse(
  response: Response,
  outgoing: http.ServerResponse,
  isHead: boolean,
): Promise<void> | undefined {
  // Connection: close, once set for shutdown, stays.
  const keepConnection = outgoing.hasHeader("connection");
  const headers: string[] = [];
  for (const [name, value] of response.headers) {
    if (name !== "connection" || !keepConnection) headers.push(name, value);
  }
  const statusText = response.statusText || undefined;
  const body = response.body;
  if (body === null || isHead) {
    body?.cancel().catch(() => {});
    outgoing.writeHead(response.status, statusText, headers).end();
    return;
  }
  return writeHeadAndBody(response.status, statusText, headers, body, outgoing);
}

/** A node:http request listener that serves `handler`. */
export function _fetchListener(
  handler: HttpHandler,
  shutdown: AbortSignal,
): (incoming: http.IncomingMessage, outgoing: http.ServerResponse) => void {
  return (incoming, outgoing) => {
    const socket = incoming.socket;
    const remoteAddr: Addr = {
      hostname: socket.remoteAddress ?? "",
      port: socket.remotePort ?? 0,
    };
    const fail = (error: unknown) => outgoing.destroy(error as Error);
    try {
      const request = new _NodeRequest(incoming, outgoing) as unknown as Request;
      const response = handler(request, { remoteAddr, shutdown });
      if (response instanceof Response) {
        writeResponse(response, outgoing, incoming.method === "HEAD")?.catch(fail);
      } else {
        response.then((r) => writeResponse(r, outgoing, incoming.method === "HEAD"))
          .catch(fail);
      }
    } catch (error) {
      fail(error);
    }
  };
}
