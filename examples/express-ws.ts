// Express 5 with WebSockets (the `ws` package) and Server-Sent Events on
// lastcall. Hand over `http.createServer(app)`; `ws` shares that server.
// On SIGTERM: every response carries `Connection: close`, idle keep-alive
// connections close, in-flight requests finish, the event streams end and the
// WebSockets get 1001 "going away" (server.signal aborts when shutdown
// begins), then the app's own cleanup (here a stand-in database pool) runs
// once, after the drain, and the process exits by itself.
//   node examples/express-ws.ts      (or bun)
// (`node` runs a .ts file from Node 22.18 on; on Node 20, compile it with tsc first.)

import express from "express";
import http from "node:http";
import process from "node:process";
import { WebSocketServer } from "ws";
import { serveAndShutdown } from "../mod.ts";

/** Stands in for what the app owns besides its server: a database pool, a queue client. */
const pool = {
  end: async () => console.log("express cleanup: pool closed"),
};

const app = express();
if (process.env.LOG_REQUESTS) {
  app.use((request, _response, next) => {
    console.log(`request ${request.path}`);
    next();
  });
}
app.get("/", (_request, response) => {
  response.send("hello from Express\n");
});
app.get("/slow", (request, response) => {
  const work = setTimeout(
    () => response.send("slow work done\n"),
    Number(request.query.ms ?? 1_000),
  );
  response.on("close", () => clearTimeout(work)); // the client left, or the deadline cut it
});
app.get("/events", (_request, response) => {
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });
  response.write("data: hello\n\n");
  const end = () => response.end("event: bye\ndata: server going away\n\n");
  if (server.signal.aborted) return end();
  server.signal.addEventListener("abort", end, { once: true });
  response.on("close", () => server.signal.removeEventListener("abort", end));
});

const httpServer = http.createServer(app);
const sockets = new WebSocketServer({ server: httpServer, path: "/ws" });
sockets.on("connection", (client) => {
  client.on("message", (data, isBinary) => client.send(data, { binary: isBinary }));
});

const server = await serveAndShutdown({
  server: httpServer,
  hostname: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 3000),
  gracePeriod: Number(process.env.GRACE_PERIOD ?? 10_000),
});
server.signal.addEventListener("abort", () => {
  console.log("express shutting down");
  for (const client of sockets.clients) client.close(1001, "going away");
});
console.log(`express listening on ${server.addr.hostname}:${server.addr.port} (${server.runtime})`);

const result = await server.finished;
console.log(`express drained: ${JSON.stringify(result)}`);
await pool.end(); // the app's own cleanup: once, after the drain
if (!result.graceful) process.exitCode = 1; // something was cut at the deadline
