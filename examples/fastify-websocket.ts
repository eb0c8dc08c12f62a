// Fastify 5 with @fastify/websocket and Server-Sent Events on lastcall: hand
// over `app.server` once the app is ready, instead of calling app.listen().
// On SIGTERM: every response carries `Connection: close`, idle keep-alive
// connections close, in-flight requests finish, the event stream ends and the
// WebSockets get 1001 "going away" (server.signal aborts when shutdown
// begins). Once the drain is over, `app.close()` runs Fastify's preClose and
// onClose hooks, once each (its server is already closed, which Fastify
// accepts), and the process exits by itself.
//   node examples/fastify-websocket.ts      (or bun)
// (`node` runs a .ts file from Node 22.18 on; on Node 20, compile it with tsc first.)

import websocket from "@fastify/websocket";
import Fastify from "fastify";
import process from "node:process";
import { PassThrough } from "node:stream";
import { serveAndShutdown } from "../mod.ts";

const app = Fastify();
await app.register(websocket);
app.addHook("onRequest", async (request) => {
  if (process.env.LOG_REQUESTS) console.log(`request ${request.url.replace(/\?.*/, "")}`);
});
app.addHook("preClose", async () => console.log("fastify cleanup: preClose hook"));
app.addHook("onClose", async () => console.log("fastify cleanup: onClose hook"));

app.get("/", () => "hello from Fastify\n");
app.get<{ Querystring: { ms?: string } }>("/slow", async (request, reply) => {
  await new Promise<void>((resolve) => {
    const work = setTimeout(resolve, Number(request.query.ms ?? 1_000));
    reply.raw.on("close", () => clearTimeout(work)); // the client left, or the deadline cut it
  });
  return "slow work done\n";
});
app.get("/events", (_request, reply) => {
  const stream = new PassThrough();
  stream.write("data: hello\n\n");
  const end = () => stream.end("event: bye\ndata: server going away\n\n");
  if (server.signal.aborted) end();
  else server.signal.addEventListener("abort", end, { once: true });
  reply.raw.on("close", () => server.signal.removeEventListener("abort", end));
  return reply.type("text/event-stream").header("cache-control", "no-store").send(stream);
});
app.get("/ws", { websocket: true }, (socket) => {
  socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
});
await app.ready();

const server = await serveAndShutdown({
  server: app.server,
  hostname: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 3000),
  gracePeriod: Number(process.env.GRACE_PERIOD ?? 10_000),
});
server.signal.addEventListener("abort", () => {
  console.log("fastify shutting down");
  for (const client of app.websocketServer.clients) client.close(1001, "going away");
});
console.log(`fastify listening on ${server.addr.hostname}:${server.addr.port} (${server.runtime})`);

const result = await server.finished;
console.log(`fastify drained: ${JSON.stringify(result)}`);
await app.close(); // Fastify's own hooks: once, after the drain
if (!result.graceful) process.exitCode = 1; // something was cut at the deadline
