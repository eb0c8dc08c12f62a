// A WebSocket echo server with info.upgradeWebSocket (Deno's API), the same
// file on Deno and Bun. lastcall tracks each socket: when the listener
// closes, every socket the app has not closed gets close 1001 "going away",
// and the result counts them.
//   deno run -A examples/websocket-echo.ts   |   bun examples/websocket-echo.ts
// (Node's fetch mode has no upgrade: see examples/ws.ts for Node.)

import process from "node:process";
import { serveAndShutdown } from "../mod.ts";

const server = await serveAndShutdown({
  hostname: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 3000),
  gracePeriod: 10_000,
  fetch(request, info) {
    if (request.headers.get("upgrade") !== "websocket") {
      return new Response("connect with a WebSocket client\n", { status: 426 });
    }
    const { socket, response } = info.upgradeWebSocket(request);
    socket.addEventListener("message", (event) => {
      // Once shutdown began, answer nothing: the runtime drops the socket
      // right after its close frame, so the client resends elsewhere instead.
      if (!info.shutdown.aborted) socket.send((event as MessageEvent).data);
    });
    return response;
  },
});
console.log(`echo listening on ${server.addr.hostname}:${server.addr.port} (${server.runtime})`);
console.log(`echo down: ${JSON.stringify(await server.finished)}`);
