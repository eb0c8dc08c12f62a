// Node's shim: node:net (and node:tls) for raw TCP, node:http with
// connection tracking for HTTP, node:http2 for HTTPS (HTTP/2 and HTTP/1.1 by
// ALPN), and the fetch adapter on top of them.

import http from "node:http";
import http2 from "node:http2";
import { _loadingCertificate, type HttpServeOptions, type Serving, type Shim } from "../../shim.ts";
import { _serveNodeServer } from "../_shared/node_server.ts";
import { _onProcessSignal, _otherProcessSignalListeners } from "../_shared/process_signal.ts";
import { _fetchListener } from "./fetch.ts";
import { _listenNodeTcp } from "./socket.ts";

/** node:http's switch for half-open connections (Deno's Node types lack it). */
interface HalfOpenSetting {
  httpAllowHalfOpen?: boolean;
}

function createServer(
  { tls, handler, shutdown }: HttpServeOptions,
): http.Server | http2.Http2SecureServer {
  if (tls === undefined) {
    const server = http.createServer(
      { noDelay: true, keepAlive: true },
      _fetchListener(handler, shutdown, "http"),
    );
    // Half-open: a client that sends its request and then FIN still gets the
    // answer, however late (node:http would close on the FIN; Node 22-26
    // offer this only as a property).
    (server as HalfOpenSetting).httpAllowHalfOpen = true;
    return server;
  }
  const listener = _fetchListener(handler, shutdown, "https");
  // The listener serves HTTP/1.1 requests and HTTP/2 streams alike (Node's compatibility API).
  const server = _loadingCertificate(tls, () =>
    http2.createSecureServer(
      { ...tls, allowHTTP1: true, allowHalfOpen: true, noDelay: true, keepAlive: true },
      listener as unknown as (
        request: http2.Http2ServerRequest,
        response: http2.Http2ServerResponse,
      ) => void,
    ));
  // The same for HTTP/1.1 over TLS: node:http's connection handling reads it here.
  (server as HalfOpenSetting).httpAllowHalfOpen = true;
  return server;
}

function serveNodeHttp(options: HttpServeOptions): Promise<Serving> {
  const server = createServer(options);
  // The fetch handler answers the health path itself.
  return _serveNodeServer(server, { ...options, health: undefined });
}

/** The shim for Node. */
export const _nodeShim: Shim = {
  runtime: "node",
  listenTcp: _listenNodeTcp,
  serveHttp: serveNodeHttp,
  serveNodeServer: _serveNodeServer,
  onSignal: _onProcessSignal,
  otherSignalListeners: _otherProcessSignalListeners,
};
