// A raw node:net test client that records what it receives and how the
// connection ended (clean FIN, or an error such as ECONNRESET). Every wait is
// bounded by a Deadline and names what it waited for when it fails.

import { readFileSync } from "node:fs";
import net from "node:net";
import { Deadline } from "../mod.ts";
import type { TestContext } from "./_harness.ts";

export interface Ending {
  /** The server sent FIN (a clean close). */
  sawEnd: boolean;
  /** The error code, when the connection ended in an error (ECONNRESET, ...). */
  error?: string;
  /** Bytes received in all. */
  bytes: number;
}

/** Waits until `check()` is true, re-checking on `emitter` events, bounded by `ms`. */
export function waitUntil(
  what: string,
  check: () => boolean,
  subscribe: (wake: () => void) => () => void,
  ms = 5_000,
): Promise<void> {
  if (check()) return Promise.resolve();
  const deadline = Deadline.after(ms);
  return new Promise<void>((resolve, reject) => {
    const finish = (error?: Error): void => {
      unsubscribe();
      deadline[Symbol.dispose]();
      if (error) reject(error);
      else resolve();
    };
    const unsubscribe = subscribe(() => {
      if (check()) finish();
    });
    deadline.signal.addEventListener("abort", () => {
      finish(new Error(`timed out after ${ms} ms waiting for ${what}`));
    });
  });
}

/** Counts calls of `hit()`; `reach(n)` waits (bounded) until there were n. */
export function counter() {
  let calls = 0;
  const waiters = new Set<() => void>();
  return {
    get calls() {
      return calls;
    },
    hit() {
      calls++;
      waiters.forEach((wake) => wake());
    },
    reach(count: number, what = `${count} calls`) {
      return waitUntil(what, () => calls >= count, (wake) => {
        waiters.add(wake);
        return () => waiters.delete(wake);
      });
    },
  };
}

export class TestClient {
  readonly socket: net.Socket;
  text = "";
  bytes = 0;
  readonly ended: Promise<Ending>;
  #sawEnd = false;
  #error: string | undefined;

  private constructor(socket: net.Socket, keepText: boolean) {
    this.socket = socket;
    socket.on("data", (chunk: Uint8Array) => {
      this.bytes += chunk.length;
      if (keepText) this.text += new TextDecoder().decode(chunk);
    });
    socket.on("end", () => this.#sawEnd = true);
    socket.on("error", (error: NodeJS.ErrnoException) => this.#error = error.code ?? error.message);
    this.ended = new Promise((resolve) => {
      socket.on("close", () => {
        resolve({ sawEnd: this.#sawEnd, error: this.#error, bytes: this.bytes });
      });
    });
  }

  /** Connects to 127.0.0.1:port; rejects with the connect error (ECONNREFUSED, ...). */
  static connect(port: number, options: { keepText?: boolean } = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(new TestClient(socket, options.keepText ?? true));
      });
      socket.once("error", reject);
    });
  }

  send(data: string | Uint8Array): void {
    this.socket.write(data);
  }

  /** Waits until the received text contains `text`. */
  waitFor(text: string, ms?: number): Promise<void> {
    return waitUntil(`"${text}" (got "${this.text.slice(-200)}")`, () => this.text.includes(text), (
      wake,
    ) => {
      this.socket.on("data", wake);
      this.socket.on("close", wake);
      return () => {
        this.socket.off("data", wake);
        this.socket.off("close", wake);
      };
    }, ms);
  }

  /** Waits until the connection has closed, bounded by `ms`. */
  async waitClosed(ms = 5_000): Promise<Ending> {
    let closed = false;
    this.ended.then(() => closed = true);
    await waitUntil("the connection to close", () => closed || this.socket.destroyed, (wake) => {
      this.socket.on("close", wake);
      return () => this.socket.off("close", wake);
    }, ms);
    return this.ended;
  }
}

/** Resolves with the error code of a connection attempt that fails, or "connected". */
export function tryConnect(port: number): Promise<string> {
  return TestClient.connect(port).then(
    (client) => {
      client.socket.destroy();
      return "connected";
    },
    (error: NodeJS.ErrnoException) => error.code ?? error.message,
  );
}

/**
 * Connects until refused, bounded. Deno closes its listening socket a moment
 * after listener.close(): a connection caught in the backlog then is reset,
 * never served; that counts as not yet refused.
 */
export async function waitForRefusal(port: number): Promise<string> {
  const deadline = Deadline.after(5_000);
  let outcome = "";
  while (!deadline.expired) {
    outcome = await tryConnect(port);
    if (outcome === "ECONNREFUSED") break;
  }
  deadline[Symbol.dispose]();
  return outcome;
}

/**
 * The connections to the listener on `port` that it has not accepted yet:
 * those in its accept queue (Linux shows the queue's length as a listener's
 * rx_queue in /proc/net/tcp{,6}) and those whose handshake the server side
 * has not completed (state SYN_RECV: on loopback the client can see its
 * connect succeed a moment before the server has processed its last ACK).
 * 0 where /proc is not there.
 */
function unacceptedConnections(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  let count = 0;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const [, local, , state, queues] = line.trim().split(/\s+/);
      if (!local?.endsWith(`:${hexPort}`)) continue;
      if (state === "0A") count += parseInt(queues.split(":")[1], 16);
      if (state === "03") count++;
    }
  }
  return count;
}

/**
 * Waits until the server on `port` has accepted every connection made to it.
 * A connection not yet accepted when the listener closes is reset by the
 * kernel, on every runtime (Go and Node alike), so a test that connects and
 * shuts down at once waits for this first. Re-checks every millisecond (the
 * kernel gives no event for it), bounded by `ms`.
 */
export function acceptQueueEmpty(port: number, ms = 5_000): Promise<void> {
  return waitUntil(
    `the server on port ${port} to accept`,
    () => unacceptedConnections(port) === 0,
    (wake) => {
      const recheck = setInterval(wake, 1);
      return () => clearInterval(recheck);
    },
    ms,
  );
}

/** Waits for `promise`, bounded by `ms`; the error names `what`. */
export function within<T>(promise: Promise<T>, what: string, ms = 5_000): Promise<T> {
  let value: T;
  let settled = false;
  return waitUntil(what, () => settled, (wake) => {
    promise.then((result) => {
      value = result;
      settled = true;
      wake();
    });
    return () => {};
  }, ms).then(() => value);
}

/**
 * A slowloris: connects, sends a request line and the start of a header, then
 * one more byte of its value every 20 ms (at most 200). Resolves once three
 * bytes have trickled.
 */
export async function trickleHeaders(
  t: TestContext,
  port: number,
  path = "/",
): Promise<TestClient> {
  const client = await TestClient.connect(port);
  client.send(`GET ${path} HTTP/1.1\r\nHost: x\r\nX-Slow: `);
  const sent = counter();
  const trickle = setInterval(() => {
    if (sent.calls >= 200 || client.socket.destroyed) return clearInterval(trickle);
    client.send("a");
    sent.hit();
  }, 20);
  t.cleanup(() => clearInterval(trickle));
  await sent.reach(3, "the client to have trickled 3 bytes");
  return client;
}
