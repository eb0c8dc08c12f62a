// Streaming responses and RequestInfo.shutdown: a client that leaves cancels
// its body, and each request's shutdown signal is its own, forgotten once the
// request is over.

import assert from "node:assert/strict";
import http from "node:http";
import process from "node:process";
import { type HttpOptions, serveAndShutdown, type Server } from "../mod.ts";
import { counter, waitUntil } from "./_client.ts";
import { example, test, type TestContext } from "./_harness.ts";
import { Child } from "./_process.ts";

const encoder = new TextEncoder();

async function serve(t: TestContext, fetch: HttpOptions["fetch"]): Promise<Server> {
  const server = await serveAndShutdown({ hostname: "127.0.0.1", signals: false, fetch });
  t.cleanup(() => server.close());
  return server;
}

/** An endless event stream: one event at once, then nothing until cancelled. */
function eventStream(onCancel: () => void): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode("data: hello\n\n"));
    },
    cancel: onCancel,
  });
}

/** Opens a stream, reads its first chunk, and returns a way to leave. */
function subscribe(port: number, path = "/events"): Promise<{ leave: () => void }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: "127.0.0.1", port, path, agent: false }, (response) => {
      response.once("data", () => resolve({ leave: () => request.destroy() }));
    });
    request.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "ECONNRESET") reject(error);
    });
  });
}

test("http: a client that leaves cancels its response body (15 SSE clients)", async (t) => {
  const cancelled = counter();
  const server = await serve(t, () => new Response(eventStream(() => cancelled.hit())));
  const clients = await Promise.all(Array.from({ length: 15 }, () => subscribe(server.addr.port)));
  assert.equal(cancelled.calls, 0);
  for (const client of clients) client.leave();
  await cancelled.reach(15, "every body's cancel() to run");
});

test("http: info.shutdown is one signal per request, aborted when shutdown begins", async (t) => {
  const signals: AbortSignal[] = [];
  const aborted = counter();
  const server = await serve(t, (_request, info) => {
    signals.push(info.shutdown);
    assert.equal(info.shutdown, signals.at(-1), "the same signal on every read");
    info.shutdown.addEventListener("abort", () => aborted.hit(), { once: true });
    return new Response(eventStream(() => {}));
  });
  const clients = await Promise.all(Array.from({ length: 3 }, () => subscribe(server.addr.port)));
  assert.equal(new Set(signals).size, 3);
  const result = server.shutdown(500);
  await aborted.reach(3, "every live request's signal to abort");
  assert.ok(signals.every((signal) => signal.aborted));
  clients.forEach((client) => client.leave());
  await result;
});

test("http: a request that ended before shutdown never sees its signal abort", async (t) => {
  const cancelled = counter();
  let gone: AbortSignal | undefined;
  let live: AbortSignal | undefined;
  const server = await serve(t, (request, info) => {
    const stream = request.url.endsWith("/gone")
      ? eventStream(() => cancelled.hit())
      : eventStream(() => {});
    if (request.url.endsWith("/gone")) gone = info.shutdown;
    else live = info.shutdown;
    // The README's pattern: the stream ends itself when shutdown begins. On a
    // request whose client already left, this would throw.
    info.shutdown.addEventListener("abort", () => {
      if (request.url.endsWith("/gone")) throw new Error("aborted after the request ended");
    }, { once: true });
    return new Response(stream);
  });
  const leaving = await subscribe(server.addr.port, "/gone");
  const staying = await subscribe(server.addr.port, "/live");
  leaving.leave();
  await cancelled.reach(1, "the left client's body to be cancelled");
  const result = server.shutdown(300);
  await waitUntil("the live request's signal to abort", () => live!.aborted, (wake) => {
    live!.addEventListener("abort", wake);
    return () => live!.removeEventListener("abort", wake);
  });
  assert.equal(gone!.aborted, false);
  staying.leave();
  await result;
});

test("http: a request begun during drainDelay gets a signal already aborted", async (t) => {
  const server = await serveAndShutdown({
    hostname: "127.0.0.1",
    signals: false,
    drainDelay: 300,
    fetch: (_request, info) => new Response(String(info.shutdown.aborted)),
  });
  t.cleanup(() => server.close());
  const result = server.shutdown(2_000);
  const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
  assert.equal(await response.text(), "true");
  await result;
});

test("http: 20 requests that listen on info.shutdown print no listener warning", async (t) => {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.name);
  process.on("warning", onWarning);
  t.cleanup(() => void process.off("warning", onWarning));
  const server = await serve(t, (_request, info) => {
    info.shutdown.addEventListener("abort", () => {});
    return new Response("ok");
  });
  for (let i = 0; i < 20; i++) {
    const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
    await response.text();
  }
  await server.shutdown(1_000);
  assert.deepEqual(warnings, []);
});

test("demo: an SSE client that left before SIGTERM does not break the shutdown", async (t) => {
  const child = new Child(example("demo"), [], { HTTP_PORT: "0", RESP_PORT: "0" });
  t.cleanup(() => void child.process.kill("SIGKILL"));
  const port = Number((await child.waitForOutput(/http listening on [^:]+:(\d+)/))[1]);
  const leaving = await subscribe(port);
  const staying = await subscribe(port);
  leaving.leave();
  child.signal("SIGTERM");
  await child.waitForOutput(/http down/);
  staying.leave();
  const exit = await child.exit();
  assert.equal(exit.code, 0, exit.stderr);
  assert.doesNotMatch(exit.stderr, /error/i);
});
