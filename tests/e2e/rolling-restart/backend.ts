// A backend on lastcall: HTTP on $HTTP_PORT (/work, /healthz through the
// health option) and the Redis protocol on $RESP_PORT, shut down together on
// SIGTERM with $DRAIN_DELAY ms of failing health checks first.

import process from "node:process";
import { respHandler } from "../../../examples/resp.ts";
import { Deadline, serveAndShutdown } from "../../../mod.ts";
import { command, executionLog, work } from "./service.ts";

const log = executionLog();
const drainDelay = Number(process.env.DRAIN_DELAY ?? 1_000);
const gracePeriod = Number(process.env.GRACE_PERIOD ?? 10_000);
const common = { hostname: "127.0.0.1", signals: false, drainDelay } as const;

const http = await serveAndShutdown({
  ...common,
  port: Number(process.env.HTTP_PORT),
  health: "/healthz",
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname !== "/work") return new Response("not found\n", { status: 404 });
    return new Response(await work(url, log.record));
  },
});

const resp = await serveAndShutdown({
  ...common,
  port: Number(process.env.RESP_PORT),
  connection: respHandler({
    execute: (args, conn) => command(args, conn.shutdown.aborted, log.record),
  }),
});
console.log(`ready ${http.runtime}`);

process.once("SIGTERM", async () => {
  const deadline = Deadline.after(gracePeriod);
  const [httpResult, respResult] = await Promise.all([
    http.shutdown(deadline.signal),
    resp.shutdown(deadline.signal),
  ]);
  log.close();
  console.log(`down http ${JSON.stringify(httpResult)} resp ${JSON.stringify(respResult)}`);
});
