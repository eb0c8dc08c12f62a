// Conn over a runtime's RawSocket: the read loop as the request boundary,
// the idle grace, and the clean close with its linger.

import { _connClosedError, _WRITTEN, type RawSocket } from "../shim.ts";
import type { ConnState, TrackedConn, Tracker } from "../tracker.ts";
import type { Addr } from "../types.ts";
import type { Conn } from "../types.ts";

/** How long a closed connection keeps reading and discarding before it is destroyed. */
const LINGER_MS = 1_000;

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };
const toClosedError = (): never => {
  throw _connClosedError();
};

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
  /** A chunk was asked of the socket and not yet delivered; it may outlive an interrupted wait. */
  #reading = false;
  /** Resolves once the peer closed, while the clean close reads and discards. */
  #peerClosed: (() => void) | undefined;
  /** Answers the handler's current wait for a chunk; set only while it waits. */
  #resolveNext: ((result: IteratorResult<Uint8Array>) => void) | undefined;
  /** That wait (read only while #resolveNext is set). */
  #waiting!: Promise<IteratorResult<Uint8Array>>;
  #lastActivity = Date.now();
  #lastWrite: Promise<void> = _WRITTEN;
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
      this.#interrupt();
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
    if (written === _WRITTEN) return written;
    this.#lastWrite = written;
    return written.then(this.#wrote, toClosedError);
  }

  /** A write is with the socket: activity for the idle grace. */
  readonly #wrote = (): void => {
    this.#lastActivity = Date.now();
  };

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
    if (this.#resolveNext !== undefined) {
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
    this.#interrupt();
    this.#socket.destroy();
  }

  #next(): Promise<IteratorResult<Uint8Array>> {
    // A second next() while one waits (no for-await does that) shares its wait.
    if (this.#resolveNext !== undefined) return this.#waiting;
    if (this.#closing) return Promise.resolve(DONE);
    // Asking for the next chunk ends the request: while draining, turning idle
    // requests the close synchronously.
    if (!this.#hold && this.#tracked.state === "active") this.#tracked.idle();
    if (this.#closeRequested && !this.#hold) {
      this.#beginClose();
      return Promise.resolve(DONE);
    }
    return this.#waiting = new Promise((resolve) => {
      this.#resolveNext = resolve;
      this.#read();
    });
  }

  /** Asks the socket for the next chunk, unless a request is still out. */
  #read(): void {
    if (this.#reading) return;
    this.#reading = true;
    this.#socket.read(this.#onChunk);
  }

  /** A chunk (or the peer's close) for the waiting handler, or for the clean close to discard. */
  readonly #onChunk = (chunk: Uint8Array | null): void => {
    this.#reading = false;
    if (this.#closing) {
      if (chunk === null) this.#peerClosed?.();
      else if (this.#peerClosed !== undefined) this.#read();
      return;
    }
    const resolve = this.#resolveNext!;
    this.#resolveNext = undefined;
    if (chunk === null) return resolve(DONE);
    this.#lastActivity = Date.now();
    this.#tracked.active();
    resolve({ done: false, value: chunk });
  };

  /** Ends the handler's current wait for a chunk, if it waits, and begins the close. */
  #interrupt(): void {
    const resolve = this.#resolveNext;
    if (resolve === undefined) return;
    this.#resolveNext = undefined;
    this.#beginClose();
    resolve(DONE);
  }

  /**
   * Draining wants this connection closed. A handler waiting for its next
   * chunk ends its loop now if the connection has been quiet for idleGrace,
   * or once it has; a busy one ends at its next request boundary.
   */
  #requestClose(): void {
    if (this.#closing || this.#closeRequested) return;
    this.#closeRequested = true;
    if (this.#resolveNext === undefined || this.#hold) return;
    const quiet = Date.now() - this.#lastActivity;
    if (quiet >= this.#idleGrace) this.#interrupt();
    else {
      this.#graceTimer = setTimeout(() => this.#interrupt(), this.#idleGrace - quiet);
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
    this.#interrupt();
    const socket = this.#socket;
    const linger = setTimeout(() => socket.destroy(), LINGER_MS);
    socket.closed.then(() => clearTimeout(linger));
    const peerClosed = new Promise<void>((resolve) => this.#peerClosed = resolve);
    this.#read();
    const closeWrite = () => socket.closeWrite();
    this.#lastWrite
      .then(closeWrite, closeWrite)
      .then(() => peerClosed)
      .then(() => socket.destroy());
  }
}
