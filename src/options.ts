// The options of serveAndShutdown, their defaults, and the checks that turn
// a wrong value into a TypeError or RangeError naming the option.

import type { Conn } from "./tcp_conn.ts";

/** Options every kind of server takes. */
export interface BaseOptions {
  /** Where to listen; default: all interfaces, as each runtime does. */
  hostname?: string;
  /** The port; 0 picks a free one. Default 0. */
  port?: number;
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
}

/** What a fetch handler learns about its request besides the Request itself. */
export interface RequestInfo {
  /** The peer's address. */
  remoteAddr: { hostname: string; port: number };
  /** Aborts when shutdown begins: end long polls, Server-Sent Events and WebSockets. */
  shutdown: AbortSignal;
}

/** An HTTP server with a web-standard fetch handler, on the runtime's own server. */
export interface HttpOptions extends BaseOptions {
  /** Answers one request. A throw becomes a 500 and is reported to `onError`. */
  fetch(request: Request, info: RequestInfo): Response | Promise<Response>;
  /** A path answered 200 while ready and 503 once shutdown began (GET and HEAD). */
  health?: string;
}

/** An existing node:http, node:https or node:net server (Express, Fastify, Koa), not yet listening. */
export interface NodeServerOptions extends BaseOptions {
  /** The server; lastcall calls its `listen(port, hostname)`. */
  server: unknown;
}

/** BaseOptions with defaults applied and values checked. */
export interface ResolvedOptions {
  hostname: string | undefined;
  port: number;
  signals: readonly string[];
  gracePeriod: number;
  drainDelay: number;
  idleGrace: number;
  onError: (error: unknown, context: ErrorContext) => void;
}

function describe(value: unknown): string {
  return typeof value === "string" ? `"${value}"` : String(value);
}

function invalid(name: string, rule: string, value: unknown, Type = TypeError): Error {
  return new Type(
    `Cannot serve as '${name}' must be ${rule}: received ${describe(value)}`,
  );
}

function duration(name: string, value: unknown, fallback: number, allowInfinity: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number") throw invalid(name, "a number of ms", value);
  if (Number.isNaN(value) || value < 0 || (!allowInfinity && !Number.isFinite(value))) {
    throw invalid(
      name,
      allowInfinity ? "a number >= 0" : "a finite number >= 0",
      value,
      RangeError,
    );
  }
  return value;
}

/** Applies defaults to the options all modes share, throwing on a wrong value. */
export function _resolveOptions(options: BaseOptions): ResolvedOptions {
  const { hostname, port = 0, signals = ["SIGINT", "SIGTERM"], onError } = options;
  if (hostname !== undefined && typeof hostname !== "string") {
    throw invalid("hostname", "a string", hostname);
  }
  if (typeof port !== "number") throw invalid("port", "a number", port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw invalid("port", "a whole number from 0 to 65535", port, RangeError);
  }
  if (
    signals !== false
    && (!Array.isArray(signals) || signals.some((signal) => typeof signal !== "string"))
  ) {
    throw invalid("signals", "an array of signal names or false", signals);
  }
  if (onError !== undefined && typeof onError !== "function") {
    throw invalid("onError", "a function", onError);
  }
  return {
    hostname,
    port,
    signals: signals === false ? [] : signals,
    gracePeriod: duration("gracePeriod", options.gracePeriod, 10_000, true),
    drainDelay: duration("drainDelay", options.drainDelay, 0, false),
    idleGrace: duration("idleGrace", options.idleGrace, 100, false),
    onError: onError
      ?? ((error, context) => console.error("lastcall: handler error", error, context)),
  };
}
