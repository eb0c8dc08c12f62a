// Deno's shim: Deno.listen for raw TCP, Deno.serve for HTTP.

import type { Shim } from "../../shim.ts";
import { _serveDenoHttp } from "./http.ts";
import { _listenDenoTcp } from "./socket.ts";
import { _deno } from "./types.ts";

function onDenoSignal(signal: string, handler: () => void): () => void {
  _deno.addSignalListener(signal, handler);
  return () => _deno.removeSignalListener(signal, handler);
}

/** The shim for Deno. */
export const _denoShim: Shim = {
  runtime: "deno",
  listenTcp: _listenDenoTcp,
  serveHttp: _serveDenoHttp,
  onSignal: onDenoSignal,
};
