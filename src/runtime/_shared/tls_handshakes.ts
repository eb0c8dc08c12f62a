// Connections of a node:tls based server (https, http2 secure) still in their
// TLS handshake. Node's HTTP servers see a connection only once its handshake
// is over, so neither they nor `closeIdleConnections()` ever close one that
// stalls before it: lastcall closes those with the idle ones.

import type net from "node:net";
import type tls from "node:tls";

/**
 * How a TLS socket names the socket the server's `connection` event gave:
 * Node wraps that socket and keeps it as `_parent` (its internal name, stable
 * since v0.11); Bun 1.4.5 gives the TLS socket itself to both events, and its
 * `_parent` is null.
 */
type WrappingSocket = tls.TLSSocket & { _parent?: net.Socket | null };

/**
 * Watches `server`'s handshakes; the function returned destroys every
 * connection still in one. Where a finished handshake links to neither
 * socket (a runtime that links them some other way), it watches nothing
 * from then on rather than destroy connections that are serving.
 */
export function _trackHandshakes(server: tls.Server): () => void {
  let pending: Set<net.Socket> | undefined = new Set();
  /** Forgets the connection of `secure`; false when it was not found. */
  const done = (secure: WrappingSocket | undefined): boolean =>
    secure !== undefined
    && (pending?.delete(secure) === true
      || (!!secure._parent && pending?.delete(secure._parent) === true));
  // One listener for every socket (`this` is the socket): no closure per connection.
  function forget(this: net.Socket): void {
    pending?.delete(this);
  }
  server.on("connection", (socket: net.Socket) => {
    if (pending === undefined) return;
    pending.add(socket);
    socket.on("close", forget);
  });
  server.on("secureConnection", (secure: WrappingSocket) => {
    if (!done(secure)) pending = undefined;
  });
  // A failed handshake may come after its socket closed: not proof of a missing link.
  server.on("tlsClientError", (_error: Error, secure: WrappingSocket) => done(secure));
  return () => {
    pending?.forEach((socket) => socket.destroy());
    pending?.clear();
  };
}
