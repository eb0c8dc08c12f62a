// Raw TCP on Bun: Bun.listen's push-style socket handlers behind the
// RawSocket interface.

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
import { _utf8 } from "../_shared/utf8.ts";
import { _bun, type BunSocket } from "./types.ts";

/** Pull reads and awaited writes over Bun's push-style socket handlers. */
class BunRawSocket implements RawSocket {
  readonly remoteAddr: Addr;
  readonly closed: Promise<void>;
  readonly #socket: BunSocket<BunRawSocket>;
  readonly #reader: PullReader;
  #isClosed = false;
  /** False while a TLS connection is still in its handshake. */
  secure: boolean;
  /** Bytes Bun did not take yet, written on drain, in order. */
  #unsent: Array<{ data: Uint8Array; resolve: () => void; reject: (e: unknown) => void }> = [];
  #resolveClosed!: () => void;

  constructor(socket: BunSocket<BunRawSocket>, secure: boolean) {
    this.#socket = socket;
    this.secure = secure;
    this.remoteAddr = {
      hostname: _plainHostname(socket.remoteAddress),
      port: socket.remotePort ?? 0,
    };
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    this.#reader = new PullReader(() => socket.pause(), () => socket.resume());
  }

  onData(chunk: Uint8Array): void {
    this.#reader.push(chunk);
  }

  onEnd(): void {
    this.#reader.end();
  }

  onDrain(): void {
    for (let next = this.#unsent[0]; next !== undefined; next = this.#unsent[0]) {
      const written = this.#socket.write(next.data);
      if (written < next.data.byteLength) {
        next.data = next.data.subarray(Math.max(written, 0));
        return;
      }
      this.#unsent.shift();
      next.resolve();
    }
  }

  onClose(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.onEnd();
    for (const { reject } of this.#unsent.splice(0)) reject(_connClosedError());
    this.#resolveClosed();
  }

  read(deliver: (chunk: Uint8Array | null) => void): void {
    this.#reader.read(deliver);
  }

  write(input: Uint8Array | string): Promise<void> {
    let data = typeof input === "string" ? _utf8.encode(input) : input;
    if (this.#isClosed) return Promise.reject(_connClosedError());
    if (this.#unsent.length === 0) {
      const written = this.#socket.write(data);
      if (written >= data.byteLength) return _WRITTEN;
      data = data.subarray(Math.max(written, 0));
    }
    return new Promise((resolve, reject) => this.#unsent.push({ data, resolve, reject }));
  }

  async closeWrite(): Promise<void> {
    // A TLS handshake in progress has nothing to deliver: closing it must not wait.
    if (!this.secure) return this.destroy();
    if (this.#unsent.length > 0) {
      await new Promise<void>((resolve, reject) =>
        this.#unsent.push({ data: new Uint8Array(0), resolve, reject })
      ).catch(() => {});
    }
    if (!this.#isClosed) this.#socket.shutdown();
  }

  destroy(): void {
    if (this.#isClosed) return;
    // end(), not terminate(), also for a TLS socket still in its handshake:
    // Bun closes it at once either way, but terminate() resets it (ECONNRESET
    // at the client) where end() sends FIN (measured on Bun 1.4.5), and a
    // connection the listener closes is closed cleanly.
    this.#socket.end();
    this.onClose();
  }
}

/** Listens with Bun.listen; a port in use throws Bun's EADDRINUSE error. */
export function _listenBunTcp(
  { hostname, port, tls, accept }: TcpListenOptions,
): Promise<TcpListener> {
  const listener = _loadingCertificate(tls, () =>
    _bun.listen<BunRawSocket>({
      hostname,
      port,
      allowHalfOpen: true,
      ...(tls === undefined ? {} : { tls }),
      socket: {
        // A TLS socket opens before its handshake: it is tracked (as idle) from here.
        open(socket) {
          socket.setNoDelay?.(true);
          socket.setKeepAlive?.(true);
          socket.data = new BunRawSocket(socket, tls === undefined);
          accept(socket.data);
        },
        handshake(socket, success) {
          if (success) socket.data.secure = true;
          else socket.data.destroy();
        },
        data: (socket, chunk) => socket.data.onData(chunk),
        drain: (socket) => socket.data.onDrain(),
        end: (socket) => socket.data.onEnd(),
        close: (socket) => socket.data?.onClose(),
        error: (socket) => socket.data?.onEnd(),
      },
    }));
  return Promise.resolve({
    addr: { hostname: listener.hostname, port: listener.port },
    close: () => listener.stop(false),
  });
}
