// HTTP on Deno: Deno.serve, with requests counted since it hides its
// connections, and a way to end what is still running at the deadline.

import { _atMost, _untilAborted } from "../../_abort.ts";
import {
  _loadingCertificate,
  _sumCounts,
  type DrainCounts,
  type HttpServeOptions,
  type Serving,
} from "../../shim.ts";
import type { Addr, WebSocketUpgrade, WebSocketUpgradeOptions } from "../../types.ts";
import { _plainHostname } from "../_shared/address.ts";
import { BodyScopedRequestInfo, RequestShutdowns } from "../_shared/request_shutdown.ts";
import { _withConnectionClose } from "../_shared/response.ts";
import { type TrackedWebSocket, WebSockets } from "../_shared/websockets.ts";
import { _wrapBody } from "../_shared/wrapped_body.ts";
import { _streamedBodyTest } from "./streamed_body.ts";
import { _deno, type DenoServeHandlerInfo } from "./types.ts";

/** The 503 a handler still pending at the deadline is answered with, where nothing else can end it. */
function deadlineResponse(): Response {
  return new Response("Service Unavailable: the server is shutting down\n", {
    status: 503,
    headers: { "content-type": "text/plain; charset=utf-8", connection: "close" },
  });
}

const SWITCHING_PROTOCOLS = 101;

/**
 * How long Deno's own shutdown may still take past the deadline, for the
 * bodies just cut to end (measured on Deno 2.9.6: under 2 ms on loopback).
 */
const CUT_LANDING_MS = 10;

/** What the handler learns besides the Request, each part made when first read. */
class DenoRequestInfo extends BodyScopedRequestInfo {
  readonly #info: DenoServeHandlerInfo;
  readonly #sockets: WebSockets;
  #remoteAddr: Addr | undefined;

  constructor(info: DenoServeHandlerInfo, shutdowns: RequestShutdowns, sockets: WebSockets) {
    super(shutdowns);
    this.#info = info;
    this.#sockets = sockets;
  }

