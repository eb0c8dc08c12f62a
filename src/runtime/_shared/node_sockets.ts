// The sockets of a node:http(s) or node:net server as tracked connections:
// what lastcall keeps per socket, and how it learns that a socket closed.
//
// Memory, measured (Node 24, 2,000 idle keep-alive connections): a `close`
// listener of lastcall's own on every socket turned Node's single listener
// into an array for good, 225 of the 384 bytes lastcall added per
// connection. So sockets are watched only once shutdown began; before that,
// the ones gone are swept out whenever the set has doubled since the last
// sweep (amortized O(1) per connection, at most twice the live count kept).
// Even then, a socket idle when shutdown began is watched only if it gets a
// request: closing it is lastcall's own doing, reported as it happens, so
// 10,000 idle sockets cost no listener and no close event to wait for.

import type http from "node:http";
import type net from "node:net";
import type tls from "node:tls";
import type { TrackedConn, Tracker } from "../../tracker.ts";

const kState = Symbol("lastcall.socket");

/** The fewest sockets kept before the first sweep. */
const FIRST_SWEEP_AT = 256;

/**
 * What lastcall keeps per socket, on the socket itself. It is also the
 * socket's handle in the Tracker: closing it closes the socket fully, as
 * Node's own closeIdleConnections and Go do, so Node's parser reads nothing
 * more and a request racing in never reaches a handler (the client sees the
 * close and may retry). The last response is already with the kernel, which
 * still delivers it; with nothing unread the peer sees FIN.
 */
export class SocketState {
  readonly socket: net.Socket;
  conn!: TrackedConn;
  inFlight = 0;
  /** The connection's latest response: the one that carries `Connection: close` in shutdown. */
  last: http.ServerResponse | undefined;
  /** Its close is reported by a listener (else by close() itself). */
  watched = false;

  constructor(socket: net.Socket) {
    this.socket = socket;
  }

  /** Reports the socket's close from now on, whoever closes it. */
  watch(): void {
    if (this.watched) return;
    this.watched = true;
    this.socket.on("close", onSocketClose);
  }

  close(): void {
    const socket = this.socket;
    // TLS: close_notify first, then the close, so the client reads a clean end
    // rather than a truncation; a request racing in meanwhile is not run
    // (interceptRequests). A second call (the deadline) closes it now.
    if ((socket as tls.TLSSocket).encrypted && !socket.writableEnded) {
      this.watch();
      socket.end(() => socket.destroy());
      return;
    }
    socket.destroy();
    if (!this.watched) this.conn.closed();
  }
}

type StatefulSocket = net.Socket & { [kState]?: SocketState };

// Shared by every socket: `this` is the emitter, so no closure per connection.
function onSocketClose(this: StatefulSocket): void {
  this[kState]?.conn.closed();
}

/** The state lastcall keeps for `socket`, if it tracks it. */
export function _stateOf(socket: net.Socket): SocketState | undefined {
  return (socket as StatefulSocket)[kState];
}

/** The tracked sockets of one server. */
export class NodeSockets {
  readonly #tracker: Tracker;
  readonly #states = new Set<SocketState>();
  #sweepAt = FIRST_SWEEP_AT;
  #watching = false;

  constructor(tracker: Tracker) {
    this.#tracker = tracker;
  }

  /** Tracks a socket just accepted. */
  add(socket: net.Socket): SocketState {
    const state = new SocketState(socket);
    state.conn = this.#tracker.track(state);
    (socket as StatefulSocket)[kState] = state;
    if (this.#watching) state.watch();
    else {
      this.#states.add(state);
      if (this.#states.size >= this.#sweepAt) this.#sweep();
    }
    return state;
  }

  /**
   * Shutdown began: from now on every close is reported. Busy sockets (and
   * new ones) are watched; idle ones wait in the set for {@linkcode settle}.
   * `each` is called with every socket still open.
   */
  watch(each: (state: SocketState) => void): void {
    this.#watching = true;
    for (const state of this.#states) {
      if (state.socket.destroyed) {
        this.#states.delete(state);
        state.conn.hijack(); // gone before shutdown began: counted nowhere
        continue;
      }
      if (state.conn.state === "active") {
        this.#states.delete(state);
        state.watch();
      }
      each(state);
    }
  }

  /**
   * The listener closes: the idle sockets whose peer closed them meanwhile
   * (during drainDelay) are reported now; the rest close through close().
   */
  settle(): void {
    for (const state of this.#states) {
      if (!state.watched && state.socket.destroyed) state.conn.closed();
    }
    this.#states.clear();
  }

  /** Drops the sockets that closed (before shutdown began: counted nowhere). */
  #sweep(): void {
    for (const state of this.#states) {
      if (!state.socket.destroyed) continue;
      this.#states.delete(state);
      state.conn.hijack();
    }
    this.#sweepAt = Math.max(FIRST_SWEEP_AT, this.#states.size * 2);
  }
}
