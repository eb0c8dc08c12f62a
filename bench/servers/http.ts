// An HTTP hello server for the benchmarks: <runtime> bench/servers/http.ts <impl> [port]
//   bare      the runtime's own server: node:http, Deno.serve or Bun.serve
//   lastcall  the same behind lastcall: { server } on Node, fetch on Deno and Bun
//   fetch     (Node) lastcall's fetch adapter     hono  (Node) @hono/node-server
//   srvx      (Node) srvx
//   hono-server (Node) @hono/node-server's getRequestListener in lastcall's { server }
// Prints "listening <port>" once it accepts connections; SIGTERM ends it.

import http from "node:http";
import process from "node:process";
import { serveAndShutdown } from "../../mod.ts";
import { globals, hello, hostname, nodeHello, runtime } from "./_hello.ts";

const impl = process.argv[2] ?? "bare";
const port = Number(process.argv[3] ?? 0);
let close: () => unknown;
let listening: number;
if (impl === "bare" && runtime === "deno") {
  const server = globals.Deno.serve({ hostname, port, onListen() {} }, hello);
  listening = server.addr.port;
  close = () => server.shutdown();
} else if (impl === "bare" && runtime === "bun") {
  const server = globals.Bun.serve({ hostname, port, fetch: hello });
  listening = server.port;
  close = () => server.stop();
} else if (impl === "bare") {
  const server = http.createServer(nodeHello);
  await new Promise<void>((resolve) => server.listen(port, hostname, resolve));
  listening = (server.address() as { port: number }).port;
  close = () => server.close();
} else if (impl === "lastcall") {
  const server = runtime === "node"
    ? await serveAndShutdown({
      server: http.createServer(nodeHello),
      hostname,
      port,
      signals: false,
    })
    : await serveAndShutdown({ fetch: hello, hostname, port, signals: false });
  listening = server.addr.port;
  close = () => server.shutdown(1_000);
} else if (impl === "fetch") {
  const server = await serveAndShutdown({ fetch: hello, hostname, port, signals: false });
  listening = server.addr.port;
  close = () => server.shutdown(1_000);
} else if (impl === "hono") {
  const { serve } = await import("@hono/node-server");
  const server = serve({ fetch: hello, hostname, port });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  listening = (server.address() as { port: number }).port;
  close = () => server.close();
} else if (impl === "hono-server") {
  // @hono/node-server's request listener (its own Request and Response) in
  // lastcall's `{ server }` mode: Hono's speed with lastcall's shutdown.
  const { getRequestListener } = await import("@hono/node-server");
  const server = await serveAndShutdown({
    server: http.createServer(getRequestListener(hello)),
    hostname,
    port,
    signals: false,
  });
  listening = server.addr.port;
  close = () => server.shutdown(1_000);
} else if (impl === "srvx") {
  const { serve } = await import("srvx");
  const server = serve({ fetch: hello, hostname, port, silent: true });
  await server.ready();
  listening = Number(new URL(server.url!).port);
  close = () => server.close();
} else {
  throw new Error(`unknown impl ${impl}`);
}
console.log(`listening ${listening}`);
process.on("SIGTERM", () => close());
