// Raw TCP on Deno: Deno.listen connections behind the RawSocket interface.

import {
  _connClosedError,
  _loadingCertificate,
  type RawSocket,
  type TcpListener,
  type TcpListenOptions,
} from "../../shim.ts";
import type { Addr } from "../../types.ts";
import { _plainHostname } from "../_shared/address.ts";
import { _utf8 } from "../_shared/utf8.ts";
import { _deno, type DenoConn, type DenoListener, type DenoTlsConn } from "./types.ts";

/** Bytes asked for per read. */
const READ_SIZE = 64 * 1024;

class DenoSocket implements RawSocket {
  readonly remoteAddr: Addr;
  readonly closed: Promise<void>;
  readonly #conn: DenoConn;
  readonly #buffer = new Uint8Array(READ_SIZE);
  #resolveClosed!: () => void;
  #isClosed = false;
  /** False while a TLS connection is still in its handshake. */
  #secure = true;
  /** Writes run one after another; Deno's write may take only part of the bytes. */
  #writes: Promise<void> = Promise.resolve();

  constructor(conn: DenoConn) {
    this.#conn = conn;
    if ("handshake" in conn) {
      this.#secure = false;
      (conn as DenoTlsConn).handshake().then(() => this.#secure = true, () => {});
    }
    const { hostname, port } = conn.remoteAddr;
    this.remoteAddr = { hostname: _plainHostname(hostname), port };
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  read(deliver: (chunk: Uint8Array | null) => void): void {
    if (this.#isClosed) {
      queueMicrotask(() => deliver(null));
      return;
    }
    this.#conn.read(this.#buffer).then(
      // Each chunk gets its own copy: the read buffer is reused.
      (n) => deliver(n === null ? null : this.#buffer.slice(0, n)),
      () => deliver(null), // reset, or closed while reading
    );
  }

  write(input: Uint8Array | string): Promise<void> {
    const data = typeof input === "string" ? _utf8.encode(input) : input;
    if (this.#isClosed) return Promise.reject(_connClosedError());
    const written = this.#writes.then(async () => {
      if (this.#isClosed) throw _connClosedError();
      let offset = 0;
      while (offset < data.byteLength) offset += await this.#conn.write(data.subarray(offset));
    });
    this.#writes = written.catch(() => {});
    return written;
  }

  async closeWrite(): Promise<void> {
    // A TLS handshake in progress has nothing to deliver: closing it must not wait.
    if (!this.#secure) return this.destroy();
    await this.#writes;
    if (this.#isClosed) return;
    try {
      await this.#conn.closeWrite();
    } catch {
      // Already gone: the peer reset it.
    }
  }

  destroy(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
    this.#resolveClosed();
  }
}

/** Listens with Deno.listen(Tls); a port in use throws Deno's AddrInUse, whose code is EADDRINUSE. */
export function _listenDenoTcp(
  { hostname, port, tls, accept }: TcpListenOptions,
): Promise<TcpListener> {
  const listener: DenoListener = _loadingCertificate(
    tls,
    () =>
      tls === undefined
        ? _deno.listen({ hostname, port, transport: "tcp" })
        : _deno.listenTls({ hostname, port, ...tls }),
  );
  // Deno frees the port only once the pending accept() has let go of the
  // listener, a turn after close(): the loop's end is when it is free.
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        try {
          conn.setNoDelay(true);
          conn.setKeepAlive(true);
        } catch {
          // The peer may already be gone; reading will tell.
        }
        accept(new DenoSocket(conn));
      }
    } catch {
      // The listener was closed.
    }
  })();
  return Promise.resolve({
    addr: { hostname: listener.addr.hostname, port: listener.addr.port },
    close: () => {
      try {
        listener.close();
      } catch {
        // Already closed.
      }
      return accepting;
    },
  });
}
