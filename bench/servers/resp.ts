// A Redis-protocol server for the benchmarks: <runtime> bench/servers/resp.ts <impl> [port]
//   bare      the example's parser on the runtime's bare sockets (node:net,
//             Deno.listen, Bun.listen), no shutdown handling at all
//   lastcall  examples/resp.ts on serveAndShutdown
// Prints "listening <port>"; SIGTERM ends it.

import net from "node:net";
import process from "node:process";
import { execute, joinChunks, parseCommands, respHandler } from "../../examples/resp.ts";
import { serveAndShutdown } from "../../mod.ts";

const impl = process.argv[2] ?? "bare";
const port = Number(process.argv[3] ?? 0);
const hostname = "127.0.0.1";
const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
const store = new Map<string, string>();

/** The example's per-read logic on a plain buffer: replies, and the unparsed rest. */
function onRead(pending: Uint8Array, chunk: Uint8Array): { replies: string; rest: Uint8Array } {
  const buffer = joinChunks(pending, chunk);
  const { commands, used } = parseCommands(buffer);
  let replies = "";
  for (const command of commands) replies += execute(store, command) as string;
  return { replies, rest: buffer.subarray(used) };
}

// deno-lint-ignore no-explicit-any
const globals = globalThis as any;
let listening: number;
let close: () => unknown;
if (impl === "lastcall") {
  const server = await serveAndShutdown({
    hostname,
    port,
    signals: false,
    connection: respHandler({ store }),
  });
  listening = server.addr.port;
  close = () => server.shutdown(1_000);
} else if (runtime === "deno") {
  const listener = globals.Deno.listen({ hostname, port });
  listening = listener.addr.port;
  close = () => listener.close();
  (async () => {
    for await (const conn of listener) {
      (async () => {
        conn.setNoDelay(true);
        const buffer = new Uint8Array(64 * 1024);
        let pending: Uint8Array = new Uint8Array(0);
        const encoder = new TextEncoder();
        try {
          for (;;) {
            const n = await conn.read(buffer);
            if (n === null) break;
            const { replies, rest } = onRead(pending, buffer.slice(0, n));
            pending = rest;
            if (replies) {
              const bytes = encoder.encode(replies);
              let offset = 0;
              while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
            }
          }
        } catch { /* reset */ }
        try {
          conn.close();
        } catch { /* closed */ }
      })();
    }
  })().catch(() => {});
} else if (runtime === "bun") {
  const server = globals.Bun.listen({
    hostname,
    port,
    socket: {
      open(socket: { data: Uint8Array }) {
        socket.data = new Uint8Array(0);
      },
      data(socket: { data: Uint8Array; write(s: string): number }, chunk: Uint8Array) {
        const { replies, rest } = onRead(socket.data, chunk);
        socket.data = rest;
        if (replies) socket.write(replies);
      },
    },
  });
  listening = server.port;
  close = () => server.stop(true);
} else {
  const server = net.createServer({ noDelay: true }, (socket) => {
    let pending: Uint8Array = new Uint8Array(0);
    socket.on("data", (chunk: Uint8Array) => {
      const { replies, rest } = onRead(pending, chunk);
      pending = rest;
      if (replies) socket.write(replies);
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(port, hostname, resolve));
  listening = (server.address() as { port: number }).port;
  close = () => server.close();
}
console.log(`listening ${listening}`);
process.on("SIGTERM", () => {
  close();
  process.exit(0);
});
