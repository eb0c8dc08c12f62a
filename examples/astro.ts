// An Astro app (@astrojs/node in middleware mode) on lastcall: hand over the
// node:http server whose listener calls the build's `handler`. On SIGTERM:
// every response carries `Connection: close`, idle keep-alive connections
// close, in-flight requests finish, the event stream ends (server.signal
// aborts when shutdown begins; the build bundles routes apart from this
// file, so they find it on globalThis), then the app's own cleanup (a
// stand-in pool) runs once, after the drain, and the process exits by
// itself. Build the app first (`astro build` in its folder writes
// dist/server/entry.mjs).
//   ASTRO_BUILD=examples/astro-app/dist node examples/astro.ts
// (Node 22.23.4+, as Astro 7 needs.)

import http from "node:http";
import { resolve } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { serveAndShutdown } from "../mod.ts";

type Middleware = (
  request: http.IncomingMessage,
  response: http.ServerResponse,
  next: () => void,
) => void;
const build = resolve(process.env.ASTRO_BUILD ?? "dist");
const entry = pathToFileURL(resolve(build, "server/entry.mjs")).href;
const { handler } = await import(entry) as { handler: Middleware };

/** Stands in for what the app owns besides its server: a database pool, a queue client. */
const pool = {
  end: async () => console.log("astro cleanup: pool closed"),
};

const server = await serveAndShutdown({
  server: http.createServer((request, response) => {
    if (process.env.LOG_REQUESTS) console.log(`request ${request.url?.split("?")[0]}`);
    handler(request, response, () => {
      response.statusCode = 404;
      response.end("not found\n");
    });
  }),
  hostname: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 3000),
  gracePeriod: Number(process.env.GRACE_PERIOD ?? 10_000),
});
Object.assign(globalThis, { serverShutdown: server.signal });
server.signal.addEventListener("abort", () => console.log("astro shutting down"));
console.log(`astro listening on ${server.addr.hostname}:${server.addr.port} (${server.runtime})`);

const result = await server.finished;
console.log(`astro drained: ${JSON.stringify(result)}`);
await pool.end(); // the app's own cleanup: once, after the drain
if (!result.graceful) process.exitCode = 1; // something was cut at the deadline
