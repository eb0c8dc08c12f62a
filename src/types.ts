// The public interfaces of serving (options, Server, Conn, RequestInfo) and
// the resolved options that every layer below serveAndShutdown receives.

import type { ConnState, ShutdownResult } from "./tracker.ts";

/** A host and port. */
export interface Addr {
  hostname: string;
  port: number;
}

/** A certificate chain and its private key, both PEM text (the files' contents, not their paths). */
export interface TlsCertificate {
  /** The certificate chain, PEM: `-----BEGIN CERTIFICATE-----`, leaf first. */
  cert: string;
  /** The private key, PEM. */
  key: string;
}

/** Options every kind of server takes. */
export interface BaseOptions {
  /** Where to listen. Default `"0.0.0.0"`, all IPv4 interfaces, on every runtime; `"::"` adds IPv6. */
  hostname?: string;
  /** The port; 0 picks a free one. Default 0. */
  port?: number;
  /**
   * Serve over TLS. With `fetch`, HTTP/2 and HTTP/1.1 are offered by ALPN on
   * every runtime; with `connection`, each `Conn` is a TLS connection. A
   * `server` brings its own TLS.
   */
  tls?: TlsCertificate;
  /**
   * Process signals that shut the server down: the first calls
   * `shutdown(gracePeriod)`, the second `close()`. `false` installs none.
   * Default `["SIGINT", "SIGTERM"]`.
   */
  signals?: readonly string[] | false;
  /** The deadline in ms used on a signal, by `shutdown()` and by asyncDispose. Default 10 000. */
  gracePeriod?: number;
  /** Ms to keep serving with `ready === false` before closing listeners. Default 0. */
  drainDelay?: number;
  /** Ms a TCP connection must have been quiet before draining closes it. Default 100. */
  idleGrace?: number;
  /** Receives a handler's throw. Default `console.error`. */
  onError?: (error: unknown, context: ErrorContext) => void;
}

/** Where an error reported to `onError` happened. */
export interface ErrorContext {
  /** The peer of the connection the error happened on. */
  remoteAddr?: { hostname: string; port: number };
  /** The HTTP request being handled, when there was one. */
  request?: Request;
}

/** A raw TCP server: `connection` is called once per accepted connection. */
export interface TcpOptions extends BaseOptions {
  /** Serves one connection; returning (or throwing) closes it. */
  connection(conn: Conn): void | Promise<void>;
  /** Only one mode at a time: not with `connection`. */
  fetch?: never;
  /** Only one mode at a time: not with `connection`. */
  server?: never;
  /** A health path is HTTP: give it to the HTTP server of the same process. */
  health?: never;
}

/** What a fetch handler learns about its request besides the Request itself. */
export interface RequestInfo {
  /** The peer's address. */
  readonly remoteAddr: { hostname: string; port: number };
  /**
   * This request's own signal: aborts when shutdown begins (end long polls,
   * Server-Sent Events and WebSockets on it), never once the request is over.
   */
  readonly shutdown: AbortSignal;
  /**
   * Deno's `Deno.upgradeWebSocket`, on Deno and Bun: return `response` from
   * the handler. The socket is tracked: when the listener closes it gets
   * close 1001 unless the app closed it, and the deadline terminates it.
   *
   * @throws {TypeError} On Node (serve `{ server }` with the `ws` package
   * instead), or when the request is not a WebSocket upgrade.
   */
  upgradeWebSocket(request: Request, options?: WebSocketUpgradeOptions): WebSocketUpgrade;
}

/** Options of {@linkcode RequestInfo.upgradeWebSocket}. */
export interface WebSocketUpgradeOptions {
  /** The subprotocol to accept, one the client offered. */
  protocol?: string;
  /** Seconds without a pong before the socket is closed (Deno only; Bun's default applies there). */
  idleTimeout?: number;
}

/** An upgraded WebSocket and the response that completes the upgrade. */
export interface WebSocketUpgrade {
  /** Standard events (open, message, close, error) and methods (send, close). */
  socket: WebSocket;
  /** Return it from the handler. */
  response: Response;
}

/** An HTTP server with a web-standard fetch handler, on the runtime's own server. */
export interface HttpOptions extends BaseOptions {
  /** Answers one request. A throw becomes a 500 and is reported to `onError`. */
  fetch(request: Request, info: RequestInfo): Response | Promise<Response>;
  /** A path answered 200 while ready and 503 once shutdown began (GET and HEAD). */
  health?: string;
  /** Only one mode at a time: not with `fetch`. */
  connection?: never;
  /** Only one mode at a time: not with `fetch`. */
  server?: never;
}

/**
 * What `{ server }` takes: a node:http, node:https, node:http2 or node:net
 * server, described by the few members lastcall uses.
 */
