// Deno's shim: Deno.listen for raw TCP, Deno.serve for HTTP, and Deno's
// node:http for `{ server }`.

import type { NodeServerServeOptions, Serving, Shim } from "../../shim.ts";
import { _serveDenoHttp } from "./http.ts";
import { _listenDenoTcp } from "./socket.ts";
import { _deno } from "./types.ts";

function onDenoSignal(signal: string, handler: () => void): () => void {
  _deno.addSignalListener(signal, handler);
  return () => _deno.removeSignalListener(signal, handler);
}

/**
 * Deno's node:http reports its connections as Node's does, so the shared
 * tracking serves it. Loaded only when asked for: the node:* modules it
 * needs stay out of the startup of Deno's own fetch and TCP serving.
 */
async function serveDenoNodeServer(
  server: unknown,
  options: NodeServerServeOptions,
): Promise<Serving> {
  return (await import("../_shared/node_server.ts"))._serveNodeServer(server, options);
}

/** The shim for Deno. */
export const _denoShim: Shim = {
  runtime: "deno",
  listenTcp: _listenDenoTcp,
  serveHttp: _serveDenoHttp,
  serveNodeServer: serveDenoNodeServer,
  onSignal: onDenoSignal,
  // Deno.addSignalListener does not list the other listeners.
  otherSignalListeners: () => [],
};
