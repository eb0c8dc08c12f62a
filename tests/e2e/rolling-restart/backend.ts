// A backend on lastcall: HTTP on $HTTP_PORT (GET /work, POST /order, /healthz
// through the health option; with H2C=1 cleartext HTTP/2 instead of HTTP/1.1:
// node:http2 as { server } on Node and Bun, Deno.serve's own h2c on Deno),
// the Redis protocol on $RESP_PORT and a WebSocket echo on $WS_PORT (Node:
// { server } with the ws package, closing its clients on server.signal; Deno
// and Bun: info.upgradeWebSocket), shut down together on SIGTERM with
// $DRAIN_DELAY ms of failing health checks first.

import diagnostics from "node:diagnostics_channel";
import { appendFileSync } from "node:fs";
import nodeHttp from "node:http";
import http2 from "node:http2";
import process from "node:process";
import { WebSocketServer } from "ws";
import { respHandler } from "../../../examples/resp.ts";
import { Deadline, serveAndShutdown, type Server } from "../../../mod.ts";
import { command, echo, executionLog, order, work } from "./service.ts";

const log = executionLog();

// $ACCEPT_LOG (E2E_DEBUG): each connection the process accepts, with its
// client's port, to tell a connection reset from the kernel's accept queue
// (never accepted) from one the server closed. Node's own channel; Deno and
// Bun do not publish it.
const acceptLog = process.env.ACCEPT_LOG;
if (acceptLog) {
  diagnostics.subscribe("net.server.socket", (message) => {
    const { socket } = message as { socket: { localPort?: number; remotePort?: number } };
    appendFileSync(acceptLog, `${Date.now()} ${socket.localPort} ${socket.remotePort}\n`);
  });
}
const drainDelay = Number(process.env.DRAIN_DELAY ?? 1_000);
const gracePeriod = Number(process.env.GRACE_PERIOD ?? 10_000);
const common = { hostname: "127.0.0.1", signals: false, drainDelay } as const;

/** The HTTP routes, for the fetch handler and for node:http2 alike. */
async function route(method: string, url: URL, body: () => Promise<string>) {
  if (method === "POST" && url.pathname === "/order") {
    return { status: 200, text: await order(await body(), log.record) };
  }
  if (url.pathname === "/work") return { status: 200, text: await work(url, log.record) };
  return { status: 404, text: "not found\n" };
}

async function httpServer(port: number): Promise<Server> {
  const h2c = process.env.H2C === "1";
  if (h2c && !("Deno" in globalThis)) {
    const app = http2.createServer((request, response) => {
      const url = new URL(request.url, "http://localhost");
      const body = async () => {
        let text = "";
        for await (const chunk of request) text += chunk;
        return text;
      };
      void route(request.method, url, body).then(({ status, text }) => {
        response.writeHead(status).end(text);
      });
    });
    return await serveAndShutdown({ ...common, port, server: app, health: "/healthz" });
  }
  return await serveAndShutdown({
    ...common,
    port,
    health: "/healthz",
    async fetch(request) {
      const { status, text } = await route(
        request.method,
        new URL(request.url),
        () => request.text(),
      );
      return new Response(text, { status });
    },
  });
}
const http = await httpServer(Number(process.env.HTTP_PORT));

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
  if (acceptLog) appendFileSync(acceptLog, `${Date.now()} SIGTERM\n`);
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
