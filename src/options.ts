// Every option of serveAndShutdown checked once, the mode included: a wrong
// value becomes a TypeError or RangeError naming the option, and the rest of
// the library receives one resolved form.

import type {
  HttpOptions,
  NodeServerLike,
  NodeServerOptions,
  ResolvedBase,
  ResolvedOptions,
  TcpOptions,
  TlsCertificate,
} from "./types.ts";

const DEFAULT_HOSTNAME = "0.0.0.0";
const DEFAULT_SIGNALS: readonly string[] = ["SIGINT", "SIGTERM"];
const DEFAULT_GRACE_PERIOD_MS = 10_000;
const DEFAULT_IDLE_GRACE_MS = 100;
const MODES = ["fetch", "connection", "server"] as const;
const KNOWN_KEYS = new Set<string>([
  ...MODES,
  "hostname",
  "port",
  "tls",
  "signals",
  "gracePeriod",
  "drainDelay",
  "idleGrace",
  "onError",
  "health",
]);
/** The signals that may stop a server, each one every runtime lets a process catch. */
const CATCHABLE_SIGNALS = new Set(["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"]);

/** A value as an error message shows it: short, never a function's source. */
function describe(value: unknown): string {
  if (typeof value === "string") return `"${value}"`;
  if (typeof value === "function") return `a function${value.name ? ` (${value.name})` : ""}`;
  if (Array.isArray(value)) return `[${value.map(describe).join(", ")}]`;
  if (typeof value === "object" && value !== null) {
    const name = value.constructor?.name;
    return name && name !== "Object" ? `a ${name}` : `an object`;
  }
  return String(value);
}

