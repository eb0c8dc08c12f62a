// Raw TCP on Node: node:net sockets behind the RawSocket interface.

import net from "node:net";
import tls from "node:tls";
import {
  _connClosedError,
  _loadingCertificate,
  _WRITTEN,
  type RawSocket,
  type TcpListener,
  type TcpListenOptions,
} from "../../shim.ts";
import type { Addr } from "../../types.ts";
import { _plainHostname } from "../_shared/address.ts";
import { PullReader } from "../_shared/pull_reader.ts";

/** A node:net socket as a RawSocket. */
class NodeSocket implements RawSocket {
  readonly remoteAddr: Addr;
  readonly closed: Promise<void>;
  readonly #socket: net.Socket;
  readonly #reader: PullReader;
  /** False while a TLS socket is still in its handshake. */
  #secure: boolean;

  constructor(socket: net.Socket) {
    this.#socket = socket;
    this.#secure = !(socket instanceof tls.TLSSocket);
    if (!this.#secure) socket.once("secure", () => this.#secure = true);
    this.remoteAddr = {
      hostname: _plainHostname(socket.remoteAddress),
      port: socket.remotePort ?? 0,
    };
    this.#reader = new PullReader(() => socket.pause(), () => socket.resume());
    socket.on("data", (chunk: Uint8Array) => this.#reader.push(chunk));
    const end = (): void => this.#reader.end();
    socket.on("end", end);
    // A reset or other socket error ends reading like EOF; "close" follows.
    socket.on("error", end);
    this.closed = new Promise((resolve) => {
      socket.on("close", () => {
        end();
        resolve();
      });
    });
  }

  read(deliver: (chunk: Uint8Array | null) => void): void {
    this.#reader.read(deliver);
  }

  write(data: Uint8Array | string): Promise<void> {
    const socket = this.#socket;
    if (socket.destroyed || !socket.writable) return Promise.reject(_connClosedError());
    if (socket.write(data)) return _WRITTEN;
    return new Promise((resolve, reject) => {
      const settle = (): void => {
        socket.off("drain", settle);
        socket.off("close", settle);
        if (socket.destroyed) reject(_connClosedError());
        else resolve();
      };
      socket.on("drain", settle);
      socket.on("close", settle);
    });
  }

  closeWrite(): Promise<void> {
    const socket = this.#socket;
    // A TLS handshake in progress has nothing to deliver: closing it must not wait.
    if (!this.#secure) socket.destroy();
    if (socket.destroyed || socket.writableEnded) return Promise.resolve();
    return new Promise((resolve) => {
      socket.once("close", resolve);
      socket.end(resolve);
    });
  }

  destroy(): void {
    this.#socket.destroy();
  }
}

/**
 * Wraps each accepted socket in TLS itself rather than through a tls.Server,
 * so a connection is handed over (and tracked) from its first byte: one
 * still in its handshake is an idle connection, closed at once on drain.
 */
function tlsAcceptor(
  certificate: NonNullable<TcpListenOptions["tls"]>,
  accept: TcpListenOptions["accept"],
): (socket: net.Socket) => void {
  const secureContext = _loadingCertificate(
    certificate,
    () => tls.createSecureContext(certificate),
  );
  return (socket) => {
    const secure = new tls.TLSSocket(socket, { isServer: true, secureContext });
    // A failed handshake is the client's business: the socket just closes.
    secure.on("error", () => secure.destroy());
    accept(new NodeSocket(secure));
  };
}

/** Listens with node:net (and TLS); a port in use rejects with Node's own EADDRINUSE error. */
export function _listenNodeTcp(
  { hostname, port, tls: certificate, accept }: TcpListenOptions,
): Promise<TcpListener> {
  const server = net.createServer(
    // Half-open: a peer that sends its last command and FIN still gets the reply.
    { allowHalfOpen: true, noDelay: true, keepAlive: true },
    certificate === undefined
      ? (socket) => accept(new NodeSocket(socket))
      : tlsAcceptor(certificate, accept),
  );
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host: hostname }, () => {
      server.off("error", reject);
      const address = server.address() as net.AddressInfo;
      resolve({
        addr: { hostname: address.address, port: address.port },
        close: () => void server.close(),
      });
    });
  });
}
