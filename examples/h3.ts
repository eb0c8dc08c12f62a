// An h3 2 app on lastcall, on Node, Deno and Bun: `fetch: app.fetch`. On Node
// the same app can go through node:http instead (H3_NODE=1 here):
// `server: http.createServer(toNodeHandler(app))`, `toNodeHandler` from
// "h3/node". On SIGTERM: every response carries `Connection: close`, idle
// keep-alive connections close, in-flight requests finish, the event stream
// ends (server.signal aborts when shutdown begins), then the app's own cleanup
// (here a stand-in database pool) runs once, after the drain, and the process
// exits by itself.
//   node examples/h3.ts   |   deno run -A examples/h3.ts   |   bun examples/h3.ts
//   H3_NODE=1 node examples/h3.ts      (or bun)
// (`node` runs a .ts file from Node 22.18 on; on Node 20, compile it with tsc first.)

import { H3 } from "h3";
import { toNodeHandler } from "h3/node";
import http from "node:http";
import process from "node:process";
import { Deadline, serveAndShutdown, type Server } from "../mod.ts";

/** Stands in for what the app owns besides its server: a database pool, a queue client. */
const pool = {
  end: async () => console.log("h3 cleanup: pool closed"),
};

const app = new H3();
app.use((event) => {
  if (process.env.LOG_REQUESTS) console.log(`request ${event.url.pathname}`);
});
app.get("/", () => "hello from h3\n");
app.get("/slow", async (event) => {
  // A Deadline's timer never keeps the process alive, should the deadline cut this request.
  const { signal } = Deadline.after(Number(event.url.searchParams.get("ms") ?? 1_000));
  if (!signal.aborted) await new Promise((resolve) => signal.addEventListener("abort", resolve));
  return "slow work done\n";
});
app.get("/events", () => {
  const encoder = new TextEncoder();
  let end = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode("data: hello\n\n"));
      end = () => {
        controller.enqueue(encoder.encode("event: bye\ndata: server going away\n\n"));
        controller.close();
      };
      if (server.signal.aborted) end();
      else server.signal.addEventListener("abort", end, { once: true });
    },
    cancel: () => server.signal.removeEventListener("abort", end),
  });
  return new Response(body, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-store" },
  });
});

const listen = {
  hostname: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 3000),
  gracePeriod: Number(process.env.GRACE_PERIOD ?? 10_000),
};
const server: Server = process.env.H3_NODE
  ? await serveAndShutdown({ server: http.createServer(toNodeHandler(app)), ...listen })
  : await serveAndShutdown({ fetch: app.fetch, ...listen });
server.signal.addEventListener("abort", () => console.log("h3 shutting down"));
console.log(`h3 listening on ${server.addr.hostname}:${server.addr.port} (${server.runtime})`);

const result = await server.finished;
console.log(`h3 drained: ${JSON.stringify(result)}`);
await pool.end(); // the app's own cleanup: once, after the drain
if (!result.graceful) process.exitCode = 1; // something was cut at the deadline
