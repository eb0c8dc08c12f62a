// An Express app with lastcall's shutdown: pass the http.Server before it
// listens, and lastcall listens, tracks every connection, sends
// `Connection: close` once shutdown begins, and drains on SIGTERM.
//   node examples/express.ts      (or deno run -A, or bun)
// (`node` runs a .ts file from Node 22.18 on; on Node 20, compile it with tsc first.)

import express from "express";
import http from "node:http";
import process from "node:process";
import { serveAndShutdown } from "../mod.ts";

const app = express();
if (process.env.LOG_REQUESTS) {
  app.use((request, _response, next) => {
    console.log(`request ${request.url}`);
    next();
  });
}
app.get("/", (_request, response) => {
  response.send("hello from Express\n");
});
app.get("/slow", (request, response) => {
  setTimeout(() => response.send("slow work done\n"), Number(request.query.ms ?? 1_000));
});

const server = await serveAndShutdown({
  server: http.createServer(app),
  hostname: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 3000),
  gracePeriod: 10_000,
});
console.log(`express listening on ${server.addr.hostname}:${server.addr.port} (${server.runtime})`);
console.log(`express down: ${JSON.stringify(await server.finished)}`);
