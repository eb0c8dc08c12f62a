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
//
// A connection closed behind its last reply (Node's own close after a
// `Connection: close` response, or lastcall's once its response ends) closes
// like a TCP one: FIN after the last byte, then the bytes the client still
// sends (a request body the handler never read) are read and discarded until
// it closes or the linger passes. Destroying it at once would leave them
// unread, and the kernel would answer with a reset that can destroy the reply
// before the client reads it (Go's closeWriteAndWait does the same).
//
// A new or idle connection gets the TCP mode's idle grace when draining
// closes it: one quiet for `idleGrace` closes at once; one quiet for less
// (a client may be sending a request right now, as nginx does on a fresh
// upstream connection) stays open until it has been quiet that long, or
// until the answer to its next request, whichever comes first. Quiet means
// since it was accepted or its last response ended; a connection that has
// sent part of its first request is not quiet, and one that has not
// completed a request within the grace is closed (slowloris stays bounded).

import type http from "node:http";
import type net from "node:net";
import type tls from "node:tls";
import type { TrackedConn, Tracker } from "../../tracker.ts";
import { GraceQueue } from "./grace_queue.ts";

const kState = Symbol("lastcall.socket");

/** The fewest sockets kept before the first sweep. */
const FIRST_SWEEP_AT = 256;

/** How long a connection closed behind its last reply reads and discards before it is destroyed. */
const REPLY_LINGER_MS = 1_000;

/**
 * A socket the Tracker asked to close while tracking it (it was handed over
 * while draining), before its state had a TrackedConn to report through.
 */
let closeAskedWhileTracking: SocketState | undefined;

/**
 * What lastcall keeps per socket, on the socket itself. It is also the
 * socket's handle in the Tracker: closing an idle one closes the socket
 * fully, as Node's own closeIdleConnections and Go do, so Node's parser reads
 * nothing more and a request racing in never reaches a handler (the client
 * sees the close and may retry); closing one behind its reply lingers (see
 * above).
 */
export class SocketState {
  readonly socket: net.Socket;
  readonly owner: NodeSockets;
  conn!: TrackedConn;
  inFlight = 0;
  /** The connection's latest response: the one that carries `Connection: close` in shutdown. */
  last: http.ServerResponse | undefined;
  /** Its close is reported by a listener (else by close() itself). */
  watched = false;
  /** True while the end of a response asks the Tracker to close the connection behind it. */
  answering = false;
  /** Since when the connection has been quiet: accepted, or its last response ended (epoch ms). */
  quietSince: number = Date.now();
  /** Draining left it open for the rest of its idle grace. */
  graced = false;

  constructor(socket: net.Socket, owner: NodeSockets) {
    this.socket = socket;
    this.owner = owner;
  }

  /** Reports the socket's close from now on, whoever closes it. */
  watch(): void {
    if (this.watched) return;
    this.watched = true;
    this.socket.on("close", onSocketClose);
  }

  /**
   * Called by the Tracker: for a new or idle connection when draining
   * reaches it (after its idle grace), for one behind its reply, and for a
   * busy one at the deadline.
   */
  close(): void {
    if ((this.conn as TrackedConn | undefined) === undefined) {
      closeAskedWhileTracking = this;
      return;
    }
    const socket = this.socket;
    if (!socket.destroyed) {
      // Ending already (behind its reply, or a TLS close_notify): the linger
      // or the deadline (NodeSockets.destroyAll) ends it.
      if (socket.writableEnded) return;
      if (this.answering) return this.owner.linger(this);
      if (this.conn.state !== "active") {
        if (!this.graced && this.owner.grace(this)) return;
        return this.closeQuiet();
      }
      socket.destroy();
    }
    if (!this.watched) this.conn.closed();
  }

  /** Closes a new or idle connection now; one busy again is closed behind its answer instead. */
  closeQuiet(): void {
    const socket = this.socket;
    if (!socket.destroyed) {
      if (socket.writableEnded || this.conn.state === "active") return;
      // TLS: close_notify first, then the close, so the client reads a clean
      // end rather than a truncation; a request racing in meanwhile is not
      // run (interceptRequests).
      if ((socket as tls.TLSSocket).encrypted) {
        this.owner.ending(this);
        socket.end(() => socket.destroy());
        return;
      }
      socket.destroy();
    }
    if (!this.watched) this.conn.closed();
  }
}

