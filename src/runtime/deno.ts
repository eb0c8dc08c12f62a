// Deno's shim: Deno.listen connections behind the RawSocket interface.

import {
  _connClosedError,
  type Addr,
  type RawSocket,
  type Shim,
  type TcpListener,
} from "./shim.ts";
import type { DenoConn, DenoNamespace } from "./types.ts";

const Deno = (globalThis as unknown as { Deno: DenoNamespace }).Deno;

const READ_SIZE = 64 * 1024;

class DenoSocket implements RawSocket {
  readonly remoteAddr: Addr;
  readonly closed: Promise<void>;
  readonly #conn: DenoConn;
  readonly #buffer = new Uint8Array(READ_SIZE);
  #resolveClosed!: () => void;
  #isClosed = false;
  /** Writes run one after another; Deno's write may take only part of the bytes. */
  #writes: Promise<void> = Promise.resolve();

  constructor(conn: DenoConn) {
    this.#conn = conn;
    this.remoteAddr = { hostname: conn.remoteAddr.hostname, port: conn.remoteAddr.port };
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  async read(): Promise<Uint8Array | null> {
    if (this.#isClosed) return null;
    try {
      const n = await this.#conn.read(this.#buffer);
      // Each chunk gets its own copy: the read buffer is reused.
      return n === null ? null : this.#buffer.slice(0, n);
    } catch {
      return null; // reset, or closed while reading
    }
  }

  write(data: Uint8Array): Promise<void> {
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

function listenTcp(
  hostname: string | undefined,
  port: number,
  accept: (socket: RawSocket) => void,
): Promise<TcpListener> {
  const listener = Deno.listen({ hostname, port, transport: "tcp" });
  (async () => {
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
    },
  });
}

function onSignal(signal: string, handler: () => void): () => void {
  Deno.addSignalListener(signal, handler);
  return () => Deno.removeSignalListener(signal, handler);
}

/** The shim for Deno. */
export const shim: Shim = { runtime: "deno", listenTcp, onSignal };
