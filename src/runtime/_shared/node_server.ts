// Connection tracking for node:http, node:https, node:http2 and node:net
// servers, shared by Node (its fetch adapter and `{ server }`) and Bun
// (`{ server }`): each HTTP/1 socket is a tracked connection, active while it
// has a response in flight; once shutdown begins the last response of each
// connection gets `Connection: close` (the last: a pipelined request behind
// it is answered too), and a request behind a response already sent with it
// is not run. HTTP/2 sessions are tracked by http2_sessions.ts.

import type http from "node:http";
import type http2 from "node:http2";
import net from "node:net";
import tls from "node:tls";
import {
  _trackedServing,
  _trackerFor,
  type HealthAnswer,
  type HealthCheck,
  type NodeServerServeOptions,
  type Serving,
} from "../../shim.ts";
import { _trackSessions } from "./http2_sessions.ts";
import { _stateOf, NodeSockets, type SocketState } from "./node_sockets.ts";
import { _trackHandshakes } from "./tls_handshakes.ts";

/** Where the fetch adapter leaves what to do when a response closes (the client may have left). */
export const ON_RESPONSE_CLOSE: unique symbol = Symbol("lastcall.onResponseClose");

/** A response that may carry an {@linkcode ON_RESPONSE_CLOSE} callback. */
export type ClosableResponse = http.ServerResponse & {
  [ON_RESPONSE_CLOSE]?: (() => void) | undefined;
};

function requestStarted(socket: net.Socket, shuttingDown: boolean): SocketState | undefined {
  const state = _stateOf(socket);
  if (state === undefined) return undefined;
  if (shuttingDown) state.watch();
  state.inFlight++;
  state.conn.active();
  return state;
}

/**
 * An upgrade listener (ws, socket.io, a proxy) took the socket: it is in
 * flight until it closes, never idle. The app ends it on `Server.signal`;
 * the deadline destroys it.
 */
function upgraded(request: http.IncomingMessage): void {
  const state = _stateOf(request.socket);
  state?.watch(); // in flight until it closes, whoever closes it
  state?.conn.active();
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
  const state = _stateOf(response.req.socket);
  if (state === undefined) return;
  if (state.last === response) state.last = undefined;
  if (--state.inFlight === 0) {
    state.quietSince = Date.now();
    // While draining, the Tracker closes the connection now: behind this reply.
    state.answering = true;
    state.conn.idle();
    state.answering = false;
  }
}

function isHttpServer(server: net.Server): server is http.Server {
  return "headersTimeout" in server;
}

function isHttp2Server(server: net.Server): server is net.Server & http2.Http2Server {
  return typeof (server as Partial<http2.Http2Server>).updateSettings === "function";
}

/** HTTP/2 has no `Connection` header (it is illegal there): a session ends by GOAWAY. */
function isHttp2(request: http.IncomingMessage): boolean {
  return request.httpVersionMajor === 2;
}

/** The headers of a health answer, on HTTP/1 and HTTP/2 alike. */
function healthHeaders(answer: HealthAnswer): Record<string, string | number> {
  return { "content-type": "text/plain; charset=utf-8", "content-length": answer.body.length };
}

/** True once `response` has sent `Connection: close`: its connection ends behind it. */
function sentClose(response: http.ServerResponse | undefined): boolean {
  return response !== undefined && response.headersSent
    && String(response.getHeader("connection")).toLowerCase() === "close";
}

/**
 * Once shutdown began: `Connection: close` on the connection's latest
 * response (`state.last` is still the one before it), taken off the earlier
 * one if that has not sent its headers yet.
 */
function closeBehindLast(state: SocketState, response: http.ServerResponse): void {
  const previous = state.last;
  if (previous !== undefined && !previous.headersSent && previous !== response) {
    previous.removeHeader("connection");
  }
  if (!response.headersSent) response.setHeader("connection", "close");
  state.owner.lingerOnClose(state);
}

/**
 * Takes the server's request listeners (the app's, or the fetch adapter's)
 * and runs them behind lastcall's own: the health path is answered first, and
 * a request behind a response already sent with `Connection: close` (Node
 * would drop its answer) never reaches them. Listeners the app adds later are
 * not behind it.
 */
function interceptRequests(
  server: http.Server,
  health: HealthCheck | undefined,
  track: (request: http.IncomingMessage, response: http.ServerResponse) => SocketState | undefined,
): void {
  const appListeners = server.listeners("request") as http.RequestListener[];
  server.removeAllListeners("request");
  server.on("request", function(this: http.Server, request, response) {
    const previous = _stateOf(request.socket)?.last;
    const state = track(request, response);
    if (sentClose(previous) || request.socket.writableEnded) {
      // Not run, so not answered: the client sees the close and may resend.
      return;
    }
    if (state !== undefined) state.last = response;
    // An HTTP/2 stream's health check was answered by interceptStreams.
    const answer = isHttp2(request)
      ? undefined
      : health?.(request.method ?? "GET", request.url ?? "/");
    if (answer === undefined) {
      for (const listener of appListeners) listener.call(this, request, response);
      return;
    }
    response.writeHead(answer.status, healthHeaders(answer))
      .end(request.method === "HEAD" ? undefined : answer.body);
  });
}

