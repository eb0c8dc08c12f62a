// The contract between serving and a runtime: the one interface every shim in
// runtime/<name>/ implements, and the few helpers both sides rely on. Serving
// talks to sockets, listeners and signals only through it.

import { Tracker } from "./tracker.ts";
import type { Addr, RequestInfo, TlsCertificate } from "./types.ts";

/**
 * How long a native server's own stop may still take once the deadline
 * forced it, before serving gives up waiting on it.
 */
export const NATIVE_STOP_WAIT_MS = 1_000;

/** What a shim's write returns when the socket took every byte at once. */
export const _WRITTEN: Promise<void> = Promise.resolve();

/**
 * An accepted TCP socket, reduced to what a connection needs. Reads are
 * pulled: bytes nobody asks for stay with the runtime or the kernel.
 */
export interface RawSocket {
  readonly remoteAddr: Addr;
  /**
   * Asks for the next chunk from the peer: `deliver` is called once, with a
   * buffer the caller owns, or with null once the peer closed or reset; never
   * before read returns. One request at a time.
   */
  read(deliver: (chunk: Uint8Array | null) => void): void;
  /**
   * Hands the bytes to the socket: {@linkcode _WRITTEN} when it took them at
   * once, else a promise that resolves once it has (waiting out
   * backpressure) and rejects when the socket is gone.
   */
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
  /**
   * Stops accepting; open connections are left alone. A runtime that frees
   * the port only later returns a promise that settles once it is free.
   */
  close(): Promise<void> | void;
}

/** What a shim needs to listen on raw TCP. */
export interface TcpListenOptions {
  hostname: string;
  port: number;
  /** Serve over TLS with this certificate; each accepted socket is then a TLS one. */
  tls: TlsCertificate | undefined;
  /** Called with each accepted connection. */
  accept: (socket: RawSocket) => void;
}

/** How many connections (or, where a runtime hides them, requests) ended which way. */
export interface DrainCounts {
  closedIdle: number;
  drained: number;
  forced: number;
}

/** The counts of two parts of one server (its requests and its WebSockets) together. */
export function _sumCounts(a: DrainCounts, b: DrainCounts): DrainCounts {
  return {
    closedIdle: a.closedIdle + b.closedIdle,
    drained: a.drained + b.drained,
    forced: a.forced + b.forced,
  };
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
export type ShimRequestInfo = RequestInfo;

/** The web-standard handler a shim serves, already wrapped with health, errors and 500s. */
export type HttpHandler = (
  request: Request,
  info: ShimRequestInfo,
) => Response | Promise<Response>;

/** The answer to a health check. */
export interface HealthAnswer {
  status: 200 | 503;
  body: string;
}

/** Answers a request for the health path; undefined for any other request. */
export type HealthCheck = (method: string, url: string) => HealthAnswer | undefined;

/** What a shim needs to serve HTTP on its own server. */
export interface HttpServeOptions {
  hostname: string;
  port: number;
  /** Serve HTTPS with this certificate, offering HTTP/2 and HTTP/1.1 by ALPN. */
  tls: TlsCertificate | undefined;
  /** Aborts when shutdown begins: from then on every response carries `Connection: close`. */
  shutdown: AbortSignal;
  /** How long a new or idle connection must have been quiet before draining closes it, in ms. */
  idleGrace: number;
  handler: HttpHandler;
}

/** What a shim needs to serve an existing node:http, node:https or node:net server. */
export interface NodeServerServeOptions extends Omit<HttpServeOptions, "handler" | "tls"> {
  /** Answered before the app's own request listeners, on HTTP servers. */
  health: HealthCheck | undefined;
}

/** What `serveAndShutdown` needs from a runtime. */
export interface Shim {
  readonly runtime: "node" | "deno" | "bun";
  /**
   * Listens on TCP and calls `accept` for each connection. Rejects when it
   * cannot listen, with `code === "EADDRINUSE"` for a port in use.
   */
  listenTcp(options: TcpListenOptions): Promise<TcpListener>;
  /** Serves a fetch handler on the runtime's own HTTP server. */
  serveHttp(options: HttpServeOptions): Promise<Serving>;
  /** Listens with an existing node:http(s), node:http2 or node:net server and tracks its connections. */
  serveNodeServer(server: unknown, options: NodeServerServeOptions): Promise<Serving>;
  /** Calls `handler` on each delivery of the process signal; returns the remover. */
  onSignal(signal: string, handler: () => void): () => void;
  /**
   * The names of the process's other listeners for `signal` that the
   * runtime lets a listener see (a framework's own shutdown handler);
   * empty where it shows none.
   */
  otherSignalListeners(signal: string, own: () => void): string[];
}

/**
 * The error for a certificate or key the runtime refused, keeping the
 * runtime's own as `cause`.
 */
function tlsError(cause: unknown): Error {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new Error(
    `Cannot serve over TLS as 'tls' holds no usable certificate and key: ${reason}`,
    { cause },
  );
}

/**
 * Runs the call that loads the certificate (a runtime's listen, or Node's
 * server or context creation): with `tls`, a failure other than the port's
 * is reported as the certificate's.
 */
export function _loadingCertificate<T>(tls: TlsCertificate | undefined, load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (tls === undefined || (error as { code?: unknown })?.code === "EADDRINUSE") throw error;
    throw tlsError(error);
  }
}

/** An error for use of a connection after it closed. */
export function _connClosedError(): Error {
  return Object.assign(new Error("The connection is closed"), { code: "ERR_CONN_CLOSED" });
}

/** A Tracker that also counts the connections that closed during drainDelay. */
export type DelayAwareTracker = Tracker & { closedDuringDelay: number };

/**
 * A Tracker for a server whose shutdown begins when `shutdown` aborts. The
 * connections that close by themselves after that but before draining starts
 * (during drainDelay) count as drained.
 */
export function _trackerFor(shutdown: AbortSignal): DelayAwareTracker {
  const tracker: DelayAwareTracker = Object.assign(
    new Tracker({
      onStateChange: (_conn, _from, to) => {
        // (Cheapest test first: this runs for every connection that closes.)
        if (to === "closed" && !tracker.draining && shutdown.aborted) tracker.closedDuringDelay++;
      },
    }),
    { closedDuringDelay: 0 },
  );
  return tracker;
}

/**
 * The Serving of every mode that sees its connections (raw TCP on all
 * runtimes, HTTP on Node): it drains through `tracker`, which cuts every
 * tracked socket when the deadline passes; `destroyAll` also cuts those it no
 * longer tracks.
 */
export function _trackedServing(
  addr: Addr,
  tracker: DelayAwareTracker,
  closeListener: () => void,
  destroyAll?: () => void,
): Serving {
  return {
    addr,
    closeListener,
    async drain(signal: AbortSignal): Promise<DrainCounts> {
      const onForce = (): void => destroyAll?.();
      signal.addEventListener("abort", onForce, { once: true });
      if (signal.aborted) onForce();
      try {
        const { closedIdle, drained, forced } = await tracker.shutdown(signal);
        return { closedIdle, drained: drained + tracker.closedDuringDelay, forced };
      } finally {
        signal.removeEventListener("abort", onForce);
      }
    },
  };
}
