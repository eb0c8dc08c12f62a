// The one interface every runtime shim implements. The rest of the library
// talks to sockets, listeners and signals only through it.

/** A host and port. */
export interface Addr {
  hostname: string;
  port: number;
}

/**
 * An accepted TCP socket, reduced to what a connection needs. Reads are
 * pulled: bytes nobody asks for stay with the runtime or the kernel.
 */
export interface RawSocket {
  readonly remoteAddr: Addr;
  /** The next chunk from the peer, a buffer the caller owns; null once the peer closed or reset. */
  read(): Promise<Uint8Array | null>;
  /** Resolves once the bytes are handed to the socket, waiting out backpressure; rejects when it is gone. */
  write(data: Uint8Array | string): Promise<void>;
  /**
   * Sends FIN after everything written so far; reading goes on. Resolves once
   * the written bytes are with the kernel (or the socket is gone).
   */
  closeWrite(): Promise<void>;
  /** Closes the socket now, whatever is pending. Idempotent. */
  destroy(): void;
  /** Resolves once the socket is fully closed. */
  readonly closed: Promise<void>;
}

/** A listening TCP socket. */
export interface TcpListener {
  readonly addr: Addr;
  /** Stops accepting; open connections are left alone. */
  close(): void;
}

/** How many connections (or, where a runtime hides them, requests) ended which way. */
export interface DrainCounts {
  closedIdle: number;
  drained: number;
  forced: number;
}

/** A serving mode on a runtime, as the shared shutdown sequence drives it. */
export interface Serving {
  readonly addr: Addr;
  /** Stops accepting. */
  closeListener(): void;
  /** Closes idle connections, waits for busy ones, and cuts the rest when `signal` aborts. */
  drain(signal: AbortSignal): Promise<DrainCounts>;
}

/**
 * What a shim hands the handler with each request. Shims may compute
 * `remoteAddr` lazily (a getter), since most handlers never read it.
 */
export interface ShimRequestInfo {
  readonly remoteAddr: Addr;
  readonly shutdown: AbortSignal;
}

/** The web-standard handler a shim serves, already wrapped with health, errors and 500s. */
export type HttpHandler = (
  request: Request,
  info: ShimRequestInfo,
) => Response | Promise<Response>;

/** What a shim needs to serve HTTP. */
export interface HttpServeOptions {
  hostname: string | undefined;
  port: number;
  handler: HttpHandler;
  /** Aborts when shutdown begins: from then on every response carries `Connection: close`. */
  shutdown: AbortSignal;
}

/** What `serveAndShutdown` needs from a runtime. */
export interface Shim {
  readonly runtime: "node" | "deno" | "bun";
  /**
   * Listens on TCP and calls `accept` for each connection. Rejects when it
   * cannot listen, with `code === "EADDRINUSE"` for a port in use.
   */
  listenTcp(
    hostname: string | undefined,
    port: number,
    accept: (socket: RawSocket) => void,
  ): Promise<TcpListener>;
  /** Serves a fetch handler on the runtime's own HTTP server. */
  serveHttp(options: HttpServeOptions): Promise<Serving>;
  /**
   * Listens with an existing node:http, node:https or node:net server and
   * tracks its connections; undefined where the runtime cannot.
   */
  serveNodeServer?(server: unknown, options: Omit<HttpServeOptions, "handler">): Promise<Serving>;
  /** Calls `handler` on each delivery of the process signal; returns the remover. */
  onSignal(signal: string, handler: () => void): () => void;
}

/** An error for use of a connection after it closed. */
export function _connClosedError(): Error {
  return Object.assign(new Error("The connection is closed"), { code: "ERR_CONN_CLOSED" });
}
