// A Hono app on lastcall, unchanged on Node, Deno and Bun: `fetch: app.fetch`.
//   node examples/hono.ts   |   deno run -A examples/hono.ts   |   bun examples/hono.ts
// (`node` runs a .ts file from Node 22.18 on; on Node 20, compile it with tsc first.)
// SIGTERM or Ctrl+C: /healthz turns 503, in-flight requests finish, idle
// keep-alive connections close, and the process exits by itself.

import { Hono } from "hono";
import process from "node:process";
import { Deadline, serveAndShutdown } from "../mod.ts";

const app = new Hono();
app.get("/", (c) => c.text("hello from Hono\n"));
app.get("/slow", async (c) => {
  if (process.env.LOG_REQUESTS) console.log("slow started"); // for the tests
  const { signal } = Deadline.after(Number(c.req.query("ms") ?? 1_000));
  // A Deadline of 0 ms is expired already: its abort event has been and gone.
  if (!signal.aborted) await new Promise((resolve) => signal.addEventListener("abort", resolve));
  return c.text("slow work done\n");
});

const server = await serveAndShutdown({
  fetch: app.fetch,
  hostname: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 3000),
  health: "/healthz",
  gracePeriod: 10_000,
});
console.log(`hono listening on ${server.addr.hostname}:${server.addr.port} (${server.runtime})`);
console.log(`hono down: ${JSON.stringify(await server.finished)}`);
