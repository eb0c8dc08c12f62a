// A backend on lastcall: HTTP on $HTTP_PORT (/work, /healthz through the
// health option), the Redis protocol on $RESP_PORT and a WebSocket echo on
// $WS_PORT (Node: { server } with the ws package, closing its clients on
// server.signal; Deno and Bun: info.upgradeWebSocket), shut down together on
// SIGTERM with $DRAIN_DELAY ms of failing health checks first.

import nodeHttp from "node:http";
import process from "node:process";
import { WebSocketServer } from "ws";
import { respHandler } from "../../../examples/resp.ts";
import { Deadline, serveAndShutdown, type Server } from "../../../mod.ts";
import { command, echo, executionLog, work } from "./service.ts";

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
async function webSockets(port: number): Promise<Server> {
  if (http.runtime === "node") {
    const app = nodeHttp.createServer((_request, response) => response.end("WebSockets only\n"));
    const sockets = new WebSocketServer({ server: app });
    const server = await serveAndShutdown({ ...common, port, server: app, health: "/healthz" });
    sockets.on("connection", (client) => {
      if (server.signal.aborted) return client.close(1001, "going away");
      client.on("message", (data) => echo(client, String(data), log.record));
    });
    server.signal.addEventListener("abort", () => {
      for (const client of sockets.clients) client.close(1001, "going away");
    });
    return server;
  }
  return await serveAndShutdown({
    ...common,
    port,
    health: "/healthz",
    fetch(request, info) {
      if (request.headers.get("upgrade") !== "websocket") {
        return new Response("WebSockets only\n", { status: 426 });
      }
      const { socket, response } = info.upgradeWebSocket(request);
      socket.addEventListener("message", (event) => {
        echo(socket, String((event as MessageEvent).data), log.record, info.shutdown.aborted);
      });
      return response;
    },
  });
}
const ws = await webSockets(Number(process.env.WS_PORT));
console.log(`ready ${http.runtime}`);

process.once("SIGTERM", async () => {
  const deadline = Deadline.after(gracePeriod);
  const [httpResult, respResult, wsResult] = await Promise.all([
    http.shutdown(deadline.signal),
    resp.shutdown(deadline.signal),
    ws.shutdown(deadline.signal),
  ]);
  log.close();
  console.log(
    `down http ${JSON.stringify(httpResult)} resp ${JSON.stringify(respResult)} ws ${
      JSON.stringify(wsResult)
    }`,
  );
});