/**
 * The same for the streams of an HTTP/2 server, which also serves apps that
 * use the stream API rather than `request`: the health path is answered
 * before the app's stream listeners (Node's compatibility layer among them).
 */
function interceptStreams(server: http2.Http2Server, health: HealthCheck): void {
  // Typed loosely: @types/node and Deno's own Node types disagree on them.
  type Listener = (...args: unknown[]) => void;
  const appListeners = server.listeners("stream") as unknown as Listener[];
  server.removeAllListeners("stream");
  server.on("stream", function(this: http2.Http2Server, ...args: unknown[]) {
    const stream = args[0] as http2.ServerHttp2Stream;
    const headers = args[1] as http2.IncomingHttpHeaders;
    const method = String(headers[":method"] ?? "GET");
    const answer = health(method, String(headers[":path"] ?? "/"));
    if (answer === undefined) {
      for (const listener of appListeners) listener.apply(this, args);
      return;
    }
    stream.respond({ ":status": answer.status, ...healthHeaders(answer) });
    stream.end(method === "HEAD" ? undefined : answer.body);
  });
}

/**
 * Closes the listener only: node:http's own close() would also destroy the
 * idle connections at once (with no close_notify on TLS), before the drain
 * closes them after their idle grace. It is still called, with that part
 * switched off, since it also stops node:http's unref'd connection-checking
 * interval, which would otherwise keep the server reachable for good. Bun's
 * node:http server is no net.Server, and its close() closes them itself.
 */
function stopAccepting(server: net.Server, isTls: boolean, h2: boolean): void {
  if (h2) {
    // HTTP/2 sessions get their GOAWAY from http2_sessions.ts.
    if (isTls) net.Server.prototype.close.call(server);
    else server.close();
    return;
  }
  const httpServer = server as Partial<http.Server>;
  if (!(server instanceof net.Server) || typeof httpServer.closeIdleConnections !== "function") {
    server.close();
    return;
  }
  const own = Object.getOwnPropertyDescriptor(server, "closeIdleConnections");
  httpServer.closeIdleConnections = () => {};
  try {
    server.close();
  } finally {
    if (own === undefined) delete httpServer.closeIdleConnections;
    else Object.defineProperty(server, "closeIdleConnections", own);
  }
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
  const h2 = isHttp2Server(candidate);
  const http = h2 || isHttpServer(candidate);
  const sessions = h2 ? _trackSessions(candidate, tracker) : undefined;
  const isTls = candidate instanceof tls.Server;
  const closeHandshakes = isTls ? _trackHandshakes(candidate) : undefined;

  // TLS servers hand requests the TLS socket, so that is the one tracked.
  // HTTP/2 connections are tracked as sessions (h2c ones all are).
  const connectionEvent = isTls ? "secureConnection" : "connection";
  const sockets = new NodeSockets(tracker, options.idleGrace);
  if (!h2 || isTls) {
    candidate.on(connectionEvent, (socket: net.Socket) => {
      if ((socket as tls.TLSSocket).alpnProtocol === "h2") return;
      const state = sockets.add(socket);
      // A plain TCP server has no request boundary: its connections count as
      // busy until they close or the deadline cuts them.
      if (!http) state.conn.active();
    });
  }
  // Once shutdown begins, closes count (during drainDelay too), and the
  // latest response of each connection, if its head is not sent yet, says
  // Connection: close.
  let shuttingDown = false; // shutdown.aborted, without a getter per request
  shutdown.addEventListener("abort", () => {
    shuttingDown = true;
    sockets.watch((state) => {
      if (state.last !== undefined) closeBehindLast(state, state.last);
    });
  }, { once: true });

  if (h2 && options.health !== undefined) interceptStreams(candidate, options.health);
  if (http) {
    trackUpgrades(candidate as http.Server);
    function onResponseClose(this: ClosableResponse): void {
      responseEnded(this);
      this[ON_RESPONSE_CLOSE]?.();
    }
    interceptRequests(candidate as http.Server, options.health, (request, response) => {
      response.on("close", onResponseClose);
      if (isHttp2(request)) return undefined;
      const state = requestStarted(request.socket, shuttingDown);
      if (shuttingDown && state !== undefined) closeBehindLast(state, response);
      return state;
    });
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
    () => {
      sockets.settle();
      stopAccepting(candidate, isTls, h2);
      closeHandshakes?.();
      sessions?.goAway();
    },
    () => {
      sockets.destroyAll();
      sessions?.destroyAll();
    },
  );
}