export interface NodeServerLike {
  /** Starts listening; lastcall calls it. */
  listen(options: { port?: number; host?: string }, listening?: () => void): unknown;
  /** Stops accepting; lastcall calls it when draining starts. */
  close(callback?: (error?: Error) => void): unknown;
  /** Where it listens. */
  address(): unknown;
  /** Subscribes to its events (connection, request, upgrade, error). */
  // deno-lint-ignore no-explicit-any
  on(event: string, listener: (...args: any[]) => void): unknown;
  /** True once listening: such a server is refused, lastcall must see every connection. */
  readonly listening: boolean;
}

/**
 * An existing server, not yet listening: `http.createServer(app)` for
 * Express or Koa, `app.server` (after `await app.ready()`) for Fastify.
 */
export interface NodeServerOptions extends BaseOptions {
  /** The server; lastcall calls its `listen(port, hostname)`. */
  server: NodeServerLike;
  /** A path answered 200 while ready and 503 once shutdown began (GET and HEAD), before the app's handlers. */
  health?: string;
  /** Only one mode at a time: not with `server`. */
  fetch?: never;
  /** Only one mode at a time: not with `server`. */
  connection?: never;
  /** A server brings its own TLS: create it with `https.createServer` or `http2.createSecureServer`. */
  tls?: never;
}

/**
 * One raw TCP connection, the same on every runtime. Iterate it to read: the
 * connection is idle while the handler waits for the next chunk and active
 * while it works on one, so the read loop is the request boundary that
 * shutdown drains on.
 *
 * @example An echo protocol that ends cleanly on shutdown
 * ```ts
 * import { type Conn, serveAndShutdown } from "@lastcall/lastcall";
 *
 * const server = await serveAndShutdown({
 *   port: 0,
 *   signals: false,
 *   async connection(conn: Conn) {
 *     for await (const chunk of conn) await conn.write(chunk);
 *   },
 * });
 * await server.shutdown(1_000);
 * ```
 */
export interface Conn extends AsyncIterable<Uint8Array> {
  /**
   * Writes to the peer; resolves once the bytes are handed to the socket,
   * waiting out backpressure. After close it rejects with an error whose
   * `code` is `"ERR_CONN_CLOSED"`.
   */
  write(data: Uint8Array | string): Promise<void>;
  /** Closes cleanly: FIN after the last write, then a short linger. Idempotent. */
  close(): void;
  /** Holds the connection busy across reads, for a request that spans chunks. */
  active(): void;
  /** Releases the hold; while draining, the read loop then ends. */
  idle(): void;
  /** The peer's address. */
  readonly remoteAddr: { hostname: string; port: number };
  /** Where the connection is in its life. */
  readonly state: ConnState;
  /** Aborts when shutdown begins, so a protocol can tell its clients. */
  readonly shutdown: AbortSignal;
}

/** A running server, as `serveAndShutdown` returns it. */
export interface Server extends AsyncDisposable {
  /** Where it listens. */
  readonly addr: { hostname: string; port: number };
  /** The runtime serving it. */
  readonly runtime: "node" | "deno" | "bun";
  /** False from the moment shutdown begins: fail health checks now. */
  readonly ready: boolean;
  /**
   * Aborts when shutdown begins: in `server` mode, close your WebSockets
   * (with `ws`: `client.close(1001)`) and end your streams on it.
   */
  readonly signal: AbortSignal;
  /**
   * Go's Shutdown, then Close at the deadline: stop accepting, close idle
   * connections, let in-flight work finish, force the rest when `deadline`
   * (ms, or a signal) passes; default `gracePeriod`. Idempotent: every call
   * resolves with the same result.
   *
   * @throws {TypeError} (as a rejection) When `deadline` is neither a number
   * nor an AbortSignal.
   * @throws {RangeError} (as a rejection) When `deadline` is NaN.
   */
  shutdown(deadline?: AbortSignal | number): Promise<ShutdownResult>;
  /** Go's Close: closes the listener and every connection now. */
  close(): Promise<void>;
  /** Settles once the server is fully down. */
  readonly finished: Promise<ShutdownResult>;
}

/** The options every mode shares, with defaults applied and values checked. */
export interface ResolvedBase {
  hostname: string;
  port: number;
  tls: TlsCertificate | undefined;
  signals: readonly string[];
  gracePeriod: number;
  drainDelay: number;
  idleGrace: number;
  onError: (error: unknown, context: ErrorContext) => void;
}

/** The options of `serveAndShutdown` once checked: one form, whatever the mode. */
export type ResolvedOptions =
  & ResolvedBase
  & (
    | { mode: "fetch"; fetch: HttpOptions["fetch"]; health: string | undefined }
    | { mode: "connection"; connection: TcpOptions["connection"] }
    | { mode: "server"; server: NodeServerLike; health: string | undefined }
  );
