// Node's shim: node:net (and node:tls) for raw TCP, node:http with
// connection tracking for HTTP, node:http2 for HTTPS (HTTP/2 and HTTP/1.1 by
// ALPN), and the fetch adapter on top of them.

import http from "node:http";
import http2 from "node:http2";
import { _loadingCertificate, type HttpServeOptions, type Serving, type Shim } from "../../shim.ts";
import { _serveNodeServer } from "../_shared/node_server.ts";
import { _onProcessSignal } from "../_shared/process_signal.ts";
import { _fetchListener } from "./fetch.ts";
import { _listenNodeTcp } from "./socket.ts";

function createServer(
  { tls, handler, shutdown }: HttpServeOptions,
): http.Server | http2.Http2SecureServer {
  if (tls === undefined) {
    return http.createServer(
      { noDelay: true, keepAlive: true },
      _fetchListener(handler, shutdown, "http"),
    );
  }
  const listener = _fetchListener(handler, shutdown, "https");
  // The listener serves HTTP/1.1 requests and HTTP/2 streams alike (Node's compatibility API).
  return _loadingCertificate(tls, () =>
    http2.createSecureServer(
      { ...tls, allowHTTP1: true, noDelay: true, keepAlive: true },
      listener as unknown as (
        request: http2.Http2ServerRequest,
        response: http2.Http2ServerResponse,
      ) => void,
    ));
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
};
