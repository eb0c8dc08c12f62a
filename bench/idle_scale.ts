// N idle keep-alive HTTP connections (each served one request, held by a
// client process of their own), then shutdown: how long until it resolved,
// and the server's heap bytes per connection.
//   <runtime> bench/idle_scale.ts <N> <impl>
// impl: lastcall (idleGrace 0: idle connections closed at once, as every peer
//   closes them) | lastcall-grace (the default idleGrace, for what it costs) |
//   bare (heap only on Node; the native shutdown timed on Deno and Bun) |
//   node-close | stoppable | http-terminator (Node)
// Prints one JSON line.

import { type ChildProcess, spawn } from "node:child_process";
import http from "node:http";
import type net from "node:net";
import process from "node:process";
import { serveAndShutdown } from "../mod.ts";
import { peerStop, type Stop } from "./_peers.ts";

const count = Number(process.argv[2] ?? 1000);
const impl = process.argv[3] ?? "lastcall";
const hostname = "127.0.0.1";
const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
// deno-lint-ignore no-explicit-any
const globals = globalThis as any;

function heapUsed(): number {
  globals.gc?.();
  globals.Bun?.gc(true);
  return process.memoryUsage().heapUsed;
}

const handler = (_request: http.IncomingMessage, response: http.ServerResponse) =>
  response.end("ok");
let port: number;
let stop: Stop;
if (impl === "lastcall" || impl === "lastcall-grace") {
  const common = {
    hostname,
    signals: false as const,
    ...(impl === "lastcall" ? { idleGrace: 0 } : {}),
  };
  const server = runtime === "node"
    ? await serveAndShutdown({ server: http.createServer(handler), ...common })
    : await serveAndShutdown({ fetch: () => new Response("ok"), ...common });
  port = server.addr.port;
  stop = async () => void await server.shutdown(30_000);
} else if (impl === "bare" && runtime !== "node") {
  const fetch = () => new Response("ok");
  const server = runtime === "deno"
    ? globals.Deno.serve({ hostname, port: 0, onListen() {} }, fetch)
    : globals.Bun.serve({ hostname, port: 0, fetch });
  port = runtime === "deno" ? server.addr.port : server.port;
  stop = async () => void await (runtime === "deno" ? server.shutdown() : server.stop(true));
} else {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, hostname, resolve));
  port = (server.address() as net.AddressInfo).port;
  stop = impl === "bare"
    ? () => new Promise((resolve) => server.close(() => resolve()))
    : await peerStop(impl, server);
}

/** Starts the client process and waits until its connections are open and idle. */
async function openClients(): Promise<ChildProcess> {
  const node = process.env.LASTCALL_CLIENT_NODE ?? "node";
  const clients = spawn(node, [
    new URL("./idle_clients.mjs", import.meta.url).pathname,
    String(port),
    String(count),
  ], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    clients.stdout!.on("data", (chunk) => String(chunk).includes("ready") && resolve());
    clients.on("exit", (code) => reject(new Error(`idle_clients exited with ${code}`)));
  });
  return clients;
}

const before = heapUsed();
const clients = await openClients();
const bytesPerConnection = Math.round((heapUsed() - before) / count);
const started = performance.now();
const closing = stop();
let shutdownMs = -1;
// Node's bare server is measured for heap only; Deno's and Bun's own
// shutdowns are timed too, the reference for lastcall on those runtimes.
if (impl !== "bare" || runtime !== "node") {
  await closing;
  shutdownMs = performance.now() - started;
}
clients.removeAllListeners("exit");
clients.kill("SIGTERM");
console.log(JSON.stringify({
  bench: "idle_scale",
  runtime,
  impl,
  connections: count,
  shutdown_ms: Math.round(shutdownMs * 10) / 10,
  heap_bytes_per_connection: bytesPerConnection,
}));
process.exit(0);
