// Long-lived connections are in-flight work, never idle ones: WebSockets in
// { server } mode (the ws package) and through info.upgradeWebSocket, and
// response bodies still streaming at the deadline.

import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { WebSocket as WsClient, WebSocketServer } from "ws";
import { serveAndShutdown, type Server } from "../mod.ts";
import { within } from "./_client.ts";
import { fixture, runtime, test, type TestContext } from "./_harness.ts";
import { Child } from "./_process.ts";

const noUpgrade = runtime === "node"
  && "Node's fetch mode has no WebSocket upgrade: { server } with ws instead";

/** A { server } app with a ws echo server; `closeOnSignal` closes its clients with 1001. */
async function wsApp(t: TestContext, closeOnSignal: boolean): Promise<Server> {
  const app = http.createServer((_request, response) => response.end("http\n"));
  const wss = new WebSocketServer({ server: app });
  wss.on("connection", (client) => client.on("message", (data) => client.send(data)));
  const server = await serveAndShutdown({ server: app, hostname: "127.0.0.1", signals: false });
  t.cleanup(() => server.close());
  if (closeOnSignal) {
    server.signal.addEventListener("abort", () => {
      for (const client of wss.clients) client.close(1001, "going away");
    });
  }
  return server;
}

/** A connected client of the `ws` package whose close resolves `closed`. */
async function wsClient(port: number) {
  const client = new WsClient(`ws://127.0.0.1:${port}/`);
  const closed = new Promise<{ code: number; at: number }>((resolve) => {
    client.on("close", (code) => resolve({ code, at: performance.now() }));
    client.on("error", () => {});
  });
  await within(new Promise((resolve) => client.once("open", resolve)), "the WebSocket to open");
  const echoed = new Promise((resolve) => client.once("message", resolve));
  client.send("ping");
  assert.equal(String(await within(echoed, "the echo")), "ping");
  return { client, closed };
}

test("{ server } + ws: a socket the app closes on server.signal drains with 1001", async (t) => {
  const server = await wsApp(t, true);
  const { closed } = await wsClient(server.addr.port);
  const started = performance.now();
  const result = await server.shutdown(3_000);
  const { code, at } = await closed;
  assert.equal(code, 1001);
  assert.ok(at - started < 500, `closed after ${Math.round(at - started)} ms`);
  assert.equal(result.graceful, true);
  assert.equal(result.forced, 0);
  assert.equal(result.closedIdle, 0, "a WebSocket is never an idle connection");
  assert.equal(result.drained, 1);
});

test("{ server } + ws: a socket the app keeps open is forced at the deadline", async (t) => {
  const server = await wsApp(t, false);
  const { client, closed } = await wsClient(server.addr.port);
  const started = performance.now();
  const result = await server.shutdown(300);
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 290 && elapsed < 400, `resolved after ${Math.round(elapsed)} ms`);
  assert.deepEqual([result.graceful, result.closedIdle, result.forced], [false, 0, 1]);
  assert.equal((await closed).code, 1006);
  assert.equal(client.readyState, WsClient.CLOSED);
});

/** A fetch server whose WebSockets echo; `/plain` answers HTTP. */
async function upgradeApp(t: TestContext): Promise<Server> {
  const server = await serveAndShutdown({
    hostname: "127.0.0.1",
    signals: false,
    fetch(request, info) {
      if (request.headers.get("upgrade") !== "websocket") return new Response("plain\n");
      const { socket, response } = info.upgradeWebSocket(request);
      socket.addEventListener("message", (event) => socket.send((event as MessageEvent).data));
      return response;
    },
  });
  t.cleanup(() => server.close());
  return server;
}

