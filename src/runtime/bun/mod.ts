// Bun's shim: Bun.listen for raw TCP, Bun.serve for HTTP, and Bun's
// node:http for `{ server }`.

import type { Shim } from "../../shim.ts";
import { _serveNodeServer } from "../_shared/node_server.ts";
import { _onProcessSignal, _otherProcessSignalListeners } from "../_shared/process_signal.ts";
import { _serveBunHttp } from "./http.ts";
import { _listenBunTcp } from "./socket.ts";

/** The shim for Bun. */
export const _bunShim: Shim = {
  runtime: "bun",
  listenTcp: _listenBunTcp,
  serveHttp: _serveBunHttp,
  // Bun's node:http reports a connection only with the client's first byte,
  // so connections that never send anything are not seen (see README). Its
  // HTTP/2 engine serves a stream that crossed a first GOAWAY, so sessions
  // get the two-step GOAWAY.
  serveNodeServer: (server, options) => _serveNodeServer(server, options, true),
  onSignal: _onProcessSignal,
  otherSignalListeners: _otherProcessSignalListeners,
};