  upgradeWebSocket(request: Request, options?: WebSocketUpgradeOptions): WebSocketUpgrade {
    const upgrade = _deno.upgradeWebSocket(request, options);
    const socket = upgrade.socket;
    // Deno's shutdown() closes and drops the socket itself, and lastcall
    // must not close it from JavaScript (see closeListener below).
    const tracked: TrackedWebSocket = { close: () => {}, terminate: () => {} };
    this.#sockets.add(tracked);
    const closed = new Promise((resolve) =>
      socket.addEventListener("close", resolve, { once: true })
    );
    void closed.then(() => this.#sockets.closed(tracked));
    this.upgraded(closed);
    return upgrade;
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
  /** Its body already passes through lastcall (a stream, or its request read info.shutdown). */
  wrapped?: boolean;
  /** The request, while its handler has not answered yet. */
  unanswered?: Request | undefined;
}

/**
 * Deno.serve hides its connections, so requests are counted instead: those
 * finished after shutdown began are drained, those still in flight at the
 * deadline forced. Deno's own shutdown() closes the listener and idle
 * connections and drains, but waits forever for a handler that never settles:
 * at the deadline one still pending is answered with a 503, and a body still
 * streaming is cut. Only stream bodies pass through lastcall: wrapping a
 * string or bytes body would take it off Deno's fast path (about 20 % of
 * hello-world throughput), and such a body needs no cutting.
 */
export function _serveDenoHttp(options: HttpServeOptions): Promise<Serving> {
  const { handler, shutdown } = options;
  const inFlight = new Set<InFlight>();
  const counts: DrainCounts = { closedIdle: 0, drained: 0, forced: 0 };
  // Undefined where Deno's internals do not tell stream bodies apart: then
  // only bodies sent during shutdown (and of requests that read
  // info.shutdown) are made cuttable.
  const isStreamed = _streamedBodyTest();
  let wakeDrain: (() => void) | undefined;
  const finish = (request: InFlight): void => {
    if (!inFlight.delete(request)) return;
    if (shutdown.aborted) counts.drained++;
    if (inFlight.size === 0) wakeDrain?.();
  };
  let draining = false;
  /**
   * While draining, a request whose client left must not hold the drain
   * until its handler settles (perhaps never): it is dropped uncounted, as
   * on Node and Bun, and answered so that Deno lets go of it. Deno reports
   * the client leaving only through `request.signal`, which is read for
   * handlers still pending once draining starts, never on the hot path:
   * Deno 2.9.6 warns once per process when a request whose signal was read
   * then completes (its legacy abort-on-success), see docs/runtimes.md.
   */
  const dropWhenClientLeaves = (entry: InFlight): void => {
    const request = entry.unanswered!;
    // An upgrade's signal also aborts when its handler upgrades (Deno takes
    // the connection over), before the 101 is returned: not a client leaving.
    if (request.headers.has("upgrade")) return;
    const signal = request.signal;
    // Before its handler answered, only its client leaving aborts it.
    const left = (): void => {
      if (entry.unanswered === undefined || !inFlight.delete(entry)) return;
      entry.cut();
      if (inFlight.size === 0) wakeDrain?.();
    };
    if (signal.aborted) left();
    else signal.addEventListener("abort", left, { once: true });
  };
  /** Once shutdown began: Connection: close, and a body the deadline can cut (if not yet). */
  const prepare = (response: Response, isHead: boolean, entry: InFlight): Response => {
    if (!shutdown.aborted || response.status === SWITCHING_PROTOCOLS) return response;
    response = _withConnectionClose(response);
    // Where stream bodies are told apart, send() made them cuttable already,
    // and reading `body` would turn a static one into a stream, which Deno
    // writes and reports done later.
    if (isStreamed !== undefined || isHead || entry.wrapped) return response;
    if (response.body === null) return response;
    const cuttable = _wrapBody(response);
    entry.cut = cuttable.cut;
    return cuttable.response;
  };
  /** The response as the request's scope sends it; a stream body made cuttable. */
  const send = (info: DenoRequestInfo, response: Response, entry: InFlight): Response => {
    const sent = info.finish(response);
    if (info.cut !== undefined) {
      entry.cut = info.cut;
      entry.wrapped = true;
      return sent;
    }
    if (isStreamed === undefined || !isStreamed(sent)) return sent;
    const cuttable = _wrapBody(sent);
    entry.cut = cuttable.cut;
    entry.wrapped = true;
    return cuttable.response;
  };
  const shutdowns = new RequestShutdowns(shutdown);
  const sockets = new WebSockets(shutdown);
  const { hostname, port, tls } = options;
  // With a certificate, Deno offers HTTP/2 and HTTP/1.1 by ALPN itself.
  const server = _loadingCertificate(tls, () =>
    _deno.serve(
      { hostname, port, ...tls, onListen: () => {} },
      (request, info) => {
        const entry: InFlight = { cut: () => {} };
        inFlight.add(entry);
        const done = (): void => finish(entry);
        if (info.completed) info.completed.then(done, done);
        // Read now: once the deadline answered for it, the request is closed.
        const isHead = request.method === "HEAD";
        const requestInfo = new DenoRequestInfo(info, shutdowns, sockets);
        const result = handler(request, requestInfo);
        if (result instanceof Response) {
          if (!info.completed) queueMicrotask(done);
          return prepare(send(requestInfo, result, entry), isHead, entry);
        }
        entry.unanswered = request;
        if (draining) dropWhenClientLeaves(entry);
        return new Promise<Response>((resolve) => {
          let answered = false;
          entry.cut = () => {
            answered = true;
            resolve(deadlineResponse());
          };
          result.then((response) => {
            entry.unanswered = undefined;
            if (answered) {
              // Settled after the deadline answered: nobody reads this body.
              response.body?.cancel().catch(() => {});
              return;
            }
            if (!info.completed) queueMicrotask(done);
            resolve(prepare(send(requestInfo, response, entry), isHead, entry));
          });
        });
      },
    ));
  let shuttingDown: Promise<void> | undefined;
  /** Waits for requests in flight; at the deadline answers or cuts the rest. */
  const drainRequests = async (signal: AbortSignal): Promise<DrainCounts> => {
    draining = true;
    for (const entry of inFlight) if (entry.unanswered !== undefined) dropWhenClientLeaves(entry);
    if (inFlight.size > 0) {
      await Promise.race([new Promise<void>((wake) => wakeDrain = wake), _untilAborted(signal)]);
    }
    for (const request of [...inFlight]) {
      inFlight.delete(request);
      counts.forced++;
      request.cut();
    }
    return counts;
  };
  return Promise.resolve({
    addr: { hostname: server.addr.hostname, port: server.addr.port },
    closeListener: () => {
      // Deno's shutdown() sends every WebSocket its own close 1001 ("Server
      // shutting down") and drops the connection. lastcall sends none of its
      // own: on Deno 2.9.6 a server-side WebSocket closed from JavaScript
      // while its peer still sends leaves the process running forever after
      // shutdown (measured with and without lastcall; docs/runtimes.md).
      shuttingDown = server.shutdown();
    },
    async drain(signal: AbortSignal): Promise<DrainCounts> {
      const [requests, upgraded] = await Promise.all([
        drainRequests(signal),
        sockets.drain(signal),
      ]);
      // Before the deadline Deno's shutdown ends right behind the last
      // request. Past it, a cut body ends within a turn or two, but one whose
      // client stopped reading leaves Deno's writer blocked for good: wait
      // only as long as a cut takes to land, so shutdown ends at its deadline.
      if (!signal.aborted) await Promise.race([shuttingDown, _untilAborted(signal)]);
      if (signal.aborted) await _atMost(shuttingDown, CUT_LANDING_MS);
      // Whatever Deno still holds now (a connection whose client stopped
      // reading, kept after its body was cancelled) must not keep the
      // process alive: the drain is over.
      server.unref();
      return _sumCounts(requests, upgraded);
    },
  });
}