test(
  "upgradeWebSocket: the client gets 1001 going away when the listener closes; drained",
  async (t) => {
    const server = await upgradeApp(t);
    const socket = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
    const closed = new Promise<CloseEvent>((resolve) => socket.addEventListener("close", resolve));
    await within(new Promise((resolve) => socket.addEventListener("open", resolve)), "open");
    const echoed = new Promise<MessageEvent>((resolve) =>
      socket.addEventListener("message", resolve)
    );
    socket.send("ping");
    assert.equal((await within(echoed, "the echo")).data, "ping");
    const result = await server.shutdown(3_000);
    const event = await within(closed, "the close");
    assert.equal(event.code, 1001);
    assert.deepEqual([result.graceful, result.drained, result.forced], [true, 1, 0]);
  },
  { skip: noUpgrade },
);

test(
  "upgradeWebSocket: a socket upgraded after the listener closed gets 1001 at once; drained",
  async (t) => {
    let handlerStarted!: () => void;
    const started = new Promise<void>((resolve) => handlerStarted = resolve);
    let releaseHandler!: () => void;
    const released = new Promise<void>((resolve) => releaseHandler = resolve);
    const server = await serveAndShutdown({
      hostname: "127.0.0.1",
      signals: false,
      async fetch(request, info) {
        handlerStarted();
        await released; // a handler slow to upgrade: the listener closes meanwhile
        return info.upgradeWebSocket(request).response;
      },
    });
    t.cleanup(() => server.close());
    const socket = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
    const closed = new Promise<CloseEvent>((resolve) => socket.addEventListener("close", resolve));
    await within(started, "the handler to start");
    const began = performance.now();
    const shutdown = server.shutdown(3_000); // with no drainDelay the listener closes now
    releaseHandler();
    const event = await within(closed, "the close");
    const closedAfter = performance.now() - began;
    assert.equal(event.code, 1001);
    assert.ok(closedAfter < 1_000, `closed after ${Math.round(closedAfter)} ms (deadline 3 s)`);
    const result = await shutdown;
    const elapsed = performance.now() - began;
    assert.ok(elapsed < 1_000, `resolved after ${Math.round(elapsed)} ms (deadline 3 s)`);
    assert.deepEqual(
      [result.graceful, result.drained, result.forced],
      [true, 1, 0],
      JSON.stringify(result),
    );
  },
  { skip: noUpgrade },
);

test("upgradeWebSocket: a peer that never answers the close does not hold shutdown", async (t) => {
  // Deno and Bun send the close frame and drop the connection at once: they
  // do not wait for the peer's close, so nothing is left for the deadline.
  const server = await upgradeApp(t);
  const peer = net.connect(server.addr.port, "127.0.0.1");
  t.cleanup(() => void peer.destroy());
  let received = "";
  const seen = (what: RegExp) =>
    new Promise<void>((resolve) => peer.on("data", () => what.test(received) && resolve()));
  // One character per byte, so the close frame's bytes can be matched.
  peer.on("data", (chunk: Uint8Array) => received += String.fromCharCode(...chunk));
  const gone = new Promise((resolve) => peer.on("close", resolve));
  peer.on("error", () => {});
  const upgraded = seen(/\r\n\r\n/);
  peer.write(
    "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
  await within(upgraded, "the 101");
  assert.match(received, /^HTTP\/1\.1 101/);
  const started = performance.now();
  const result = await server.shutdown(3_000);
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 200, `resolved after ${Math.round(elapsed)} ms`);
  assert.deepEqual([result.graceful, result.drained, result.forced], [true, 1, 0]);
  await within(gone, "the peer's connection to be closed");
  // The last frame is a close (0x88) whose code is 1001 (0x03e9); the reason
  // is lastcall's "going away", or Deno's own "Server shutting down".
  assert.match(received, /\x88[\s\S]\x03\xe9(going away|Server shutting down)$/);
}, { skip: noUpgrade });

