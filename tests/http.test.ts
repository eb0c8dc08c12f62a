import assert from "node:assert/strict";
import http from "node:http";
import { type HttpOptions, serveAndShutdown, type Server } from "../mod.ts";
import {
  acceptQueueEmpty,
  TestClient,
  trickleHeaders,
  waitForRefusal,
  waitUntil,
  within,
} from "./_client.ts";
import { fixture, runtime, test, type TestContext } from "./_harness.ts";
import { request, socketClosed } from "./_http_client.ts";
import { Child } from "./_process.ts";

/** Serves HTTP on 127.0.0.1 with no signal handlers; closed after the test. */
async function serve(
  t: TestContext,
  options: Partial<HttpOptions> & Pick<HttpOptions, "fetch">,
): Promise<Server> {
  const server = await serveAndShutdown({ hostname: "127.0.0.1", signals: false, ...options });
  t.cleanup(() => server.close());
  return server;
}

function keepAliveAgent(t: TestContext): http.Agent {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  t.cleanup(() => agent.destroy());
  return agent;
}

/** A gate the handler waits on; `started` resolves when a handler is waiting. */
function gate() {
  let open!: () => void;
  let started!: () => void;
  const opened = new Promise<void>((resolve) => open = resolve);
  const startedPromise = new Promise<void>((resolve) => started = resolve);
  return {
    opened,
    open: () => open(),
    started: startedPromise,
    markStarted: () => started(),
  };
}

test("http: serves a fetch handler: status, headers, several Set-Cookie, bodies", async (t) => {
  const server = await serve(t, {
    async fetch(request, info) {
      const headers = new Headers({
        "x-method": request.method,
        "x-port": String(info.remoteAddr.port),
      });
      headers.append("set-cookie", "a=1");
      headers.append("set-cookie", "b=2");
      const body = request.method === "POST" ? await request.text() : "hello";
      return new Response(body, { status: 201, headers });
    },
  });
  assert.equal(server.runtime, runtime);
  const agent = keepAliveAgent(t);
  const got = await request(agent, server.addr.port, "/");
  assert.equal(got.status, 201);
  assert.equal(got.body, "hello");
  assert.deepEqual(got.headers["set-cookie"], ["a=1", "b=2"]);
  assert.equal(got.headers["x-port"], String(got.socket.localPort));
  const posted = await request(agent, server.addr.port, "/", { method: "POST", body: "echo me" });
  assert.equal(posted.body, "echo me");
  const head = await request(agent, server.addr.port, "/", { method: "HEAD" });
  assert.equal(head.status, 201);
  assert.equal(head.body, "");
  assert.equal(head.headers["x-method"], "HEAD");
});

test("http: the handler gets a full web Request", async (t) => {
  const server = await serve(t, {
    async fetch(request) {
      const copy = request.clone();
      const url = new URL(request.url);
      return Response.json({
        isRequest: request instanceof Request,
        tag: Object.prototype.toString.call(request),
        method: request.method,
        path: url.pathname + url.search,
        host: url.host,
        header: request.headers.get("x-test"),
        both: request.headers.get("x-twice"),
        aborted: request.signal.aborted,
        json: request.method === "POST" ? await request.json() : null,
        copied: request.method === "POST" ? await copy.text() : null,
        bodyUsed: request.bodyUsed,
      });
    },
  });
  const agent = keepAliveAgent(t);
  const port = server.addr.port;
  const got = await request(agent, port, "/a/b?c=1", {
    method: "POST",
    body: "{\"n\":1}",
    headers: { "x-test": "yes", "x-twice": ["1", "2"] },
  });
  assert.deepEqual(JSON.parse(got.body), {
    isRequest: true,
    tag: "[object Request]",
    method: "POST",
    path: "/a/b?c=1",
    host: `127.0.0.1:${port}`,
    header: "yes",
    both: "1, 2",
    aborted: false,
    json: { n: 1 },
    copied: "{\"n\":1}",
    bodyUsed: true,
  });
  const plain = JSON.parse((await request(agent, port, "/x")).body);
  assert.equal(plain.method, "GET");
  assert.equal(plain.path, "/x");
  assert.equal(plain.json, null);
});

