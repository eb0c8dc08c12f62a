// The WebSockets a fetch handler upgraded through `info.upgradeWebSocket`
// (Deno, Bun): in flight until they close, told "going away" when the
// listener closes, and terminated at the deadline.

import type { DrainCounts } from "../../shim.ts";

/** Close code 1001: the endpoint is going away (RFC 6455, 7.4.1). */
const GOING_AWAY = 1001;

/** One upgraded socket, as the registry drives it. */
export interface TrackedWebSocket {
  /** Starts the close handshake. */
  close(code: number, reason: string): void;
  /** Drops the connection without a handshake, at the deadline. */
  terminate(): void;
}

/** The live WebSockets of one server, and how those that ended during shutdown ended. */
export class WebSockets {
  readonly #live = new Set<TrackedWebSocket>();
  readonly #shutdown: AbortSignal;
  #wake: (() => void) | undefined;
  /** The listener closed: a socket upgraded from now on is told at once. */
  #goneAway = false;
  drained = 0;

  constructor(shutdown: AbortSignal) {
    this.#shutdown = shutdown;
  }

  /**
   * Tracks `socket` until `closed` is called for it. A handler that upgrades
   * after the listener closed (it was slow to) gets its socket told "going
   * away" at once, as Deno does, rather than held open to the deadline.
   */
  add(socket: TrackedWebSocket): void {
    this.#live.add(socket);
    if (this.#goneAway) socket.close(GOING_AWAY, "going away");
  }

  /** The socket is gone; during shutdown it counts as drained. */
  closed(socket: TrackedWebSocket): void {
    if (!this.#live.delete(socket)) return;
    if (this.#shutdown.aborted) this.drained++;
    if (this.#live.size > 0) return;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Sends close 1001 to every socket the app has not closed itself. */
  goingAway(): void {
    this.#goneAway = true;
    for (const socket of this.#live) socket.close(GOING_AWAY, "going away");
  }

  /** Resolves once every socket is gone, or when `signal` aborts. */
  allClosed(signal: AbortSignal): Promise<void> {
    if (this.#live.size === 0 || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.#wake = done;
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /** Waits until every socket is gone or `signal` aborts, then terminates the rest. */
  async drain(signal: AbortSignal): Promise<DrainCounts> {
    await this.allClosed(signal);
    const forced = this.#live.size;
    for (const socket of this.#live) socket.terminate();
    this.#live.clear();
    return { closedIdle: 0, drained: this.drained, forced };
  }
}
