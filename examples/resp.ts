// A small Redis-protocol (RESP2) command handler for lastcall's raw TCP
// serving: PING, ECHO, GET, SET, DEL, INCR, EXISTS, SLOW <ms>, pipelining,
// and commands split across reads. Used by the example server, the demo, the
// tests and the benchmarks.

import { type Conn, Deadline } from "../mod.ts";

const CR = 13;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Parses the complete commands at the front of `buffer`; `used` is how many bytes they took. */
export function parseCommands(buffer: Uint8Array): { commands: string[][]; used: number } {
  const commands: string[][] = [];
  let offset = 0;
  while (offset < buffer.length) {
    const parsed = buffer[offset] === 42 /* "*" */
      ? parseArray(buffer, offset)
      : parseInline(buffer, offset);
    if (parsed === undefined) break;
    if (parsed.command.length > 0) commands.push(parsed.command);
    offset = parsed.next;
  }
  return { commands, used: offset };
}

function lineEnd(buffer: Uint8Array, from: number): number {
  const cr = buffer.indexOf(CR, from);
  return cr === -1 || cr + 1 >= buffer.length ? -1 : cr;
}

function parseInline(buffer: Uint8Array, offset: number) {
  const end = buffer.indexOf(10, /* "\n" */ offset);
  if (end === -1) return undefined;
  const line = decoder.decode(buffer.subarray(offset, end)).replace(/\r$/, "");
  return { command: line.split(" ").filter((word) => word.length > 0), next: end + 1 };
}

function parseArray(buffer: Uint8Array, offset: number) {
  let end = lineEnd(buffer, offset);
  if (end === -1) return undefined;
  const count = Number(decoder.decode(buffer.subarray(offset + 1, end)));
  let next = end + 2;
  const command: string[] = [];
  for (let i = 0; i < count; i++) {
    end = lineEnd(buffer, next);
    if (end === -1) return undefined;
    const length = Number(decoder.decode(buffer.subarray(next + 1, end)));
    const start = end + 2;
    if (start + length + 2 > buffer.length) return undefined;
    command.push(decoder.decode(buffer.subarray(start, start + length)));
    next = start + length + 2;
  }
  return { command, next };
}

function bulk(value: string | undefined): string {
  return value === undefined ? "$-1\r\n" : `$${encoder.encode(value).length}\r\n${value}\r\n`;
}

/** Options of {@linkcode respHandler}. */
export interface RespOptions {
  /** The key space; share one map between servers for one data set. */
  store?: Map<string, string>;
  /** Called for every command executed, before its reply is written. */
  onExecute?: (command: string[]) => void;
  /** Runs a command instead of {@linkcode execute} (a service's own commands). */
  execute?: (command: string[], conn: Conn) => string | Promise<string>;
}

/** Executes one command; a promise only for SLOW. */
export function execute(
  store: Map<string, string>,
  [name = "", ...args]: string[],
): string | Promise<string> {
  switch (name.toUpperCase()) {
    case "PING":
      return args.length > 0 ? bulk(args[0]) : "+PONG\r\n";
    case "ECHO":
      return bulk(args[0]);
    case "GET":
      return bulk(store.get(args[0]));
    case "SET":
      store.set(args[0], args[1] ?? "");
      return "+OK\r\n";
    case "DEL":
      return `:${args.filter((key) => store.delete(key)).length}\r\n`;
    case "EXISTS":
      return `:${args.filter((key) => store.has(key)).length}\r\n`;
    case "INCR": {
      const value = Number(store.get(args[0]) ?? "0") + 1;
      if (!Number.isInteger(value)) return "-ERR value is not an integer or out of range\r\n";
      store.set(args[0], String(value));
      return `:${value}\r\n`;
    }
    case "SLOW": {
      // A Deadline's timer never keeps the process alive: a SLOW cut at the
      // shutdown deadline does not hold the process open until it would end.
      const { signal } = Deadline.after(Number(args[0] ?? 100));
      if (signal.aborted) return "+OK\r\n"; // a delay of 0 (or one already past)
      return new Promise((resolve) => {
        signal.addEventListener("abort", () => resolve("+OK\r\n"), { once: true });
      });
    }
    case "CONFIG": // redis-benchmark asks for a setting or two; none is set here
      return `*2\r\n${bulk(args[1] ?? "")}$0\r\n\r\n`;
    default:
      return `-ERR unknown command '${name}'\r\n`;
  }
}

/** The unparsed rest of earlier reads followed by `chunk`. */
export function joinChunks(pending: Uint8Array, chunk: Uint8Array): Uint8Array {
  if (pending.length === 0) return chunk;
  const buffer = new Uint8Array(pending.length + chunk.length);
  buffer.set(pending);
  buffer.set(chunk, pending.length);
  return buffer;
}

/**
 * The connection handler: reads commands, executes them in order, and writes
 * the replies of each read in one write. A command split across reads holds
 * the connection busy (`conn.active()`) until its reply is written.
 */
export function respHandler(options: RespOptions = {}): (conn: Conn) => Promise<void> {
  const store = options.store ?? new Map<string, string>();
  const run = options.execute ?? ((command: string[]) => execute(store, command));
  return async (conn) => {
    let pending: Uint8Array = new Uint8Array(0);
    for await (const chunk of conn) {
      const buffer = joinChunks(pending, chunk);
      const { commands, used } = parseCommands(buffer);
      pending = buffer.subarray(used);
      if (pending.length > 0) conn.active(); // the rest of a command is still to come
      let replies = "";
      for (const command of commands) {
        options.onExecute?.(command);
        const reply = run(command, conn);
        replies += typeof reply === "string" ? reply : await reply;
      }
      if (replies.length > 0) await conn.write(replies);
      if (pending.length === 0) conn.idle();
    }
  };
}