test("upgradeWebSocket on Node's fetch mode is a TypeError that says to use ws", async (t) => {
  const server = await serveAndShutdown({
    hostname: "127.0.0.1",
    signals: false,
    fetch(request, info) {
      try {
        info.upgradeWebSocket(request);
        return new Response("upgraded");
      } catch (error) {
        return new Response(`${(error as Error).name}: ${(error as Error).message}`);
      }
    },
  });
  t.cleanup(() => server.close());
  const text = await (await fetch(`http://127.0.0.1:${server.addr.port}/`)).text();
  assert.match(text, /^TypeError: .*\{ server.*ws package/);
}, { skip: runtime !== "node" && "Deno and Bun upgrade in fetch mode" });

/** Streams from the endless_stream fixture, SIGTERM after the first chunk: the cut and the exit. */
async function cutAtDeadline(t: TestContext, env: Record<string, string>): Promise<void> {
  const child = new Child(fixture("endless_stream"), [], env);
  t.cleanup(() => void child.process.kill("SIGKILL"));
  const port = Number((await child.waitForOutput(/ready (\d+)/))[1]);
  let signalled = 0;
  const ended = new Promise<number>((resolve, reject) => {
    const request = http.get({ host: "127.0.0.1", port, agent: false }, (response) => {
      response.once("data", () => {
        child.signal("SIGTERM");
        signalled = performance.now();
      });
      response.on("end", () => resolve(performance.now()));
      response.on("error", () => resolve(performance.now()));
      response.on("aborted", () => resolve(performance.now()));
    });
    request.on("error", reject);
  });
  const cutAfter = (await within(ended, "the stream to end", 5_000)) - signalled;
  // gracePeriod is 500 ms.
  assert.ok(cutAfter >= 450 && cutAfter < 600, `cut ${Math.round(cutAfter)} ms after SIGTERM`);
  const exit = await child.exit(1_200);
  assert.equal(exit.code, 0, exit.stderr);
  assert.match(exit.stdout, /source cancelled/);
  assert.match(exit.stdout, /down \{"graceful":false/);
}

test(
  "a body streaming since before shutdown is cut at the deadline; the process exits 0",
  async (t) => {
    await cutAtDeadline(t, {});
  },
);

test(
  "Deno: a Response still keeps its inner body where lastcall tells a stream from a string",
  () => {
    // lastcall (src/runtime/deno/streamed_body.ts) wraps only stream bodies,
    // told apart by these internals; when they move, bodies begun before
    // shutdown can no longer be cut, and this names why.
    type Internals = Record<symbol, { body?: { streamOrStatic?: unknown } | null } | undefined>;
    const text = new Response("hello") as unknown as Internals;
    const stream = new Response(new ReadableStream()) as unknown as Internals;
    const key = Object.getOwnPropertySymbols(text).find((symbol) =>
      symbol.description === "response"
    );
    assert.ok(key, "no own symbol described \"response\" on a Response");
    assert.equal(text[key]?.body, null, "a string body is no longer kept outside the inner body");
    assert.ok(
      stream[key]?.body?.streamOrStatic instanceof ReadableStream,
      "a stream body is no longer at inner.body.streamOrStatic",
    );
  },
  { skip: runtime !== "deno" && "Deno's internals only" },
);

test("a streaming body whose request read info.shutdown is cut at the deadline", async (t) => {
  await cutAtDeadline(t, { READ_SIGNAL: "1" });
});

test(
  "upgradeWebSocket: info.shutdown of an open socket's request aborts when shutdown begins",
  async (t) => {
    const server = await serveAndShutdown({
      hostname: "127.0.0.1",
      signals: false,
      drainDelay: 200,
      fetch(request, info) {
        const { socket, response } = info.upgradeWebSocket(request);
        // Read after the upgrade completed: the request lives as long as its socket.
        socket.addEventListener("open", () => {
          info.shutdown.addEventListener("abort", () => socket.send("bye"), { once: true });
        });
        return response;
      },
    });
    t.cleanup(() => server.close());
    const socket = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
    const messages: string[] = [];
    socket.addEventListener("message", (event) => messages.push(String(event.data)));
    const closed = new Promise<CloseEvent>((resolve) => socket.addEventListener("close", resolve));
    await within(new Promise((resolve) => socket.addEventListener("open", resolve)), "open");
    const result = await server.shutdown(3_000);
    assert.equal((await within(closed, "the close")).code, 1001);
    assert.deepEqual(messages, ["bye"]);
    assert.equal(result.graceful, true);
  },
  { skip: noUpgrade },
);