test("http: an HTTP/1.0 request without Host, as HAProxy's health check sends, is served", async (t) => {
  const server = await serve(t, {
    health: "/healthz",
    fetch: (request) => new Response(`path ${new URL(request.url).pathname}`),
  });
  for (const [path, expected] of [["/healthz", "ok"], ["/echo?x=1", "path /echo"]]) {
    const client = await TestClient.connect(server.addr.port);
    t.cleanup(() => client.socket.destroy());
    client.send(`GET ${path} HTTP/1.0\r\n\r\n`);
    await client.waitClosed();
    assert.match(client.text, /^HTTP\/1\.[01] 200 /, client.text.slice(0, 200));
    assert.ok(client.text.includes(`\r\n\r\n${expected}`), client.text.slice(-200));
  }
});

test("http: request and response bodies stream, chunk by chunk", async (t) => {
  const server = await serve(t, {
    fetch(request) {
      // Echo the request body as it arrives, upper-cased.
      const upper = new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          controller.enqueue(
            new TextEncoder().encode(new TextDecoder().decode(chunk).toUpperCase()),
          );
        },
      });
      return new Response(request.body!.pipeThrough(upper));
    },
  });
  const agent = keepAliveAgent(t);
  let firstChunk: () => void;
  const sawFirstChunk = new Promise<void>((resolve) => firstChunk = resolve);
  const req = http.request({
    host: "127.0.0.1",
    port: server.addr.port,
    method: "POST",
    agent,
    headers: { "transfer-encoding": "chunked" },
  });
  let body = "";
  const done = new Promise<void>((resolve, reject) => {
    req.on("response", (response) => {
      response.setEncoding("utf8");
      response.on("data", (chunk) => {
        body += chunk;
        firstChunk();
      });
      response.on("end", resolve);
      response.on("error", reject);
    });
    req.on("error", reject);
  });
  req.write("first ");
  // The reply to the first chunk arrives before the request body is complete.
  await sawFirstChunk;
  assert.equal(body, "FIRST ");
  req.end("second");
  await done;
  assert.equal(body, "FIRST SECOND");
});

test("http: Request.signal aborts when the client goes away", async (t) => {
  const waiting = gate();
  let aborted!: () => void;
  const sawAbort = new Promise<void>((resolve) => aborted = resolve);
  const server = await serve(t, {
    fetch(request) {
      request.signal.addEventListener("abort", () => aborted(), { once: true });
      waiting.markStarted();
      return new Promise<Response>((resolve) => {
        request.signal.addEventListener("abort", () => resolve(new Response("late")));
      });
    },
  });
  const req = http.request({ host: "127.0.0.1", port: server.addr.port, path: "/" });
  req.on("error", () => {});
  req.end();
  await waiting.started;
  req.destroy();
  await within(sawAbort, "Request.signal to abort");
});

test("http: a handler that throws answers 500 and is reported to onError", async (t) => {
  const errors: unknown[] = [];
  const server = await serve(t, {
    fetch(request) {
      if (request.url.endsWith("/boom")) throw new Error("boom");
      return new Response("fine");
    },
    onError: (error, context) => errors.push([error, context.request?.url]),
  });
  const agent = keepAliveAgent(t);
  const failed = await request(agent, server.addr.port, "/boom");
  assert.equal(failed.status, 500);
  assert.equal(errors.length, 1);
  assert.equal(((errors[0] as unknown[])[0] as Error).message, "boom");
  assert.match((errors[0] as unknown[])[1] as string, /\/boom$/);
  assert.equal((await request(agent, server.addr.port, "/")).body, "fine");
});

test("http: idle keep-alive connections are closed when shutdown begins", async (t) => {
  const server = await serve(t, { fetch: () => new Response("ok") });
  const agent = keepAliveAgent(t);
  const results = await Promise.all([1, 2, 3].map(() => request(agent, server.addr.port, "/")));
  const sockets = new Set(results.map((result) => result.socket));
  assert.ok(sockets.size >= 1);
  const result = await server.shutdown(5_000);
  for (const socket of sockets) await socketClosed(socket, 2_000);
  assert.equal(result.graceful, true);
  if (runtime === "node") assert.equal(result.closedIdle, sockets.size);
});

test("http: an in-flight response completes with Connection: close", async (t) => {
  const slow = gate();
  const server = await serve(t, {
    async fetch(request) {
      if (request.url.endsWith("/slow")) {
        slow.markStarted();
        await slow.opened;
      }
      return new Response("done");
    },
  });
  const agent = keepAliveAgent(t);
  const idle = await request(agent, server.addr.port, "/");
  const inFlight = request(agent, server.addr.port, "/slow");
  await slow.started;
  const shutdown = server.shutdown(10_000);
  slow.open();
  const got = await inFlight;
  assert.equal(got.body, "done");
  assert.equal(got.headers.connection, "close");
  await socketClosed(got.socket);
  await socketClosed(idle.socket);
  const result = await shutdown;
  assert.equal(result.graceful, true);
  assert.equal(result.drained, 1);
});

