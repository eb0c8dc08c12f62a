// Connection tracking for node:http, node:https and node:net servers, shared
// by Node (its fetch adapter and `{ server }`) and Bun (`{ server }`): each
// socket is a tracked connection, active while it has a response in flight;
// once shutdown begins every response that has not sent its headers yet gets
// `Connection: close`.

import type http from "node:http";
import type net from "node:net";
import tls from "node:tls";
import {
  _trackedServing,
  _trackerFor,
  type NodeServerServeOptions,
  type Serving,
} from "../../shim.ts";
import type { TrackedConn } from "../../tracker.ts";

const kState = Symbol("lastcall.socket");

/**
 * What lastcall keeps per socket, on the socket itself. It is also the
 * socket's handle in the Tracker: closing it closes the socket fully, as
 * Node's own closeIdleConnections and Go do, so Node's parser reads nothing
 * more and a request racing in never reaches a handler (the client sees the
 * close and may retry). The last response is already with the kernel, which
 * still delivers it; with nothing unread the peer sees FIN.
 */
class SocketState {
  readonly socket: net.Socket;
  conn!: TrackedConn;
  inFlight = 0;

  constructor(socket: net.Socket) {
    this.socket = socket;
  }

  close(): void {
    this.socket.destroy();
  }
}

type StatefulSocket = net.Socket & { [kState]?: SocketState };

// Listeners shared by every socket (and, per server, every response): `this`
// is the emitter, so no closure is made per connection or per request.
//
// Memory, measured: Node adds a close listener to the socket per response;
// beside Node's own and this one, that third listener grows the socket's
// listener array for good (about 170 bytes per connection). Watching the
// close only while a socket is idle avoids that, but re-adding the listener
// after every response cost about 1 µs per request (6 % of hello-world
// throughput): throughput won.
function onSocketClose(this: StatefulSocket): void {
  this[kState]?.conn.closed();
}

function requestStarted(socket: StatefulSocket): void {
  const state = socket[kState];
  if (state === undefined) return;
  state.inFlight++;
  state.conn.active();
}

function responseEnded(response: http.ServerResponse): void {
  const state = (response.req.socket as StatefulSocket)[kState];
  if (state !== undefined && --state.inFlight === 0) state.conn.idle();
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
  options: NodeServerServeOptions,
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
  const http = isHttpServer(candidate);

  // TLS servers hand requests the TLS socket, so that is the one tracked.
  const connectionEvent = candidate instanceof tls.Server ? "secureConnection" : "connection";
  candidate.on(connectionEvent, (socket: StatefulSocket) => {
    const state = new SocketState(socket);
    state.conn = tracker.track(state);
    socket[kState] = state;
    socket.on("close", onSocketClose);
    // A plain TCP server has no request boundary: its connections count as
    // busy until they close or the deadline cuts them.
    if (!http) state.conn.active();
  });

  if (http) {
    // Responses in flight, to mark them Connection: close when shutdown begins.
    const responses = new Set<http.ServerResponse>();
    function onResponseClose(this: http.ServerResponse): void {
      responses.delete(this);
      responseEnded(this);
    }
    candidate.prependListener("request", (request, response) => {
      if (shutdown.aborted) response.setHeader("connection", "close");
      requestStarted(request.socket);
      responses.add(response);
      response.on("close", onResponseClose);
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
  );
}
