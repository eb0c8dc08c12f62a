// HTTP on Deno: Deno.serve, with requests counted since it hides its
// connections, and a way to end what is still running at the deadline.

import { _atMost, _untilAborted } from "../../_abort.ts";
import {
  type DrainCounts,
  type HttpServeOptions,
  NATIVE_STOP_WAIT_MS,
  type Serving,
} from "../../shim.ts";
import type { Addr } from "../../types.ts";
import { _plainHostname } from "../_shared/address.ts";
import { BodyScopedRequestInfo, RequestShutdowns } from "../_shared/request_shutdown.ts";
import { _withConnectionClose } from "../_shared/response.ts";
import { _wrapBody } from "../_shared/wrapped_body.ts";
import { _deno, type DenoServeHandlerInfo } from "./types.ts";

/** The 503 a handler still pending at the deadline is answered with, where nothing else can end it. */
function deadlineResponse(): Response {
  return new Response("Service Unavailable: the server is shutting down\n", {
    status: 503,
    headers: { "content-type": "text/plain; charset=utf-8", connection: "close" },
  });
}

/** What the handler learns besides the Request, each part made when first read. */
class DenoRequestInfo extends BodyScopedRequestInfo {
  readonly #info: DenoServeHandlerInfo;
  #remoteAddr: Addr | undefined;

  constructor(info: DenoServeHandlerInfo, shutdowns: RequestShutdowns) {
    super(shutdowns);
    this.#info = info;
  }

  get remoteAddr(): Addr {
    const { hostname, port } = this.#info.remoteAddr;
    return this.#remoteAddr ??= { hostname: _plainHostname(hostname), port };
  }

  /** Deno reports a request over (sent, or its client gone) through `completed`. */
  protected watch(end: () => void): void {
    this.#info.completed?.then(end, end);
  }
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
export function _serveDenoHttp(options: HttpServeOptions): Promise<Serving> {
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
  const prepare = (response: Response, isHead: boolean, entry: InFlight): Response => {
    if (!shutdown.aborted) return response;
    response = _withConnectionClose(response);
    if (response.body === null || isHead) return response;
    const cuttable = _wrapBody(response);
    entry.cut = cuttable.cut;
    return cuttable.response;
  };
  const shutdowns = new RequestShutdowns(shutdown);
  const server = _deno.serve(
    { hostname: options.hostname, port: options.port, onListen: () => {} },
    (request, info) => {
      const entry: InFlight = { cut: () => {} };
      inFlight.add(entry);
      const done = (): void => finish(entry);
      if (info.completed) info.completed.then(done, done);
      // Read now: once the deadline answered for it, the request is closed.
      const isHead = request.method === "HEAD";
      const requestInfo = new DenoRequestInfo(info, shutdowns);
      const result = handler(request, requestInfo);
      if (result instanceof Response) {
        if (!info.completed) queueMicrotask(done);
        return prepare(requestInfo.finish(result), isHead, entry);
      }
      return new Promise<Response>((resolve) => {
        let answered = false;
        entry.cut = () => {
          answered = true;
          resolve(deadlineResponse());
        };
        result.then((response) => {
          if (answered) {
            // Settled after the deadline answered: nobody reads this body.
            response.body?.cancel().catch(() => {});
            return;
          }
          if (!info.completed) queueMicrotask(done);
          resolve(prepare(requestInfo.finish(response), isHead, entry));
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
      await _atMost(shuttingDown, NATIVE_STOP_WAIT_MS);
      return counts;
    },
  });
}
