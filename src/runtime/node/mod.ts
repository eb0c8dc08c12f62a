// Node's shim: node:net for raw TCP, node:http with connection tracking for
// HTTP, and the fetch adapter on top of it.

import http from "node:http";
import type { HttpServeOptions, Serving, Shim } from "../../shim.ts";
import { _serveNodeServer } from "../_shared/node_server.ts";
import { _onProcessSignal } from "../_shared/process_signal.ts";
import { _fetchListener } from "./fetch.ts";
import { _listenNodeTcp } from "./socket.ts";

function serveNodeHttp(options: HttpServeOptions): Promise<Serving> {
  const server = http.createServer(
    { noDelay: true, keepAlive: true },
    _fetchListener(options.handler, options.shutdown),
  );
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
