// Node's own close and the npm peers, each as "listen on a node:http server,
// then shut it down", for the drain and idle-scale benchmarks (Node only).

import type http from "node:http";

export type Stop = () => Promise<void>;

/** Starts the shutdown machinery of `peer` around `server`; returns its stop. */
export async function peerStop(peer: string, server: http.Server): Promise<Stop> {
  if (peer === "node-close") {
    // What Node offers: stop accepting; idle connections are closed (Node 19+),
    // busy keep-alive ones only at keepAliveTimeout.
    return () => new Promise((resolve) => server.close(() => resolve()));
  }
  if (peer === "stoppable") {
    const { default: stoppable } = await import("stoppable");
    const stoppableServer = stoppable(server, 10_000);
    return () => new Promise((resolve) => stoppableServer.stop(() => resolve()));
  }
  if (peer === "http-terminator") {
    const { createHttpTerminator } = await import("http-terminator");
    const terminator = createHttpTerminator({ server, gracefulTerminationTimeout: 10_000 });
    return () => terminator.terminate();
  }
  throw new Error(`unknown peer ${peer}`);
}