test("http: new connections are refused once the listener closes", async (t) => {
  const slow = gate();
  const server = await serve(t, {
    async fetch() {
      slow.markStarted();
      await slow.opened;
      return new Response("done");
    },
  });
  const agent = keepAliveAgent(t);
  const inFlight = request(agent, server.addr.port, "/");
  await slow.started;
  const shutdown = server.shutdown(10_000);
  assert.equal(await waitForRefusal(server.addr.port), "ECONNREFUSED");
  slow.open();
  assert.equal((await inFlight).body, "done");
  await shutdown;
});

test("http: a handler that never settles is forced at the deadline", async (t) => {
  const stuck = gate();
  const server = await serve(t, {
    fetch() {
      stuck.markStarted();
      return new Promise<Response>(() => {});
    },
  });
  const agent = keepAliveAgent(t);
  const outcome = request(agent, server.addr.port, "/").then(
    (result) => `status ${result.status}`,
    (error) => `error ${error.code ?? error.message}`,
  );
  await stuck.started;
  const began = performance.now();
  const result = await server.shutdown(300);
  const took = performance.now() - began;
  assert.ok(took >= 290 && took < 3_000, `resolved at the deadline (${took} ms)`);
  assert.equal(result.graceful, false);
  assert.ok(result.forced >= 1);
  // Deno cannot sever the connection: the handler is answered with a 503.
  const seen = await outcome;
  if (runtime === "deno") assert.equal(seen, "status 503");
  else assert.match(seen, /^error /);
});

test("http: a streaming body still running at the deadline is cut", async (t) => {
  const streaming = gate();
  const server = await serve(t, {
    drainDelay: 100,
    fetch() {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode("first chunk\n"));
          streaming.markStarted();
        },
      });
      return new Response(body);
    },
  });
  // The stream begins during drainDelay: on Deno only bodies sent after
  // shutdown began can be cut (see README), on Node and Bun any can.
  const shutdown = server.shutdown(400);
  const agent = keepAliveAgent(t);
  const outcome = request(agent, server.addr.port, "/").then(
    () => "complete",
    (error) => `cut: ${error.code ?? error.message}`,
  );
  await streaming.started;
  const result = await shutdown;
  assert.equal(result.graceful, false);
  assert.ok(result.forced >= 1);
  assert.match(await outcome, /^cut/);
});

test("http: health answers 503 and the listener stays open during drainDelay", async (t) => {
  const server = await serve(t, {
    health: "/healthz",
    drainDelay: 300,
    fetch: () => new Response("ok"),
  });
  const agent = keepAliveAgent(t);
  const before = await request(agent, server.addr.port, "/healthz");
  assert.equal(before.status, 200);
  const head = await request(agent, server.addr.port, "/healthz", { method: "HEAD" });
  assert.equal(head.status, 200);
  const shutdown = server.shutdown(5_000);
  assert.equal(server.ready, false);
  // A new connection during the delay: health says 503, work is still served.
  const fresh = new http.Agent({ keepAlive: true });
  t.cleanup(() => fresh.destroy());
  const during = await request(fresh, server.addr.port, "/healthz");
  assert.equal(during.status, 503);
  const work = await request(fresh, server.addr.port, "/work");
  assert.equal(work.status, 200);
  assert.equal(work.headers.connection, "close");
  const result = await shutdown;
  assert.ok(result.ms >= 300, `ms includes drainDelay (${result.ms})`);
});

test("http: Server-Sent Events end themselves through RequestInfo.shutdown", async (t) => {
  const subscribed = gate();
  const server = await serve(t, {
    fetch(_request, info) {
      const encoder = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(encoder.encode("data: hello\n\n"));
          subscribed.markStarted();
          info.shutdown.addEventListener("abort", () => {
            controller.enqueue(encoder.encode("event: bye\ndata: server going away\n\n"));
            controller.close();
          }, { once: true });
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    },
  });
  const agent = keepAliveAgent(t);
  const events = request(agent, server.addr.port, "/events");
  await subscribed.started;
  const result = await server.shutdown(10_000);
  const got = await events;
  assert.equal(got.body, "data: hello\n\nevent: bye\ndata: server going away\n\n");
  assert.equal(result.graceful, true);
});

test("http: a port in use rejects with EADDRINUSE", async (t) => {
  const server = await serve(t, { fetch: () => new Response("ok") });
  await assert.rejects(
    serveAndShutdown({
      hostname: "127.0.0.1",
      port: server.addr.port,
      fetch: () => new Response(),
    }),
    (error: NodeJS.ErrnoException) => error.code === "EADDRINUSE",
  );
});

