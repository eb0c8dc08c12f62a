// A NestJS app on lastcall, with the Express adapter (the default) or the
// Fastify one (NEST_ADAPTER=fastify): hand over `app.getHttpServer()` after
// `await app.init()`, instead of calling app.listen(). Do NOT call
// `app.enableShutdownHooks()`: Nest would answer SIGTERM itself, run
// onModuleDestroy at once (while requests are still in flight), close the
// server under lastcall and send SIGTERM to the process again, which lastcall
// takes as the second signal and forces (on Bun the in-flight request is
// lost). Instead, once the drain is over, `await app.close()` runs Nest's
// lifecycle hooks (onModuleDestroy, beforeApplicationShutdown,
// onApplicationShutdown), once each.
// On SIGTERM: every response carries `Connection: close`, idle keep-alive
// connections close, in-flight requests finish, the event stream ends and the
// gateway's WebSockets get close 1001 (server.signal aborts when shutdown
// begins), then Nest's hooks run and the process exits by itself. The
// gateway (@nestjs/platform-ws's WsAdapter, on the HTTP server's port) echoes
// each message.
//   node examples/nest.ts   |   NEST_ADAPTER=fastify node examples/nest.ts      (or bun)
// Written without decorator syntax, which Node's type stripping cannot run:
// each decorator is applied as the function it is. With `experimentalDecorators`
// in a compiled project, write `@Controller()`, `@Get("/")` and so on as usual.
// (`node` runs a .ts file from Node 22.18 on; on Node 20, compile it with tsc first.)

import "reflect-metadata";
import {
  Controller,
  Get,
  Injectable,
  type MessageEvent,
  Module,
  type OnApplicationShutdown,
  type OnModuleDestroy,
  Query,
  Sse,
} from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { FastifyAdapter } from "@nestjs/platform-fastify";
import { WsAdapter } from "@nestjs/platform-ws";
import { type OnGatewayConnection, WebSocketGateway, WebSocketServer } from "@nestjs/websockets";
import process from "node:process";
import { Observable } from "rxjs";
import type { WebSocket as WsSocket, WebSocketServer as WsServer } from "ws";
import { Deadline, serveAndShutdown } from "../mod.ts";

const logRequests = Boolean(process.env.LOG_REQUESTS);

class AppController {
  hello(): string {
    if (logRequests) console.log("request /");
    return "hello from Nest\n";
  }

  async slow(ms?: string): Promise<string> {
    if (logRequests) console.log("request /slow");
    // A Deadline's timer never keeps the process alive, should the deadline cut this request.
    const { signal } = Deadline.after(Number(ms ?? 1_000));
    if (!signal.aborted) await new Promise((resolve) => signal.addEventListener("abort", resolve));
    return "slow work done\n";
  }

  events(): Observable<MessageEvent> {
    if (logRequests) console.log("request /events");
    return new Observable((subscriber) => {
      subscriber.next({ data: "hello" });
      const end = () => {
        subscriber.next({ type: "bye", data: "server going away" });
        subscriber.complete();
      };
      if (server.signal.aborted) end();
      else server.signal.addEventListener("abort", end, { once: true });
      return () => server.signal.removeEventListener("abort", end);
    });
  }
}
Controller()(AppController);
Get("/")(AppController.prototype, "hello", describe(AppController.prototype, "hello"));
Get("slow")(AppController.prototype, "slow", describe(AppController.prototype, "slow"));
Query("ms")(AppController.prototype, "slow", 0);
Sse("events")(AppController.prototype, "events", describe(AppController.prototype, "events"));

/** A gateway on the HTTP server's port, at /ws: echoes what each client sends. */
class EchoGateway implements OnGatewayConnection {
  /** Set by Nest: the `ws` server behind the gateway. */
  wss!: WsServer;

  handleConnection(client: WsSocket): void {
    if (logRequests) console.log("request /ws");
    client.on("message", (data, isBinary) => client.send(data, { binary: isBinary }));
  }
}
WebSocketGateway({ path: "/ws" })(EchoGateway);
WebSocketServer()(EchoGateway.prototype, "wss");

/** Stands in for a provider that owns a resource: a database pool, a queue client. */
class Pool implements OnModuleDestroy, OnApplicationShutdown {
  onModuleDestroy(): void {
    console.log("nest cleanup: onModuleDestroy");
  }
  onApplicationShutdown(): void {
    console.log("nest cleanup: onApplicationShutdown");
  }
}
Injectable()(Pool);

class AppModule {}
Module({ controllers: [AppController], providers: [Pool, EchoGateway] })(AppModule);

function describe(target: object, key: string): PropertyDescriptor {
  return Object.getOwnPropertyDescriptor(target, key)!;
}

const fastify = process.env.NEST_ADAPTER === "fastify";
const app = fastify
  ? await NestFactory.create(AppModule, new FastifyAdapter(), { logger: false })
  : await NestFactory.create(AppModule, { logger: false });
app.useWebSocketAdapter(new WsAdapter(app));
await app.init();
// app.listen() would also make Fastify ready; without it, ask Fastify itself.
if (fastify) await app.getHttpAdapter().getInstance().ready();

const server = await serveAndShutdown({
  server: app.getHttpServer(),
  hostname: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 3000),
  gracePeriod: Number(process.env.GRACE_PERIOD ?? 10_000),
});
server.signal.addEventListener("abort", () => {
  console.log("nest shutting down");
  // lastcall counts each WebSocket as in flight until it closes.
  for (const client of app.get(EchoGateway).wss.clients) {
    client.close(1001, "server going away");
  }
});
console.log(`nest listening on ${server.addr.hostname}:${server.addr.port} (${server.runtime})`);

const result = await server.finished;
console.log(`nest drained: ${JSON.stringify(result)}`);
await app.close(); // Nest's lifecycle hooks: once, after the drain
if (!result.graceful) process.exitCode = 1; // something was cut at the deadline
