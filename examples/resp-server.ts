// A Redis-protocol server on lastcall, unchanged on Node, Deno and Bun:
//   node examples/resp-server.ts [port]      (Node 22.18+ runs TypeScript)
//   deno run -A examples/resp-server.ts [port]
//   bun examples/resp-server.ts [port]
// Try `redis-cli -p 6380 ping`, then Ctrl+C: commands in flight finish, idle
// clients are closed cleanly, and the process exits by itself.

import process from "node:process";
import { serveAndShutdown } from "../mod.ts";
import { respHandler } from "./resp.ts";

const port = Number(process.argv[2] ?? process.env.PORT ?? 6380);
const server = await serveAndShutdown({
  hostname: process.env.HOST ?? "127.0.0.1",
  port,
  gracePeriod: Number(process.env.GRACE_PERIOD ?? 10_000),
  connection: respHandler({
    // LOG_COMMANDS=1 prints each command as it is executed (used by the tests).
    onExecute: process.env.LOG_COMMANDS
      ? (command) => console.log(`exec ${command.join(" ")}`)
      : undefined,
  }),
});
console.log(`resp listening on ${server.addr.hostname}:${server.addr.port} (${server.runtime})`);
const result = await server.finished;
console.log(`resp down: ${JSON.stringify(result)}`);