test("http: a connection that never sends a request is closed at listener close", async (t) => {
  const server = await serve(t, { fetch: () => new Response("ok") });
  const silent = await TestClient.connect(server.addr.port);
  await acceptQueueEmpty(server.addr.port);
  const result = await server.shutdown(2_000);
  const ending = await silent.waitClosed(3_000);
  assert.equal(ending.error, undefined);
  assert.equal(result.graceful, true);
}, {
  skip: runtime === "bun"
    && "Bun 1.4.5: Bun.serve never accepts a connection that sent no request (deferred accept, SYN-RECV), so there is nothing to close; see docs/runtimes.md",
});

/**
 * A bounded 2-second keep-alive load (8 client loops) with shutdown called in
 * the middle; counts completed requests, connections refused or reset before
 * a request was read, requests sent on a kept-alive socket as the server
 * closed it (the HTTP/1.1 race; they never reached a handler), and other
 * failures. `mode` "server" serves the same app from a node:http server.
 */
async function loadWithShutdown(t: TestContext, drainDelay: number, mode: "fetch" | "server") {
  const handled = new Set<string>();
  // Each loop reuses its connection within milliseconds; a grace well above
  // that keeps a loop delayed by a busy machine from counting as quiet.
  const idleGrace = 1_000;
  const server = mode === "fetch"
    ? await serve(t, {
      drainDelay,
      idleGrace,
      async fetch(request) {
        const id = request.headers.get("x-id")!;
        handled.add(id);
        await new Promise((resolve) => setTimeout(resolve, 2));
        return new Response(`done ${id}`);
      },
    })
    : await serveAndShutdown({
      hostname: "127.0.0.1",
      signals: false,
      drainDelay,
      idleGrace,
      server: http.createServer((request, response) => {
        const id = String(request.headers["x-id"]);
        handled.add(id);
        setTimeout(() => response.end(`done ${id}`), 2);
      }),
    });
  if (mode === "server") t.cleanup(() => server.close());
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  t.cleanup(() => agent.destroy());
  const outcomes = { completed: 0, refused: 0, race: 0, failed: 0 };
  const completed = new Set<string>();
  const progress = new Set<() => void>();
  let next = 0;
  let stop = false;
  const until = performance.now() + 2_000;
  const loop = async () => {
    while (!stop && performance.now() < until) {
      const id = String(next++);
      try {
        const got = await request(agent, server.addr.port, "/", { headers: { "x-id": id } });
        if (got.body === `done ${id}`) {
          completed.add(id);
          outcomes.completed++;
          progress.forEach((wake) => wake());
        } else outcomes.failed++;
      } catch (error) {
        const { code, reusedSocket } = error as NodeJS.ErrnoException & { reusedSocket?: boolean };
        if (handled.has(id)) outcomes.failed++;
        else if (reusedSocket) outcomes.race++;
        else {
          outcomes.refused++; // a fresh connection refused, or reset in the closing backlog
          if (code === "ECONNREFUSED") stop = true; // the server is gone, as a client would fail over
        }
      }
    }
  };
  const loops = Array.from({ length: 8 }, loop);
  await waitUntil("some load", () => outcomes.completed >= 200, (wake) => {
    progress.add(wake);
    return () => progress.delete(wake);
  });
  const result = await server.shutdown(5_000);
  await Promise.all(loops);
  console.log(
    `     load on ${runtime} ${mode}, drainDelay ${drainDelay}: ${
      JSON.stringify(outcomes)
    }, shutdown ${JSON.stringify(result)}`,
  );
  for (const id of handled) {
    assert.ok(completed.has(id), `request ${id} reached a handler but got no response`);
  }
  assert.equal(outcomes.failed, 0);
  assert.equal(result.forced, 0);
  return outcomes;
}

// Bun closes idle keep-alive connections itself as its listener closes
// (Bun.serve's stop(), its node:http server's close()): a request sent on one
// at that moment is lost, unexecuted (measured: 2-8 a shutdown).
const bunClosesIdle = (mode: "fetch" | "server") =>
  runtime === "bun" && `Bun closes idle keep-alive connections itself (${mode} mode)`;

