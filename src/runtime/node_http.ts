// Node's HTTP connection tracking, shared by the fetch adapter and by
// `{ server }`: each socket is a tracked connection, active while it has a
// response in flight; once shutdown begins every response that has not sent
// its headers yet gets `Connection: close`.

import type http from "node:http";
import type net from "node:net";
import tls from "node:tls";
import { _trackedServing, _trackerFor } from "../tracked_serving.ts";
import type { TrackedConn } from "../tracker.ts";
import type { HttpServeOptions, Serving } from "./shim.ts";

interface SocketState {
  conn: TrackedConn;
  inFlight: number;
}

/**
 * Closes a connection with no response in flight, as Node's own
 * closeIdleConnections and Go do: a full close, so Node's parser reads
 * nothing more and a request racing in never reaches a handler (the client
 * sees the close and may retry). The last response is already with the
 * kernel, which still delivers it; with nothing unread the peer sees FIN.
 */
function closeSocket(socket: net.Socket): void {
  socket.destroy();
}

function isHttpServer(server: net.Server): server is http.Server {
  return "headersTimeout" in server;
}

/**
 * Tracks `server`'s connections and listens on it.
 *
 * @throws {TypeError} When `server` is not a node:net server, or already listens.
 */
export async function _serveNodeServer(
  server: unknown,
  options: Omit<HttpServeOptions, "handler">,
): Promise<Serving> {
  const candidate = server as net.Server | undefined;
  if (
    typeof candidate !== "object" || candidate === null
    || typeof candidate.listen !== "function" || typeof candidate.on !== "function"
  ) {
    throw new TypeError(
      `Cannot serve as 'server' must be a node:http, node:https or node:net server: received ${
        String(server)
      }`,
    );
  }
  if (candidate.listening) {
    throw new TypeError(
      "Cannot serve as 'server' is already listening: pass it before calling listen(), so lastcall sees every connection",
    );
  }
  const { shutdown } = options;
  const tracker = _trackerFor(shutdown);
  const sockets = new Map<net.Socket, SocketState>();
  const responses = new Set<http.ServerResponse>();
  const http = isHttpServer(candidate);

  // TLS servers hand requests the TLS socket, so that is the one tracked.
  const connectionEvent = candidate instanceof tls.Server ? "secureConnection" : "connection";
  candidate.on(connectionEvent, (socket: net.Socket) => {
    const conn = tracker.track({ close: () => closeSocket(socket) });
    sockets.set(socket, { conn, inFlight: 0 });
    socket.once("close", () => {
      sockets.delete(socket);
      conn.closed();
    });
    // A plain TCP server has no request boundary: its connections count as
    // busy until they close or the deadline cuts them.
    if (!http) conn.active();
  });

  if (http) {
    candidate.prependListener("request", (request, response) => {
      const state = sockets.get(request.socket);
      if (shutdown.aborted) response.setHeader("connection", "close");
      responses.add(response);
      if (state !== undefined) {
        state.inFlight++;
        state.conn.active();
      }
      response.once("close", () => {
        responses.delete(response);
        if (state !== undefined && --state.inFlight === 0) state.conn.idle();
      });
    });
    shutdown.addEventListener("abort", () => {
      for (const response of responses) {
        if (!response.headersSent) response.setHeader("connection", "close");
      }
    }, { once: true });
  }

  await new Promise<void>((resolve, reject) => {
    candidate.once("error", reject);
    candidate.listen({ port: options.port, host: options.hostname }, () => {
      candidate.off("error", reject);
      resolve();
    });
  });
  const address = candidate.address() as net.AddressInfo;
  return _trackedServing(
    { hostname: address.address, port: address.port },
    tracker,
    () => void candidate.close(),
    () => sockets.forEach((_state, socket) => socket.destroy()),
  );
}
