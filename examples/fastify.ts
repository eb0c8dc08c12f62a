// A Fastify app on lastcall: pass `app.server` (Fastify's node:http server)
// once the app is ready, instead of calling app.listen().
//   node examples/fastify.ts      (or deno run -A, or bun)
// (`node` runs a .ts file from Node 22.18 on; on Node 20, compile it with tsc first.)

import Fastify from "fastify";
import process from "node:process";
import { serveAndShutdown } from "../mod.ts";

const app = Fastify();
app.get("/", () => "hello from Fastify\n");
app.get<{ Querystring: { ms?: string } }>("/slow", async (request) => {
  if (process.env.LOG_REQUESTS) console.log("slow started"); // for the tests
  await new Promise((resolve) => setTimeout(resolve, Number(request.query.ms ?? 1_000)));
  return "slow work done\n";
});
await app.ready();

const server = await serveAndShutdown({
  server: app.server,
  hostname: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 3000),
  gracePeriod: 10_000,
});
console.log(`fastify listening on ${server.addr.hostname}:${server.addr.port} (${server.runtime})`);
const result = await server.finished;
await app.close(); // Fastify's onClose hooks; its server is already closed
console.log(`fastify down: ${JSON.stringify(result)}`);
