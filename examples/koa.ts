// A Koa 3 app on lastcall: hand over `http.createServer(app.callback())`.
// On SIGTERM: every response carries `Connection: close`, idle keep-alive
// connections close, in-flight requests finish, the event stream ends
// (server.signal aborts when shutdown begins), then the app's own cleanup
// (here a stand-in database pool) runs once, after the drain, and the
// process exits by itself.
//   node examples/koa.ts      (or bun)
// (`node` runs a .ts file from Node 22.18 on; on Node 20, compile it with tsc first.)

import Koa from "koa";
import http from "node:http";
import process from "node:process";
import { PassThrough } from "node:stream";
import { serveAndShutdown } from "../mod.ts";

/** Stands in for what the app owns besides its server: a database pool, a queue client. */
const pool = {
  end: async () => console.log("koa cleanup: pool closed"),
};

const app = new Koa();
app.use(async (ctx, next) => {
  if (process.env.LOG_REQUESTS) console.log(`request ${ctx.path}`);
  await next();
});
app.use(async (ctx) => {
  if (ctx.path === "/") {
    ctx.body = "hello from Koa\n";
  } else if (ctx.path === "/slow") {
    await new Promise<void>((resolve) => {
      const work = setTimeout(resolve, Number(ctx.query.ms ?? 1_000));
      ctx.res.on("close", () => clearTimeout(work)); // the client left, or the deadline cut it
    });
    ctx.body = "slow work done\n";
  } else if (ctx.path === "/events") {
    const stream = new PassThrough();
    ctx.type = "text/event-stream";
    ctx.set("cache-control", "no-store");
    ctx.body = stream;
    stream.write("data: hello\n\n");
    const end = () => stream.end("event: bye\ndata: server going away\n\n");
    if (server.signal.aborted) return end();
    server.signal.addEventListener("abort", end, { once: true });
    ctx.res.on("close", () => server.signal.removeEventListener("abort", end));
  }
});

const server = await serveAndShutdown({
  server: http.createServer(app.callback()),
  hostname: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 3000),
  gracePeriod: Number(process.env.GRACE_PERIOD ?? 10_000),
});
server.signal.addEventListener("abort", () => console.log("koa shutting down"));
console.log(`koa listening on ${server.addr.hostname}:${server.addr.port} (${server.runtime})`);

const result = await server.finished;
console.log(`koa drained: ${JSON.stringify(result)}`);
await pool.end(); // the app's own cleanup: once, after the drain
if (!result.graceful) process.exitCode = 1; // something was cut at the deadline