function invalid(name: string, rule: string, value: unknown, Type = TypeError): Error {
  return new Type(`Cannot serve as '${name}' must be ${rule}: received ${describe(value)}`);
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

/** `tls`: PEM text for both parts, or a TypeError that says what is wrong. */
function checkTls(tls: unknown): TlsCertificate | undefined {
  if (tls === undefined) return undefined;
  if (typeof tls !== "object" || tls === null || Array.isArray(tls)) {
    throw invalid("tls", "an object { cert, key } of PEM text", tls);
  }
  const { cert, key } = tls as Record<string, unknown>;
  for (const [name, value] of [["tls.cert", cert], ["tls.key", key]] as const) {
    if (typeof value !== "string") throw invalid(name, "PEM text (a string)", value);
    if (!value.includes("-----BEGIN ")) {
      throw new TypeError(
        `Cannot serve as '${name}' must be PEM text, the file's contents rather than its path: received ${
          describe(value.length > 60 ? value.slice(0, 60) + "..." : value)
        }`,
      );
    }
  }
  return { cert: cert as string, key: key as string };
}

function resolveBase(options: Record<string, unknown>): ResolvedBase {
  const { hostname, port = 0, signals = DEFAULT_SIGNALS, onError } = options;
  if (hostname !== undefined && (typeof hostname !== "string" || hostname === "")) {
    throw invalid("hostname", "a non-empty host name or address", hostname);
  }
  if (typeof port !== "number") throw invalid("port", "a number", port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw invalid("port", "a whole number from 0 to 65535", port, RangeError);
  }
  if (signals !== false && !Array.isArray(signals)) {
    throw invalid("signals", "an array of signal names or false", signals);
  }
  for (const signal of signals || []) {
    if (!CATCHABLE_SIGNALS.has(signal)) {
      throw invalid("signals", `a list of ${[...CATCHABLE_SIGNALS].join(", ")}`, signal);
    }
  }
  if (onError !== undefined && typeof onError !== "function") {
    throw invalid("onError", "a function", onError);
  }
  return {
    hostname: hostname ?? DEFAULT_HOSTNAME,
    port,
    tls: checkTls(options.tls),
    signals: signals === false ? [] : signals as readonly string[],
    gracePeriod: duration("gracePeriod", options.gracePeriod, DEFAULT_GRACE_PERIOD_MS, true),
    drainDelay: duration("drainDelay", options.drainDelay, 0, false),
    idleGrace: duration("idleGrace", options.idleGrace, DEFAULT_IDLE_GRACE_MS, false),
    onError: (onError as ResolvedBase["onError"] | undefined)
      ?? ((error, context) => console.error("lastcall: handler error", error, context)),
  };
}

/**
 * Checks the options of `serveAndShutdown` and applies their defaults.
 *
 * @throws {TypeError} When `options` is not an object, not exactly one mode
 * is given, or an option has the wrong type.
 * @throws {RangeError} When a number is out of range.
 */
export function _resolveOptions(
  options: HttpOptions | TcpOptions | NodeServerOptions,
): ResolvedOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Cannot serve as 'options' must be an object: received ${String(options)}`);
  }
  const raw = options as unknown as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!KNOWN_KEYS.has(key)) {
      throw new TypeError(
        `Cannot serve as '${key}' is not an option: the options are ${[...KNOWN_KEYS].join(", ")}`,
      );
    }
  }
  const modes = MODES.filter((key) => raw[key] !== undefined);
  const mode = modes[0];
  if (mode === undefined || modes.length > 1) {
    throw new TypeError(
      `Cannot serve as exactly one of 'fetch', 'connection' or 'server' must be given: received ${
        modes.length === 0 ? "none" : modes.join(", ")
      }`,
    );
  }
  if (mode !== "server" && typeof raw[mode] !== "function") {
    throw invalid(mode, "a function", raw[mode]);
  }
  const { health } = raw;
  if (health !== undefined && mode === "connection") {
    throw new TypeError(
      "Cannot serve as 'health' is HTTP and 'connection' raw TCP: serve the health path from an HTTP server in the same process",
    );
  }
  if (health !== undefined && (typeof health !== "string" || !health.startsWith("/"))) {
    throw invalid("health", "a path starting with \"/\"", health);
  }
  if (raw.tls !== undefined && mode === "server") {
    throw new TypeError(
      "Cannot serve as 'tls' is for 'fetch' and 'connection': a 'server' brings its own TLS (https.createServer or http2.createSecureServer with cert and key)",
    );
  }
  const base = resolveBase(raw);
  if (mode === "fetch") {
    const fetch = raw.fetch as HttpOptions["fetch"];
    return { ...base, mode, fetch, health: health as string | undefined };
  }
  if (mode === "connection") {
    return { ...base, mode, connection: raw.connection as TcpOptions["connection"] };
  }
  return { ...base, mode, server: checkServer(raw.server), health: health as string | undefined };
}

const SERVER_KINDS = "a node:http, node:https, node:http2 or node:net server";

/** The server of `{ server }`, or a TypeError that says what to pass instead. */
function checkServer(server: unknown): NodeServerLike {
  const candidate = server as Partial<Record<string, unknown>> | null;
  const has = (member: string): boolean => typeof candidate?.[member] === "function";
  if (typeof server === "function" && has("listen")) {
    throw new TypeError(
      `Cannot serve as 'server' must be ${SERVER_KINDS}, not an app: pass http.createServer(app) (Express, Connect)`,
    );
  }
  if (typeof server === "function") {
    throw new TypeError(
      `Cannot serve as 'server' must be ${SERVER_KINDS}, not a request listener: pass http.createServer(listener)`,
    );
  }
  if (typeof server === "object" && server !== null && !has("address")) {
    if (has("getHttpServer")) {
      throw new TypeError(
        `Cannot serve as 'server' must be ${SERVER_KINDS}, not a Nest application: pass app.getHttpServer() after await app.init()`,
      );
    }
    if (has("fetch") && !has("listen")) {
      throw new TypeError(
        `Cannot serve as 'server' must be ${SERVER_KINDS}, not a fetch app: pass { fetch: app.fetch } instead of { server } (Hono, h3, Elysia)`,
      );
    }
    if (has("callback") && has("listen")) {
      throw new TypeError(
        `Cannot serve as 'server' must be ${SERVER_KINDS}, not a Koa app: pass http.createServer(app.callback())`,
      );
    }
    if (typeof candidate?.server === "object" && has("ready")) {
      throw new TypeError(
        `Cannot serve as 'server' must be ${SERVER_KINDS}, not a Fastify instance: pass app.server after await app.ready()`,
      );
    }
  }
  if (!has("listen") || !has("on") || !has("address") || !has("close")) {
    throw invalid("server", SERVER_KINDS, server);
  }
  if ((server as NodeServerLike).listening) {
    throw new TypeError(
      "Cannot serve as 'server' is already listening: pass it before calling listen(), so lastcall sees every connection",
    );
  }
  return server as NodeServerLike;
}
