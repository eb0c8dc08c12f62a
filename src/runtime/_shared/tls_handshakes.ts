// Connections of a node:tls based server (https, http2 secure) still in their
// TLS handshake. Node's HTTP servers see a connection only once its handshake
// is over, so neither they nor `closeIdleConnections()` ever close one that
// stalls before it: lastcall closes those with the idle ones.

import type net from "node:net";
import type tls from "node:tls";

/** A TLS socket wrapping an accepted one keeps it here (Node's internal name, stable since v0.11). */
type WrappingSocket = tls.TLSSocket & { _parent?: net.Socket };

/**
 * Watches `server`'s handshakes; the function returned destroys every
 * connection still in one. Where the runtime does not link a TLS socket to
 * its accepted socket, it watches nothing rather than guess.
 */
export function _trackHandshakes(server: tls.Server): () => void {
  let pending: Set<net.Socket> | undefined = new Set();
  const done = (secure: WrappingSocket): void => {
    if (pending === undefined) return;
    if (secure._parent === undefined) pending = undefined;
    else pending.delete(secure._parent);
  };
  // One listener for every socket (`this` is the socket): no closure per connection.
  function forget(this: net.Socket): void {
    pending?.delete(this);
  }
  server.on("connection", (socket: net.Socket) => {
    if (pending === undefined) return;
    pending.add(socket);
    socket.on("close", forget);
  });
  server.on("secureConnection", done);
  server.on("tlsClientError", (_error: Error, secure: WrappingSocket) => done(secure));
  return () => {
    pending?.forEach((socket) => socket.destroy());
    pending?.clear();
  };
}
