// Conn over a runtime's RawSocket: the read loop as the request boundary,
// the idle grace, and the clean close with its linger.

import { _connClosedError, type RawSocket } from "../shim.ts";
import type { ConnState, TrackedConn, Tracker } from "../tracker.ts";
import type { Addr } from "../types.ts";
import type { Conn } from "../types.ts";

/** How long a closed connection keeps reading and discarding before it is destroyed. */
const LINGER_MS = 1_000;

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };
const STOP = Symbol("stop");

/** The shared implementation of {@linkcode Conn} over a runtime's {@linkcode RawSocket}. */
export class TcpConn implements Conn {
  readonly remoteAddr: Addr;
  readonly shutdown: AbortSignal;
  readonly #socket: RawSocket;
  readonly #tracked: TrackedConn;
  readonly #idleGrace: number;
  /** The handler asked to stay busy across reads. */
  #hold = false;
  /** Draining asked to close at the next request boundary. */
  #closeRequested = false;
  /** The clean close has begun: no more reads for the handler, no writes. */
  #closing = false;
  /** A read that was started and not yet consumed; it survives an interrupted wait. */
  #pendingRead: Promise<Uint8Array | null> | undefined;
  /** Ends the handler's current wait for a chunk; set only while it waits. */
  #interrupt: (() => void) | undefined;
  #lastActivity = Date.now();
  #lastWrite: Promise<void> = Promise.resolve();
  #graceTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(socket: RawSocket, tracker: Tracker, shutdown: AbortSignal, idleGrace: number) {
    this.#socket = socket;
    this.remoteAddr = socket.remoteAddr;
    this.shutdown = shutdown;
    this.#idleGrace = idleGrace;
    this.#tracked = tracker.track({ close: () => this.#requestClose() });
    socket.closed.then(() => {
      this.#closing = true;
      clearTimeout(this.#graceTimer);
      this.#interrupt?.();
      this.#tracked.closed();
    });
  }

  get state(): ConnState {
    return this.#tracked.state;
  }

  write(data: Uint8Array | string): Promise<void> {
    if (typeof data !== "string" && !(data instanceof Uint8Array)) {
      return Promise.reject(
        new TypeError(
          `Cannot write to a connection as 'data' must be a Uint8Array or a string: received ${typeof data}`,
        ),
      );
    }
    if (this.#closing) return Promise.reject(_connClosedError());
    this.#lastActivity = Date.now();
    const written = this.#socket.write(data);
    this.#lastWrite = written.catch(() => {});
    return written.then(
      () => {
        this.#lastActivity = Date.now();
      },
      () => {
        throw _connClosedError();
      },
    );
  }

  close(): void {
    this.#beginClose();
  }

  active(): void {
    if (this.#closing) return;
    this.#hold = true;
    this.#tracked.active();
  }

  idle(): void {
    if (!this.#hold) return;
    this.#hold = false;
    // Waiting for a chunk already: the request is over now, not at the next read.
    if (this.#interrupt !== undefined) {
      this.#tracked.idle();
      if (this.#closeRequested) this.#interrupt();
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: () => this.#next(),
      return: () => Promise.resolve(DONE),
    };
  }

  /** Closes the socket now, at the deadline. */
  destroy(): void {
    this.#closing = true;
    this.#interrupt?.();
    this.#socket.destroy();
  }

  async #next(): Promise<IteratorResult<Uint8Array>> {
    if (this.#closing) return DONE;
    // Asking for the next chunk ends the request: while draining, turning idle
    // requests the close synchronously.
    if (!this.#hold && this.#tracked.state === "active") this.#tracked.idle();
    if (this.#closeRequested && !this.#hold) {
      this.#beginClose();
      return DONE;
    }
    const read = this.#pendingRead ??= this.#socket.read();
    const chunk = await new Promise<Uint8Array | null | typeof STOP>((resolve) => {
      this.#interrupt = () => resolve(STOP);
      read.then(resolve, () => resolve(null));
    });
    this.#interrupt = undefined;
    if (chunk === STOP) {
      this.#beginClose();
      return DONE;
    }
    this.#pendingRead = undefined;
    if (chunk === null) return DONE;
    this.#lastActivity = Date.now();
    this.#tracked.active();
    return { done: false, value: chunk };
  }

  /**
   * Draining wants this connection closed. A handler waiting for its next
   * chunk ends its loop now if the connection has been quiet for idleGrace,
   * or once it has; a busy one ends at its next request boundary.
   */
  #requestClose(): void {
    if (this.#closing || this.#closeRequested) return;
    this.#closeRequested = true;
    if (this.#interrupt === undefined || this.#hold) return;
    const quiet = Date.now() - this.#lastActivity;
    if (quiet >= this.#idleGrace) this.#interrupt();
    else {
      this.#graceTimer = setTimeout(() => this.#interrupt?.(), this.#idleGrace - quiet);
    }
  }

  /**
   * The clean close: FIN once every write is with the kernel, then read and
   * discard until the peer closes or the linger passes, so unread bytes never
   * turn the close into a reset that could destroy the last reply.
   */
  #beginClose(): void {
    if (this.#closing) return;
    this.#closing = true;
    clearTimeout(this.#graceTimer);
    this.#interrupt?.();
    const socket = this.#socket;
    const pendingRead = this.#pendingRead;
    this.#pendingRead = undefined;
    const linger = setTimeout(() => socket.destroy(), LINGER_MS);
    socket.closed.then(() => clearTimeout(linger));
    const peerClosed = (async () => {
      let read = pendingRead ?? socket.read();
      while ((await read.catch(() => null)) !== null) read = socket.read();
    })();
    this.#lastWrite
      .then(() => socket.closeWrite())
      .then(() => peerClosed)
      .then(() => socket.destroy());
  }
}
