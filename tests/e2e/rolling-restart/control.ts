// The control backend: the same service with no graceful shutdown at all,
// exiting at once on SIGTERM. The rolling-restart test must see it fail.
// H2C=1 serves HTTP as cleartext HTTP/2, as the backend does.

import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import process from "node:process";
import { WebSocketServer } from "ws";
import { joinChunks, parseCommands } from "../../../examples/resp.ts";
import { command, echo, executionLog, order, work } from "./service.ts";

const log = executionLog();

async function serveHttp(
  request: http.IncomingMessage | http2.Http2ServerRequest,
  response: http.ServerResponse | http2.Http2ServerResponse,
): Promise<void> {
  const url = new URL(request.url ?? "/", "http://localhost");
  let text = "not found\n", status = 404;
  if (url.pathname === "/healthz") text = "ok\n", status = 200;
  if (url.pathname === "/work") text = await work(url, log.record), status = 200;
  if (request.method === "POST" && url.pathname === "/order") {
    let body = "";
    for await (const chunk of request) body += chunk;
    text = await order(body, log.record), status = 200;
  }
  response.writeHead(status);
  response.end(text);
}
const web = process.env.H2C === "1"
  ? http2.createServer((request, response) => void serveHttp(request, response))
  : http.createServer((request, response) => void serveHttp(request, response));

async function serveConnection(socket: net.Socket): Promise<void> {
  let pending: Uint8Array = new Uint8Array(0);
  for await (const chunk of socket) {
    const buffer = joinChunks(pending, chunk);
    const { commands, used } = parseCommands(buffer);
    pending = buffer.subarray(used);
    let replies = "";
    for (const args of commands) {
      const reply = command(args, false, log.record);
      replies += typeof reply === "string" ? reply : await reply;
    }
    if (replies.length > 0) socket.write(replies);
  }
}

// HAProxy ends its health checks with a reset: that ends only that connection.
const resp = net.createServer((socket) =>
  void serveConnection(socket).catch(() => socket.destroy())
);

const wsApp = http.createServer((request, response) => {
  response.end(request.url === "/healthz" ? "ok\n" : "WebSockets only\n");
});
new WebSocketServer({ server: wsApp }).on("connection", (client) => {
  client.on("message", (data) => echo(client, String(data), log.record));
});

await new Promise<void>((resolve) =>
  web.listen(Number(process.env.HTTP_PORT), "127.0.0.1", resolve)
);
await new Promise<void>((resolve) =>
  wsApp.listen(Number(process.env.WS_PORT), "127.0.0.1", resolve)
);
await new Promise<void>((resolve) =>
  resp.listen(Number(process.env.RESP_PORT), "127.0.0.1", resolve)
);
console.log("ready control");
process.once("SIGTERM", () => process.exit(0));
