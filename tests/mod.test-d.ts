// Type tests against the built declarations npm users get (dist/mod.d.ts).
import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import net from "node:net";
import { expectAssignable, expectError, expectNotAssignable, expectType } from "tsd";
import {
  type Conn,
  type ConnState,
  CountDown,
  Deadline,
  type HttpOptions,
  type NodeServerOptions,
  serveAndShutdown,
  type Server,
  type ShutdownResult,
  type TcpOptions,
  type TrackedConn,
  Tracker,
} from "../dist/mod.js";

const deadline = Deadline.after(1_000);
expectType<Deadline>(Deadline.after(1_000, { signal: new AbortController().signal }));
expectType<Deadline>(Deadline.at(Date.now()));
expectType<Deadline>(Deadline.at(new Date()));
expectType<AbortSignal>(deadline.signal);
expectType<number>(deadline.time);
expectType<number>(deadline.remaining());
expectType<boolean>(deadline.expired);
expectAssignable<Disposable>(deadline);
expectError(Deadline.after("10"));
expectError(Deadline.at("2026-01-01"));
expectError(Deadline.after(10, { signal: "x" }));
expectError(deadline.time = 1);

const pending = new CountDown();
expectType<CountDown>(new CountDown(2));
expectType<number>(pending.count);
expectType<void>(pending.add());
expectType<void>(pending.add(-1));
expectType<void>(pending.done());
expectType<Promise<void>>(pending.wait());
expectType<Promise<void>>(pending.wait(deadline.signal));
expectType<Promise<string>>(pending.track(Promise.resolve("x")));
expectType<Promise<number>>(pending.track(async () => 1));
expectError(pending.add("1"));
expectError(pending.wait("signal"));
expectError(pending.count = 1);

// serveAndShutdown: exactly one mode, checked at compile time.
const handler = (_request: Request) => new Response("ok");
const tcp = async (conn: Conn) => {
  for await (const chunk of conn) await conn.write(chunk);
};
expectType<Promise<Server>>(serveAndShutdown({ fetch: handler }));
expectType<Promise<Server>>(serveAndShutdown({ fetch: handler, health: "/healthz", port: 0 }));
expectType<Promise<Server>>(serveAndShutdown({ connection: tcp, idleGrace: 50 }));
expectType<Promise<Server>>(serveAndShutdown({ server: http.createServer(), signals: false }));
expectType<Promise<Server>>(serveAndShutdown({ server: net.createServer(), health: "/healthz" }));
expectType<Promise<Server>>(serveAndShutdown({ server: http2.createSecureServer() }));
expectError(serveAndShutdown({ server: {} }));
expectError(serveAndShutdown({ server: http.createServer(), tls: { cert: "", key: "" } }));
expectType<Promise<Server>>(serveAndShutdown({ fetch: handler, tls: { cert: "", key: "" } }));
expectType<Promise<Server>>(serveAndShutdown({ connection: tcp, tls: { cert: "", key: "" } }));
expectError(serveAndShutdown({ fetch: handler, tls: { cert: "" } }));
expectError(serveAndShutdown({ server: Object.assign(() => {}, { listen() {} }) }));
expectError(serveAndShutdown({ fetch: handler, gracePeriodMs: 10 }));
expectError(serveAndShutdown({ fetch: handler, connection: tcp }));
expectError(serveAndShutdown({ fetch: handler, server: http.createServer() }));
expectError(serveAndShutdown({ connection: tcp, server: http.createServer() }));
expectError(serveAndShutdown({ connection: tcp, health: "/healthz" }));
expectError(serveAndShutdown({ port: 0 }));
expectError(serveAndShutdown({ fetch: handler, port: "80" }));
expectError(serveAndShutdown({ fetch: handler, gracePeriod: "10s" }));
expectError(serveAndShutdown({ fetch: handler, signals: "SIGTERM" }));
expectAssignable<HttpOptions>({ fetch: handler, drainDelay: 1_000 });
expectAssignable<TcpOptions>({ connection: tcp });
expectAssignable<NodeServerOptions>({ server: https.createServer() });
expectNotAssignable<TcpOptions>({ connection: tcp, fetch: handler });

// Server.
declare const server: Server;
expectType<{ hostname: string; port: number }>(server.addr);
expectType<"node" | "deno" | "bun">(server.runtime);
expectType<boolean>(server.ready);
expectType<Promise<ShutdownResult>>(server.shutdown());
expectType<Promise<ShutdownResult>>(server.shutdown(5_000));
expectType<Promise<ShutdownResult>>(server.shutdown(deadline.signal));
expectType<Promise<void>>(server.close());
expectType<Promise<ShutdownResult>>(server.finished);
expectAssignable<AsyncDisposable>(server);
expectError(server.shutdown("5s"));
expectError(server.ready = false);

// Conn.
declare const conn: Conn;
expectType<Promise<void>>(conn.write("+OK\r\n"));
expectType<Promise<void>>(conn.write(new Uint8Array(1)));
expectType<void>(conn.close());
expectType<void>(conn.active());
expectType<void>(conn.idle());
expectType<ConnState>(conn.state);
expectType<AbortSignal>(conn.shutdown);
expectType<{ hostname: string; port: number }>(conn.remoteAddr);
expectAssignable<AsyncIterable<Uint8Array>>(conn);
expectError(conn.write(42));

// Tracker.
const tracker = new Tracker({ onStateChange: (_conn, from, to) => void [from, to] });
const tracked = tracker.track({ close() {} });
expectType<TrackedConn>(tracked);
expectType<ConnState>(tracked.state);
expectType<number>(tracker.size);
expectType<number>(tracker.count("idle"));
expectType<boolean>(tracker.draining);
expectType<number>(tracker.closeIdle());
expectType<number>(tracker.close());
expectType<Promise<ShutdownResult>>(tracker.shutdown());
expectType<Promise<ShutdownResult>>(tracker.shutdown(deadline.signal));
expectError(tracker.track({}));
expectError(tracker.count("busy"));
expectError(tracker.shutdown(1_000));
expectError(new Tracker({ onStateChange: "log" }));