type StatefulSocket = net.Socket & { [kState]?: SocketState };

// Shared by every socket: `this` is the emitter, so no closure per connection.
function onSocketClose(this: StatefulSocket): void {
  const state = this[kState];
  if (state === undefined) return;
  state.owner.ended(state);
  state.conn.closed();
}

/**
 * Node's http server calls `destroySoon` behind a response sent with
 * `Connection: close`; on the sockets lastcall closes that way it lingers
 * instead. Shared by every socket: `this` is the socket.
 */
function lingerSoon(this: StatefulSocket): void {
  const state = this[kState];
  if (state === undefined) this.end();
  else state.owner.linger(state);
}

/** The state lastcall keeps for `socket`, if it tracks it. */
export function _stateOf(socket: net.Socket): SocketState | undefined {
  return (socket as StatefulSocket)[kState];
}

/** The tracked sockets of one server. */
export class NodeSockets {
  readonly #tracker: Tracker;
  readonly #idleGrace: number;
  readonly #states = new Set<SocketState>();
  readonly #graced = new GraceQueue<SocketState>((state) => state.closeQuiet());
  /** Sockets ending (lingering, or sending close_notify), each with its linger timer if any. */
  readonly #ending = new Map<SocketState, ReturnType<typeof setTimeout> | undefined>();
  #sweepAt = FIRST_SWEEP_AT;
  #watching = false;

  constructor(tracker: Tracker, idleGrace: number) {
    this.#tracker = tracker;
    this.#idleGrace = idleGrace;
  }

  /** Tracks a socket just accepted. */
  add(socket: net.Socket): SocketState {
    const state = new SocketState(socket, this);
    state.conn = this.#tracker.track(state);
    if (closeAskedWhileTracking === state) {
      closeAskedWhileTracking = undefined;
      state.close();
    }
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

  /** From now on, Node's close behind a `Connection: close` response lingers. */
  lingerOnClose(state: SocketState): void {
    (state.socket as StatefulSocket).destroySoon = lingerSoon;
  }

  /**
   * Closes the connection behind its last reply: FIN once everything written
   * is with the kernel, then read and discard until the peer closes (Node
   * destroys the socket once both sides ended) or the linger passes.
   */
  linger(state: SocketState): void {
    const socket = state.socket;
    if (socket.destroyed || this.#ending.has(state)) return;
    this.ending(state);
    this.#ending.set(state, setTimeout(() => socket.destroy(), REPLY_LINGER_MS));
    socket.end();
    // Node's parser reads on (a body no handler read was dumped): keep it reading.
    socket.resume();
  }

  /** `state` is ending: its close is reported, and the deadline destroys it. */
  ending(state: SocketState): void {
    state.watch();
    if (!this.#ending.has(state)) this.#ending.set(state, undefined);
  }

  /** `state`'s socket closed. */
  ended(state: SocketState): void {
    if (this.#ending.size === 0) return;
    clearTimeout(this.#ending.get(state));
    this.#ending.delete(state);
  }

  /**
   * Draining reached a new or idle connection: true when it stays open for
   * the rest of its idle grace (then closed by closeQuiet), false when it has
   * been quiet long enough to close now.
   */
  grace(state: SocketState): boolean {
    const now = Date.now();
    // Part of a first request has arrived: not quiet, whenever it came.
    const sending = state.conn.state === "new" && state.socket.bytesRead > 0;
    const until = (sending ? now : state.quietSince) + this.#idleGrace;
    if (until <= now) return false;
    state.graced = true;
    this.#graced.add(state, until);
    return true;
  }

  /** The deadline: destroys every socket still ending or in its idle grace. */
  destroyAll(): void {
    for (const state of [...this.#ending.keys()]) state.socket.destroy();
    for (const state of this.#graced.takeAll()) state.socket.destroy();
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
