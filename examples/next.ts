// A Next.js custom server on lastcall: hand over the node:http server whose
// listener calls Next's request handler. On SIGTERM: every response carries
// `Connection: close`, idle keep-alive connections close, in-flight requests
// finish, the event stream ends (server.signal aborts when shutdown begins;
// Next compiles routes apart from this file, so they find it on globalThis),
// then `app.close()` runs once, after the drain, and the process exits by
// itself. Build the app first (`next build` in its folder).
//   NEXT_DIR=examples/next-app node examples/next.ts
// (`node` runs a .ts file from Node 22.18 on; on Node 20, compile it with tsc first.)

import nextModule from "next";
import http from "node:http";
import process from "node:process";
import { serveAndShutdown } from "../mod.ts";

// Next is CommonJS typed as ESM: under NodeNext the default import is typed
// as the module, while at run time it is the function itself.
const next = nextModule as unknown as typeof nextModule.default;
const app = next({ dev: false, dir: process.env.NEXT_DIR ?? ".", quiet: true });
await app.prepare();
const handle = app.getRequestHandler();

const server = await serveAndShutdown({
  server: http.createServer((request, response) => {
    if (process.env.LOG_REQUESTS) console.log(`request ${request.url?.split("?")[0]}`);
    void handle(request, response);
  }),
  hostname: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 3000),
  gracePeriod: Number(process.env.GRACE_PERIOD ?? 10_000),
});
Object.assign(globalThis, { serverShutdown: server.signal });
server.signal.addEventListener("abort", () => console.log("next shutting down"));
console.log(`next listening on ${server.addr.hostname}:${server.addr.port} (${server.runtime})`);

const result = await server.finished;
console.log(`next drained: ${JSON.stringify(result)}`);
await app.close(); // Next's own cleanup: once, after the drain
console.log("next cleanup: app closed");
if (!result.graceful) process.exitCode = 1; // something was cut at the deadline
