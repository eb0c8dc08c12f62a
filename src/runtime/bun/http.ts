// HTTP on Bun: Bun.serve, with requests counted since it hides its
// connections.

import { _atMost, _untilAborted } from "../../_abort.ts";
import {
  _loadingCertificate,
  _sumCounts,
  type DrainCounts,
  type HttpServeOptions,
  NATIVE_STOP_WAIT_MS,
  type Serving,
} from "../../shim.ts";
import type { Addr, WebSocketUpgrade, WebSocketUpgradeOptions } from "../../types.ts";
import { _plainHostname } from "../_shared/address.ts";
import { BodyScopedRequestInfo, RequestShutdowns } from "../_shared/request_shutdown.ts";
import { _withConnectionClose } from "../_shared/response.ts";
import { WebSockets } from "../_shared/websockets.ts";
import { _bun, type BunServer } from "./types.ts";
import { _bunWebSocketHandler, _upgradeBunWebSocket, type BunWebSocket } from "./websocket.ts";

/** What every request of one server shares. */
interface BunServing {
  readonly shutdowns: RequestShutdowns;
  readonly sockets: WebSockets;
}

/** What the handler learns besides the Request, each part made when first read. */
class BunRequestInfo extends BodyScopedRequestInfo {
  readonly #server: BunServer;
  readonly #request: Request;
  readonly #sockets: WebSockets;
  /** Set once the handler upgraded the request: Bun has answered it. */
  upgrade: WebSocketUpgrade | undefined;

  constructor(server: BunServer, request: Request, serving: BunServing) {
    super(serving.shutdowns);
    this.#server = server;
    this.#request = request;
    this.#sockets = serving.sockets;
  }

  get remoteAddr(): Addr {
    const ip = this.#server.requestIP(this.#request);
    return { hostname: _plainHostname(ip?.address), port: ip?.port ?? 0 };
  }

  upgradeWebSocket(request: Request, options?: WebSocketUpgradeOptions): WebSocketUpgrade {
    const upgrade = _upgradeBunWebSocket(this.#server, request, this.#sockets, options?.protocol);
    const { socket } = upgrade;
    this.upgraded(
      new Promise((resolve) => socket.addEventListener("close", resolve, { once: true })),
    );
    return this.upgrade = upgrade;
  }

  /** Bun says when a client leaves (request.signal), not when a response is done. */
  protected watch(end: () => void): void {
    this.#request.signal.addEventListener("abort", end, { once: true });
  }
}

/**
 * Bun.serve hides its connections, so requests are counted instead: those in
 * flight when shutdown began or started after it are drained unless still
 * pending at the deadline, which are forced. Bun's own stop() closes the
 * listener and idle connections and resolves once the last request is done;
 * stop(true) cuts the rest at the deadline. WebSockets count one each: told
 * "going away" when the listener closes, terminated at the deadline.
 */
export function _serveBunHttp(options: HttpServeOptions): Promise<Serving> {
  const { handler, shutdown } = options;
  let startedDuringShutdown = 0;
  const serving: BunServing = {
    shutdowns: new RequestShutdowns(shutdown),
    sockets: new WebSockets(shutdown),
  };
  const send = (response: Response, info: BunRequestInfo): Response | undefined => {
    if (info.upgrade !== undefined && response === info.upgrade.response) return undefined;
    response = info.finish(response);
    return shutdown.aborted ? _withConnectionClose(response) : response;
  };
  let inFlightAtShutdown = 0;
  const { hostname, port, tls } = options;
  const server = _loadingCertificate(tls, () =>
    _bun.serve<BunWebSocket>({
      hostname,
      port,
      // With a certificate, HTTP/2 and HTTP/1.1 by ALPN.
      ...(tls === undefined ? {} : { tls, http2: true }),
      websocket: _bunWebSocketHandler,
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
        const info = new BunRequestInfo(bunServer, request, serving);
        const result = handler(request, info);
        if (result instanceof Response) return send(result, info);
        return result.then((response) => send(response, info));
      },
    }));
  shutdown.addEventListener("abort", () => inFlightAtShutdown = server.pendingRequests, {
    once: true,
  });
  let stopped: Promise<void> | undefined;
  const drainRequests = async (signal: AbortSignal): Promise<DrainCounts> => {
    const started = inFlightAtShutdown + startedDuringShutdown;
    if (server.pendingRequests === 0) {
      // No request in flight: whatever still holds stop() is a connection
      // that never completed a request (a client trickling its headers). It
      // reached no handler, so it closes now rather than at the deadline.
      await _atMost(server.stop(true), NATIVE_STOP_WAIT_MS);
      return { closedIdle: 0, drained: started, forced: 0 };
    }
    let forced = 0;
    let drainedInTime = false;
    await Promise.race([stopped?.then(() => drainedInTime = true), _untilAborted(signal)]);
    if (!drainedInTime) {
      // Something was cut, even where Bun counts no request for it.
      forced = Math.max(server.pendingRequests, 1);
      await _atMost(server.stop(true), NATIVE_STOP_WAIT_MS);
    }
    return { closedIdle: 0, drained: Math.max(0, started - forced), forced };
  };
  return Promise.resolve({
    addr: { hostname: server.hostname, port: server.port },
    closeListener: () => {
      serving.sockets.goingAway();
      stopped = server.stop();
    },
    async drain(signal: AbortSignal): Promise<DrainCounts> {
      const [requests, sockets] = await Promise.all([
        drainRequests(signal),
        serving.sockets.drain(signal),
      ]);
      return _sumCounts(requests, sockets);
    },
  });
}