for (const mode of ["fetch", "server"] as const) {
  test(
    `http (${mode}): no request sent during shutdown is lost under keep-alive load, drainDelay 0`,
    async (t) => {
      const outcomes = await loadWithShutdown(t, 0, mode);
      // A request on an idle kept-alive connection within its idle grace is
      // answered with Connection: close, not reset (closed idle only once quiet).
      if (!bunClosesIdle(mode)) assert.equal(outcomes.race, 0);
    },
  );

  test(
    `http (${mode}): with drainDelay, Connection: close retires keep-alive sockets before the close`,
    async (t) => {
      const outcomes = await loadWithShutdown(t, 200, mode);
      // Clients saw Connection: close on every response for 200 ms and retired
      // their sockets themselves, so none was closed under a request in flight.
      assert.equal(outcomes.race, 0);
    },
  );
}

test("http: a handler that settles after the deadline forced it throws nothing; exit 0", async (t) => {
  const child = new Child(fixture("late_handler"));
  t.cleanup(() => void child.process.kill("SIGKILL"));
  const port = Number((await child.waitForOutput(/ready (\d+)/))[1]);
  const answer = await fetch(`http://127.0.0.1:${port}/work`).then(
    async (response) => `${response.status} ${await response.text()}`,
    (error: Error) => `cut: ${error.message}`,
  );
  // Deno answers the forced request with the 503; Node and Bun cut it.
  assert.match(answer, /^(503 |cut: )/);
  const exit = await child.exit();
  assert.equal(exit.code, 0, exit.stderr);
  assert.match(exit.stdout, /down \{"graceful":false,"closedIdle":0,"drained":0,"forced":1/);
  assert.match(exit.stdout, /late/);
  assert.doesNotMatch(exit.stdout + exit.stderr, /unhandled|Uncaught|Request closed/);
});

test(
  "http on Bun: a silent connection holds nothing; the process exits and the client is reset on its first byte",
  async (t) => {
    const child = new Child(fixture("serve_until_sigterm"));
    t.cleanup(() => void child.process.kill("SIGKILL"));
    const port = Number((await child.waitForOutput(/ready (\d+)/))[1]);
    const silent = await TestClient.connect(port);
    const signalled = performance.now();
    child.signal("SIGTERM");
    const exit = await child.exit(3_000);
    const tookMs = performance.now() - signalled;
    assert.equal(exit.code, 0, exit.stderr);
    assert.ok(tookMs < 1_000, `exited ${Math.round(tookMs)} ms after SIGTERM`);
    assert.match(exit.stdout, /down \{"graceful":true/);
    // Bun.serve never accepted it (deferred accept): its first byte meets no one.
    silent.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const ending = await silent.waitClosed(3_000);
    assert.equal(ending.error, "ECONNRESET");
    assert.equal(ending.bytes, 0);
  },
  { skip: runtime !== "bun" && "what Bun.serve does with a connection it never accepted" },
);

test(
  "http: pipelined requests: every request whose handler ran is answered, the last with Connection: close",
  async (t) => {
    const executed: string[] = [];
    const slow = gate();
    const server = await serve(t, {
      async fetch(request) {
        const path = new URL(request.url).pathname;
        executed.push(path);
        if (path === "/slow") {
          slow.markStarted();
          await slow.opened;
        }
        return new Response(`${path} done\n`);
      },
    });
    const client = await TestClient.connect(server.addr.port);
    client.send(
      "GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    await slow.started;
    const result = server.shutdown(3_000);
    slow.open();
    await client.waitClosed();
    await result;
    const responses = client.text.split(/(?=HTTP\/1\.1 )/).filter(Boolean);
    assert.equal(responses.length, executed.length, `executed ${executed}; got ${client.text}`);
    responses.forEach((response, i) => {
      assert.match(response, new RegExp(`${executed[i]} done`));
      const closes = /\r\nconnection: close\r\n/i.test(response);
      assert.equal(closes, i === responses.length - 1, `Connection: close on response ${i + 1}`);
    });
  },
  {
    skip: runtime === "bun"
      && "Bun.serve 1.4.5 answers no pipelined request, not even the first, when a handler awaits a later task (docs/runtimes.md)",
  },
);

test("http: a client trickling its headers is closed within idleGrace, its handler never run", async (t) => {
  let handled = 0;
  const server = await serve(t, {
    fetch: () => {
      handled++;
      return new Response("ok");
    },
  });
  const client = await trickleHeaders(t, server.addr.port);
  const started = performance.now();
  const result = await server.shutdown(3_000);
  await client.waitClosed(1_000);
  assert.ok(
    performance.now() - started < 500,
    `took ${Math.round(performance.now() - started)} ms`,
  );
  assert.equal(handled, 0);
  assert.equal(result.forced, 0);
});
