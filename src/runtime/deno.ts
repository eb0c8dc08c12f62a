// Deno's shim: Deno.listen connections behind the RawSocket interface, and
// Deno.serve for HTTP.

import { _atMost, _untilAborted } from "../_abort.ts";
import { _deadlineResponse, _withConnectionClose } from "../http_handler.ts";
import { _cuttable } from "./cuttable_body.ts";
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
import type { DenoConn, DenoNamespace, DenoServe } from "./types.ts";

const denoEncoder = new TextEncoder();
const Deno = (globalThis as unknown as { Deno: DenoNamespace & DenoServe }).Deno;

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

  write(input: Uint8Array | string): Promise<void> {
    const data = typeof input === "string" ? denoEncoder.encode(input) : input;
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

function listenDenoTcp(
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

function onDenoSignal(signal: string, handler: () => void): () => void {
  Deno.addSignalListener(signal, handler);
  return () => Deno.removeSignalListener(signal, handler);
}

/** A request being served, until Deno reports its response sent. */
interface InFlight {
  /** Ends it at the deadline, where that is possible. */
  cut: () => void;
}

/**
 * Deno.serve hides its connections, so requests are counted instead: those
 * finished after shutdown began are drained, those still in flight at the
 * deadline forced. Deno's own shutdown() closes the listener and idle
 * connections and drains, but waits forever for a handler that never settles:
 * at the deadline one still pending is answered with a 503, and a body that
 * began streaming during shutdown is cut. (Wrapping every body to make it
 * cuttable would halve Deno's throughput, so bodies sent before shutdown
 * began are left alone: see README.)
 */
function serveDenoHttp(options: HttpServeOptions): Promise<Serving> {
  const { handler, shutdown } = options;
  const inFlight = new Set<InFlight>();
  const counts: DrainCounts = { closedIdle: 0, drained: 0, forced: 0 };
  let wakeDrain: (() => void) | undefined;
  const finish = (request: InFlight): void => {
    if (!inFlight.delete(request)) return;
    if (shutdown.aborted) counts.drained++;
    if (inFlight.size === 0) wakeDrain?.();
  };
  /** Once shutdown began: Connection: close, and a body the deadline can cut. */
  const prepare = (response: Response, request: Request, entry: InFlight): Response => {
    if (!shutdown.aborted) return response;
    response = _withConnectionClose(response);
    if (response.body === null || request.method === "HEAD") return response;
    const cuttable = _cuttable(response);
    entry.cut = cuttable.cut;
    return cuttable.response;
  };
  const server = Deno.serve(
    { hostname: options.hostname, port: options.port, onListen: () => {} },
    (request, info) => {
      const entry: InFlight = { cut: () => {} };
      inFlight.add(entry);
      const done = (): void => finish(entry);
      if (info.completed) info.completed.then(done, done);
      const result = handler(request, { remoteAddr: info.remoteAddr, shutdown });
      if (result instanceof Response) {
        if (!info.completed) queueMicrotask(done);
        return prepare(result, request, entry);
      }
      return new Promise<Response>((resolve) => {
        entry.cut = () => resolve(_deadlineResponse());
        result.then((response) => {
          if (!info.completed) queueMicrotask(done);
          resolve(prepare(response, request, entry));
        });
      });
    },
  );
  let shuttingDown: Promise<void> | undefined;
  return Promise.resolve({
    addr: { hostname: server.addr.hostname, port: server.addr.port },
    closeListener: () => {
      shuttingDown = server.shutdown();
    },
    async drain(signal: AbortSignal): Promise<DrainCounts> {
      if (inFlight.size > 0) {
        await Promise.race([new Promise<void>((wake) => wakeDrain = wake), _untilAborted(signal)]);
      }
      for (const request of [...inFlight]) {
        inFlight.delete(request);
        counts.forced++;
        request.cut();
      }
      // With nothing in flight Deno's shutdown ends at once; a body sent
      // before shutdown began cannot be cut, so do not wait on it long.
      await _atMost(shuttingDown, 1_000);
      return counts;
    },
  });
}

/** The shim for Deno. */
export const denoShim: Shim = {
  runtime: "deno",
  listenTcp: listenDenoTcp,
  serveHttp: serveDenoHttp,
  onSignal: onDenoSignal,
};
