// socket.io 4 on lastcall: socket.io attaches to a node:http server, and that
// server is what lastcall takes. On SIGTERM: every response carries
// `Connection: close`, idle keep-alive connections close, in-flight requests
// finish, and `io.disconnectSockets()` (run when server.signal aborts, at the
// start of shutdown) tells every client, WebSocket and long-polling alike,
// that the server is going: a pending long poll is answered at once instead
// of being held up to pingInterval (25 s), and each client closes its
// connection itself. Not `disconnectSockets(true)`: for a long-polling client
// engine.io then waits for a next poll the client never sends, and its 30 s
// timer keeps the process alive after the drain. Once the drain is over,
// `io.close()` runs socket.io's own cleanup (adapters, engine) once, and the
// process exits by itself.
//   node examples/socketio.ts      (or bun)
// (`node` runs a .ts file from Node 22.18 on; on Node 20, compile it with tsc first.)

import http from "node:http";
import process from "node:process";
import { Server as SocketIoServer } from "socket.io";
import { serveAndShutdown } from "../mod.ts";

const httpServer = http.createServer((request, response) => {
  const url = new URL(request.url ?? "/", "http://localhost");
  if (process.env.LOG_REQUESTS) console.log(`request ${url.pathname}`);
  if (url.pathname === "/slow") {
    const work = setTimeout(
      () => response.end("slow work done\n"),
      Number(url.searchParams.get("ms") ?? 1_000),
    );
    response.on("close", () => clearTimeout(work)); // the client left, or the deadline cut it
  } else {
    response.end("hello from socket.io's HTTP server\n");
  }
});
const io = new SocketIoServer(httpServer);
io.on("connection", (socket) => {
  socket.on("echo", (message: unknown, reply: (message: unknown) => void) => reply(message));
});

const server = await serveAndShutdown({
  server: httpServer,
  hostname: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 3000),
  gracePeriod: Number(process.env.GRACE_PERIOD ?? 10_000),
});
server.signal.addEventListener("abort", () => {
  console.log("socket.io shutting down");
  io.disconnectSockets(); // each client hears "io server disconnect", closes its connection, does not reconnect
});
console.log(
  `socket.io listening on ${server.addr.hostname}:${server.addr.port} (${server.runtime})`,
);

const result = await server.finished;
console.log(`socket.io drained: ${JSON.stringify(result)}`);
await io.close(); // socket.io's own cleanup: once, after the drain (its server.close() is a no-op now)
console.log("socket.io cleanup: io.close() done");
if (!result.graceful) process.exitCode = 1; // something was cut at the deadline
