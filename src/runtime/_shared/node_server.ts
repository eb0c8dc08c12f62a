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
  type HealthCheck,
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

/** Where the fetch adapter leaves what to do when a response closes (the client may have left). */
export const ON_RESPONSE_CLOSE: unique symbol = Symbol("lastcall.onResponseClose");

/** A response that may carry an {@linkcode ON_RESPONSE_CLOSE} callback. */
export type ClosableResponse = http.ServerResponse & {
  [ON_RESPONSE_CLOSE]?: (() => void) | undefined;
};

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

/**
 * An upgrade listener (ws, socket.io, a proxy) took the socket: it is in
 * flight until it closes, never idle. The app ends it on `Server.signal`;
 * the deadline destroys it.
 */
function upgraded(request: http.IncomingMessage): void {
  (request.socket as StatefulSocket)[kState]?.conn.active();
}

/**
 * Watches upgrades once the app listens for them (now or later): Node answers
 * an upgrade request no one listens for as a plain request, so lastcall must
 * not be the only listener.
 */
function trackUpgrades(server: http.Server): void {
  if (server.listenerCount("upgrade") > 0) {
    server.prependListener("upgrade", upgraded);
    return;
  }
  server.on("newListener", function onNewListener(event: string | symbol) {
    if (event !== "upgrade") return;
    server.off("newListener", onNewListener);
    server.prependListener("upgrade", upgraded);
  });
}

function responseEnded(response: http.ServerResponse): void {
  const state = (response.req.socket as StatefulSocket)[kState];
  if (state !== undefined && --state.inFlight === 0) state.conn.idle();
}

function isHttpServer(server: net.Server): server is http.Server {
  return "headersTimeout" in server;
}

/** Answers the health path before the app's own request listeners run. */
function answerHealthFirst(server: http.Server, health: HealthCheck): void {
  const appListeners = server.listeners("request") as http.RequestListener[];
  server.removeAllListeners("request");
  server.on("request", function(this: http.Server, request, response) {
    const answer = health(request.method ?? "GET", request.url ?? "/");
    if (answer === undefined) {
      for (const listener of appListeners) listener.call(this, request, response);
      return;
    }
    response.writeHead(answer.status, {
      "content-type": "text/plain; charset=utf-8",
      "content-length": answer.body.length,
    }).end(request.method === "HEAD" ? undefined : answer.body);
  });
}

/**
 * Tracks the connections of `candidate`, a node:http, node:https, node:http2
 * or node:net server not yet listening (checked by the options), and listens
 * on it.
 */
export async function _serveNodeServer(
  server: unknown,
  options: NodeServerServeOptions,
): Promise<Serving> {
  const candidate = server as net.Server;
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
    if (options.health !== undefined) answerHealthFirst(candidate, options.health);
    trackUpgrades(candidate);
    // Responses in flight, to mark them Connection: close when shutdown begins.
    const responses = new Set<http.ServerResponse>();
    function onResponseClose(this: ClosableResponse): void {
      responses.delete(this);
      responseEnded(this);
      this[ON_RESPONSE_CLOSE]?.();
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
