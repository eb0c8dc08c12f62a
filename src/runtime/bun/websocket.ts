// WebSockets on Bun in Deno's shape: `info.upgradeWebSocket(request)` gives
// `{ socket, response }`, where `socket` is a standard-looking WebSocket
// (events open, message, close, error; send, close, readyState, protocol,
// bufferedAmount) bridged to Bun.serve's `websocket` handlers.

import { type TrackedWebSocket, WebSockets } from "../_shared/websockets.ts";
import type { BunServer, BunServerWebSocket, BunWebSocketHandler } from "./types.ts";

const CONNECTING = 0 as const;
const OPEN = 1 as const;
const CLOSING = 2 as const;
const CLOSED = 3 as const;

type Handler = ((this: BunWebSocket, event: Event) => unknown) | null;

/** Bun's server-side socket behind the standard WebSocket interface. */
export class BunWebSocket extends EventTarget implements TrackedWebSocket {
  static readonly CONNECTING: 0 = CONNECTING;
  static readonly OPEN: 1 = OPEN;
  static readonly CLOSING: 2 = CLOSING;
  static readonly CLOSED: 3 = CLOSED;
  readonly CONNECTING: 0 = CONNECTING;
  readonly OPEN: 1 = OPEN;
  readonly CLOSING: 2 = CLOSING;
  readonly CLOSED: 3 = CLOSED;
  readonly protocol: string;
  readonly url: string;
  readonly extensions = "";
  /** Binary messages arrive as ArrayBuffers. */
  binaryType: "arraybuffer" = "arraybuffer";
  readyState: number = CONNECTING;
  onopen: Handler = null;
  onmessage: Handler = null;
  onclose: Handler = null;
  onerror: Handler = null;
  readonly #registry: WebSockets;
  #ws: BunServerWebSocket<BunWebSocket> | undefined;
  /** A close asked for before Bun opened the socket. */
  #pendingClose: [number | undefined, string | undefined] | undefined;

  constructor(url: string, protocol: string, registry: WebSockets) {
    super();
    this.url = url;
    this.protocol = protocol;
    this.#registry = registry;
  }

  get bufferedAmount(): number {
    return this.#ws?.getBufferedAmount() ?? 0;
  }

  send(data: string | ArrayBufferView | ArrayBuffer | Blob): void {
    if (this.readyState === CONNECTING) {
      throw new DOMException("The WebSocket is not open yet", "InvalidStateError");
    }
    if (this.readyState !== OPEN || this.#ws === undefined) return;
    if (data instanceof Blob) {
      const ws = this.#ws;
      void data.arrayBuffer().then((bytes) => ws.send(bytes));
    } else this.#ws.send(data);
  }

  close(code?: number, reason?: string): void {
    if (this.readyState >= CLOSING) return;
    this.readyState = CLOSING;
    if (this.#ws === undefined) this.#pendingClose = [code, reason];
    else this.#ws.close(code, reason);
  }

  /** Drops the connection without a close handshake. */
  terminate(): void {
    this.readyState = CLOSING;
    this.#ws?.terminate();
  }

  /**
   * Bun opened the socket, possibly inside `server.upgrade()`, before the
   * handler could listen: the open event waits for the handler's turn to end,
   * as it does on Deno.
   */
  opened(ws: BunServerWebSocket<BunWebSocket>): void {
    this.#ws = ws;
    queueMicrotask(() => {
      if (this.#pendingClose !== undefined) {
        ws.close(...this.#pendingClose);
        return;
      }
      if (this.readyState !== CONNECTING) return;
      this.readyState = OPEN;
      this.#dispatch(new Event("open"));
    });
  }

  /** A message from the peer. */
  received(message: string | Uint8Array): void {
    const data = typeof message === "string"
      ? message
      : message.buffer.slice(message.byteOffset, message.byteOffset + message.byteLength);
    this.#dispatch(Object.assign(new Event("message"), { data, origin: "", lastEventId: "" }));
  }

  /** The connection is gone. */
  closedWith(code: number, reason: string): void {
    this.readyState = CLOSED;
    this.#registry.closed(this);
    const wasClean = code !== 1006;
    this.#dispatch(Object.assign(new Event("close"), { code, reason, wasClean }));
  }

  #dispatch(event: Event): void {
    this.dispatchEvent(event);
    const handler = this[`on${event.type}` as "onopen"];
    try {
      handler?.call(this, event);
    } catch (error) {
      // An event handler's throw is reported, as a browser would, not thrown into Bun.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

/** Bun.serve's `websocket` option, feeding each socket's bridge. */
export const _bunWebSocketHandler: BunWebSocketHandler<BunWebSocket> = {
  open: (ws) => ws.data.opened(ws),
  message: (ws, message) => ws.data.received(message),
  close: (ws, code, reason) => ws.data.closedWith(code, reason),
};

/** What `info.upgradeWebSocket` gives the handler. */
export interface Upgrade {
  socket: WebSocket;
  response: Response;
}

/**
 * Upgrades `request` on `server`; the returned response is a marker the
 * shim recognises and answers nothing for (Bun has answered the upgrade).
 *
 * @throws {TypeError} When the request is not a WebSocket upgrade.
 */
export function _upgradeBunWebSocket(
  server: BunServer,
  request: Request,
  registry: WebSockets,
  protocol: string | undefined,
): Upgrade {
  const socket = new BunWebSocket(request.url, protocol ?? "", registry);
  const headers: Record<string, string> = protocol ? { "sec-websocket-protocol": protocol } : {};
  if (!server.upgrade(request, { data: socket, headers })) {
    throw new TypeError("Cannot upgrade: the request is not a WebSocket upgrade request");
  }
  registry.add(socket);
  return { socket: socket as unknown as WebSocket, response: new Response(null) };
}
