// Bun's shim: Bun.listen sockets behind the RawSocket interface, and Bun.serve
// for HTTP.

import process from "node:process";
import { _atMost, _untilAborted } from "../_abort.ts";
import { _withConnectionClose } from "../http_handler.ts";
import { _serveNodeServer } from "./node_http.ts";
import { PullReader } from "./pull_reader.ts";
import {
  _connClosedError,
  type Addr,
  type DrainCounts,
  type HttpServeOptions,
  type RawSocket,
  type Serving,
  type Shim,
  type TcpListener,
} from "./shim.ts";
import type { BunNamespace, BunServe, BunServer, BunSocket } from "./types.ts";

const bunEncoder = new TextEncoder();
const Bun = (globalThis as unknown as { Bun: BunNamespace & BunServe }).Bun;

/** Pull reads and awaited writes over Bun's push-style socket handlers. */
class BunRawSocket implements RawSocket {
  readonly remoteAddr: Addr;
  readonly closed: Promise<void>;
  readonly #socket: BunSocket<BunRawSocket>;
  readonly #reader: PullReader;
  #isClosed = false;
  /** Bytes Bun did not take yet, written on drain, in order. */
  #unsent: Array<{ data: Uint8Array; resolve: () => void; reject: (e: unknown) => void }> = [];
  #resolveClosed!: () => void;

  constructor(socket: BunSocket<BunRawSocket>) {
    this.#socket = socket;
    this.remoteAddr = { hostname: socket.remoteAddress, port: socket.remotePort ?? 0 };
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
    while (this.#unsent.length > 0) {
      const next = this.#unsent[0];
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

  read(): Promise<Uint8Array | null> {
    return this.#reader.read();
  }

  write(input: Uint8Array | string): Promise<void> {
    let data = typeof input === "string" ? bunEncoder.encode(input) : input;
    if (this.#isClosed) return Promise.reject(_connClosedError());
    if (this.#unsent.length === 0) {
      const written = this.#socket.write(data);
      if (written >= data.byteLength) return Promise.resolve();
      data = data.subarray(Math.max(written, 0));
    }
    return new Promise((resolve, reject) => this.#unsent.push({ data, resolve, reject }));
  }

  async closeWrite(): Promise<void> {
    if (this.#unsent.length > 0) {
      await new Promise<void>((resolve, reject) =>
        this.#unsent.push({ data: new Uint8Array(0), resolve, reject })
      ).catch(() => {});
    }
    if (!this.#isClosed) this.#socket.shutdown();
  }

  destroy(): void {
    if (this.#isClosed) return;
    this.#socket.end();
    this.onClose();
  }
}

function listenBunTcp(
  hostname: string | undefined,
  port: number,
  accept: (socket: RawSocket) => void,
): Promise<TcpListener> {
  const listener = Bun.listen<BunRawSocket>({
    hostname: hostname ?? "0.0.0.0",
    port,
    allowHalfOpen: true,
    socket: {
      open(socket) {
        socket.setNoDelay?.(true);
        socket.setKeepAlive?.(true);
        socket.data = new BunRawSocket(socket);
        accept(socket.data);
      },
      data: (socket, chunk) => socket.data.onData(chunk),
      drain: (socket) => socket.data.onDrain(),
      end: (socket) => socket.data.onEnd(),
      close: (socket) => socket.data?.onClose(),
      error: (socket) => socket.data?.onEnd(),
    },
  });
  return Promise.resolve({
    addr: { hostname: listener.hostname, port: listener.port },
    close: () => listener.stop(false),
  });
}

function onBunSignal(signal: string, handler: () => void): () => void {
  process.on(signal, handler);
  return () => process.off(signal, handler);
}

/** RequestInfo whose remoteAddr is looked up only when read. */
class BunRequestInfo {
  readonly shutdown: AbortSignal;
  readonly #server: BunServer;
  readonly #request: Request;

  constructor(server: BunServer, request: Request, shutdown: AbortSignal) {
    this.#server = server;
    this.#request = request;
    this.shutdown = shutdown;
  }

  get remoteAddr(): Addr {
    const ip = this.#server.requestIP(this.#request);
    return { hostname: ip?.address ?? "", port: ip?.port ?? 0 };
  }
}

/**
 * Bun.serve hides its connections, so requests are counted instead: those in
 * flight when shutdown began or started after it are drained unless still
 * pending at the deadline, which are forced. Bun's own stop() closes the
 * listener and idle connections and resolves once the last request is done;
 * stop(true) cuts the rest at the deadline.
 */
function serveBunHttp(options: HttpServeOptions): Promise<Serving> {
  const { handler, shutdown } = options;
  let startedDuringShutdown = 0;
  const closing = (response: Response): Response =>
    shutdown.aborted ? _withConnectionClose(response) : response;
  let inFlightAtShutdown = 0;
  const server = Bun.serve({
    hostname: options.hostname ?? "0.0.0.0",
    port: options.port,
    fetch(request, bunServer) {
      if (shutdown.aborted) startedDuringShutdown++;
      // Bun gives an HTTP/1.0 request without Host (HAProxy's default health
      // check) a relative URL, which new URL() rejects: make it absolute.
      if (request.url.charCodeAt(0) === 47) {
        request = new Request(
          `http://${bunServer.hostname}:${bunServer.port}${request.url}`,
          request,
        );
      }
      const result = handler(request, new BunRequestInfo(bunServer, request, shutdown));
      return result instanceof Response ? closing(result) : result.then(closing);
    },
  });
  shutdown.addEventListener("abort", () => inFlightAtShutdown = server.pendingRequests, {
    once: true,
  });
  let stopped: Promise<void> | undefined;
  return Promise.resolve({
    addr: { hostname: server.hostname, port: server.port },
    closeListener: () => {
      stopped = server.stop();
    },
    async drain(signal: AbortSignal): Promise<DrainCounts> {
      let forced = 0;
      let drainedInTime = false;
      await Promise.race([stopped?.then(() => drainedInTime = true), _untilAborted(signal)]);
      if (!drainedInTime) {
        forced = server.pendingRequests;
        await _atMost(server.stop(true), 1_000);
      }
      const drained = Math.max(0, inFlightAtShutdown + startedDuringShutdown - forced);
      return { closedIdle: 0, drained, forced };
    },
  });
}

/** The shim for Bun. */
export const bunShim: Shim = {
  runtime: "bun",
  listenTcp: listenBunTcp,
  serveHttp: serveBunHttp,
  // Bun's node:http reports a connection only with its first request, so
  // connections that never send one are not seen (see README).
  serveNodeServer: _serveNodeServer,
  onSignal: onBunSignal,
};
