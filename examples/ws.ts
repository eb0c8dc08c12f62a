// WebSockets on Node, Deno or Bun with the ws package: node:http (or Express)
// serves HTTP, ws takes the upgraded sockets, and lastcall drains both. On
// SIGTERM, server.signal aborts: the app closes every client with 1001
// "going away", shutdown resolves when the last socket is gone, and the
// deadline would terminate any left (counted forced).
//   node examples/ws.ts      (or deno run -A, or bun; without ws: examples/websocket-echo.ts)
// (`node` runs a .ts file from Node 22.18 on; on Node 20, compile it with tsc first.)
// Try: npx wscat -c ws://127.0.0.1:3000   then Ctrl+C the server.

import http from "node:http";
import process from "node:process";
import { WebSocketServer } from "ws";
import { serveAndShutdown } from "../mod.ts";

const app = http.createServer((_request, response) => response.end("hello over HTTP\n"));
const sockets = new WebSocketServer({ server: app });
sockets.on("connection", (client) => {
  client.on("message", (data, isBinary) => client.send(data, { binary: isBinary }));
});

const server = await serveAndShutdown({
  server: app,
  hostname: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 3000),
  gracePeriod: 10_000,
});
server.signal.addEventListener("abort", () => {
  for (const client of sockets.clients) client.close(1001, "going away");
});
console.log(`ws listening on ${server.addr.hostname}:${server.addr.port} (${server.runtime})`);
console.log(`ws down: ${JSON.stringify(await server.finished)}`);
