// The service the rolling-restart test runs behind HAProxy, minus its server:
// an HTTP route and a Redis-protocol command set whose side effects carry a
// client-chosen id, each appended to a log file when it is executed, before
// its reply is written. The test compares those logs with what its clients
// saw acknowledged.

import { closeSync, openSync, writeSync } from "node:fs";
import process from "node:process";
import { execute } from "../../../examples/resp.ts";
import { Deadline } from "../../../mod.ts";

/** Appends one line per executed command to the file named by $LOG, synchronously. */
export function executionLog(): { record(line: string): void; close(): void } {
  const fd = openSync(process.env.LOG ?? "/dev/null", "a");
  return {
    record: (line) => void writeSync(fd, `${line}\n`),
    close: () => closeSync(fd),
  };
}

function delay(ms: number): Promise<void> {
  const { signal } = Deadline.after(ms);
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve()));
}

/** The side of a WebSocket the echo needs: what both `ws` and the standard WebSocket offer. */
export interface EchoSocket {
  readonly readyState: number;
  send(data: string): void;
}

/**
 * Echoes one message, recording it first, unless the socket is closing or
 * the server is `draining`: such a message is neither executed nor answered,
 * so the client can resend it elsewhere safely. (Deno and Bun drop a socket
 * right after their close frame: an answer written then would be lost.)
 */
export function echo(
  socket: EchoSocket,
  data: string,
  record: (line: string) => void,
  draining = false,
): void {
  if (socket.readyState !== 1 || draining) return; // 1: OPEN
  record(`ws ${data}`);
  socket.send(data);
}

let served = false;
/** Prints `serving` once, at the first request: the test's sign that the balancer sends traffic here. */
function announce(): void {
  if (!served) console.log("serving");
  served = true;
}

/** GET /work?ms=20&id=...: records the id, works for ms, answers 200. */
export async function work(url: URL, record: (line: string) => void): Promise<string> {
  announce();
  const id = url.searchParams.get("id") ?? "-";
  record(`http ${id}`);
  await delay(Number(url.searchParams.get("ms") ?? 20));
  return `done ${id}\n`;
}

/**
 * POST /order with the body `id=...`: records the order (executes it) at
 * once, then takes 20 ms to confirm it, like a write that waits for a disk.
 * An order is not idempotent: executed twice is a failure of the test.
 */
export async function order(body: string, record: (line: string) => void): Promise<string> {
  announce();
  const id = new URLSearchParams(body).get("id") ?? "-";
  record(`order ${id}`);
  await delay(20);
  return `ordered ${id}\n`;
}

const store = new Map<string, string>();
const INFO = "# Server\r\nloading:0";

/**
 * Runs one Redis-protocol command. SET records its key (the id); SLOWSET key
 * value ms records and applies its write at once and acknowledges it ms later,
 * like a write that waits for a disk or a replica. PING answers -ERR once
 * `draining`, so a health check takes the backend out of rotation.
 */
export function command(
  args: string[],
  draining: boolean,
  record: (line: string) => void,
): string | Promise<string> {
  const name = (args[0] ?? "").toUpperCase();
  if (name === "PING" && draining) return "-ERR draining\r\n";
  if (name === "INFO") return `$${INFO.length}\r\n${INFO}\r\n`; // ioredis's ready check
  if (name === "QUIT") return "+OK\r\n"; // the client closes after the reply
  if (name === "SET") record(`set ${args[1]}`);
  if (name === "SLOWSET") {
    record(`set ${args[1]}`);
    store.set(args[1], args[2] ?? "");
    return delay(Number(args[3] ?? 50)).then(() => "+OK\r\n");
  }
  return execute(store, args);
}
