// A Hono app on Node through its own Node listener, with WebSockets from
// @hono/node-ws: hand over `http.createServer(getRequestListener(app.fetch))`
// (from @hono/node-server) and give the same server to `injectWebSocket`.
// This is the fastest way to serve Hono on Node (see README); on Deno and Bun,
// or without WebSockets, `fetch: app.fetch` (examples/hono.ts) is simpler.
// On SIGTERM: every response carries `Connection: close`, idle keep-alive
// connections close, in-flight requests finish, the event stream ends and the
// WebSockets get 1001 "going away" (server.signal aborts when shutdown
// begins), then the app's own cleanup (here a stand-in database pool) runs
// once, after the drain, and the process exits by itself.
//   node examples/hono-node.ts      (or bun)
// (`node` runs a .ts file from Node 22.18 on; on Node 20, compile it with tsc first.)

import { getRequestListener } from "@hono/node-server";
import { createNodeWebSocket } from "@hono/node-ws";
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import http from "node:http";
import process from "node:process";
import { Deadline, serveAndShutdown } from "../mod.ts";

/** Stands in for what the app owns besides its server: a database pool, a queue client. */
const pool = {
  end: async () => console.log("hono cleanup: pool closed"),
};

const app = new Hono();
const { injectWebSocket, upgradeWebSocket, wss } = createNodeWebSocket({ app });
app.use(async (c, next) => {
  if (process.env.LOG_REQUESTS) console.log(`request ${c.req.path}`);
  await next();
});
app.get("/", (c) => c.text("hello from Hono\n"));
app.get("/slow", async (c) => {
  // A Deadline's timer never keeps the process alive, should the deadline cut this request.
  const { signal } = Deadline.after(Number(c.req.query("ms") ?? 1_000));
  if (!signal.aborted) await new Promise((resolve) => signal.addEventListener("abort", resolve));
  return c.text("slow work done\n");
});
app.get("/events", (c) =>
  streamSSE(c, async (stream) => {
    await stream.writeSSE({ data: "hello" });
    await new Promise<void>((resolve) => {
      if (server.signal.aborted) return resolve();
      server.signal.addEventListener("abort", () => resolve(), { once: true });
      stream.onAbort(resolve); // the client left first
    });
    if (!stream.aborted) await stream.writeSSE({ event: "bye", data: "server going away" });
  }));
app.get(
  "/ws",
  upgradeWebSocket(() => ({
    onMessage: (event, socket) => socket.send(String(event.data)),
  })),
);

const httpServer = http.createServer(getRequestListener(app.fetch));
injectWebSocket(httpServer);

const server = await serveAndShutdown({
  server: httpServer,
  hostname: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 3000),
  gracePeriod: Number(process.env.GRACE_PERIOD ?? 10_000),
});
server.signal.addEventListener("abort", () => {
  console.log("hono shutting down");
  for (const client of wss.clients) client.close(1001, "going away");
});
console.log(`hono listening on ${server.addr.hostname}:${server.addr.port} (${server.runtime})`);

const result = await server.finished;
console.log(`hono drained: ${JSON.stringify(result)}`);
await pool.end(); // the app's own cleanup: once, after the drain
if (!result.graceful) process.exitCode = 1; // something was cut at the deadline
