// The GOAWAY lastcall sends itself on node:http2 servers (Node's fetch adapter
// over TLS, `{ server }` with http2.createServer / createSecureServer), as a
// node:http2 client and the wire show it. On Bun, whose engine serves a
// stream that crossed a first GOAWAY: two steps (RFC 9113 §6.8), the first
// with the largest stream id, the second, a PING round trip later, with the
// real last one. On Node and Deno, whose engines refuse any stream from the
// first GOAWAY on: one GOAWAY with the real last stream id (a first step would
// gain nothing and cost a PING wait).

import assert from "node:assert/strict";
import http2 from "node:http2";
import { serveAndShutdown, type Server, type ShutdownResult } from "../mod.ts";
import { within } from "./_client.ts";
import { H2Relay } from "./_h2_relay.ts";
import { runtime, test, type TestContext } from "./_harness.ts";
import { noTlsReason, testCertificate } from "./_tls.ts";

const LARGEST_STREAM_ID = 2 ** 31 - 1;
const twoSteps = runtime === "bun";
const noPing = !twoSteps && "one GOAWAY on Node and Deno: no PING to wait for";
const noTls = noTlsReason();

/** A response held until `open()`; `started` resolves once a request waits for it. */
function gate() {
  let open!: () => void;
  let start!: () => void;
  const opened = new Promise<void>((resolve) => open = resolve);
  const started = new Promise<void>((resolve) => start = resolve);
  const wait = (): Promise<void> => {
    start();
    return opened;
  };
  return { open: () => open(), started, wait };
}

type Gate = ReturnType<typeof gate>;

/** A node:http2 app (compatibility API) whose /slow answers once `slow` opens. */
function appHeldBy(slow: Gate) {
  return (request: http2.Http2ServerRequest, response: http2.Http2ServerResponse) => {
    if (request.url !== "/slow") response.end(`hello ${request.url}`);
    else slow.wait().then(() => response.end("slow done"));
  };
}

interface Answer {
  status?: unknown;
  body: string;
  rstCode?: number | undefined;
}

/** A node:http2 client that records the last stream id of every GOAWAY it reads. */
function connect(t: TestContext, origin: string, options: http2.SecureClientSessionOptions = {}) {
  const client = http2.connect(origin, options);
  client.on("error", () => {}); // each stream reports its own end
  t.cleanup(() => client.destroy());
  const goaways: number[] = [];
  const waiting = new Set<() => void>();
  client.on("goaway", (code: number, lastStreamId: number) => {
    assert.equal(code, 0, "GOAWAY with NO_ERROR");
    goaways.push(lastStreamId);
    waiting.forEach((wake) => wake());
  });
  /** Resolves once `count` GOAWAYs came. */
  const gotGoaways = (count: number): Promise<void> =>
    new Promise((resolve) => {
      const wake = (): void => {
        if (goaways.length < count) return;
        waiting.delete(wake);
        resolve();
      };
      waiting.add(wake);
      wake();
    });
  const get = (path: string): Promise<Answer> =>
    new Promise((resolve) => {
      const stream = client.request({ ":path": path });
      let status: unknown;
      let body = "";
      stream.setEncoding("utf8");
      stream.on("response", (headers) => status = headers[":status"]);
      stream.on("data", (chunk: string) => body += chunk);
      stream.on("error", () => {}); // its close says how it ended
      stream.on("close", () => resolve({ status, body, rstCode: stream.rstCode }));
    });
  return { goaways, gotGoaways, get };
}

/**
 * The server's GOAWAYs and PINGs on the wire: GOAWAY with the largest stream
 * id, a PING behind it, then GOAWAY with `lastStreamId`, maybe repeated (Node
 * sends it again when the session ends).
 */
function assertTwoSteps(serverSent: string[], lastStreamId: number): void {
  if (!twoSteps) return assertOneStep(serverSent, lastStreamId);
  const message = `the server sent ${serverSent.join(", ")}`;
  assert.deepEqual(serverSent.slice(0, 3), [
    `GOAWAY ${LARGEST_STREAM_ID}`,
    "PING",
    `GOAWAY ${lastStreamId}`,
  ], message);
  for (const sent of serverSent.slice(3)) assert.equal(sent, `GOAWAY ${lastStreamId}`, message);
}

/** The server's GOAWAYs on the wire: only GOAWAY with `lastStreamId`, maybe repeated, no PING. */
function assertOneStep(serverSent: string[], lastStreamId: number): void {
  assert.ok(serverSent.length > 0, "the server sent a GOAWAY");
  for (const sent of serverSent) {
    assert.equal(sent, `GOAWAY ${lastStreamId}`, `the server sent ${serverSent.join(", ")}`);
  }
}

async function serve(
  t: TestContext,
  options: Parameters<typeof serveAndShutdown>[0],
): Promise<Server> {
  const server = await serveAndShutdown(options);
  t.cleanup(() => server.close());
  return server;
}

const common = { hostname: "127.0.0.1", signals: false, gracePeriod: 10_000 } as const;

test(
  "http2 goaway: { server } h2c: a stream the client opened while the GOAWAY was in flight (Bun: served, two steps; Node, Deno: refused, retry safe)",
  async (t) => {
    const slowGate = gate();
    const server = await serve(t, { ...common, server: http2.createServer(appHeldBy(slowGate)) });
    const relay = await H2Relay.to(server.addr.port, { holdFromGoaway: true });
    t.cleanup(() => relay.close());
    const { get } = connect(t, `http://127.0.0.1:${relay.port}`);
    const slow = get("/slow"); // stream 1, in flight through the shutdown
    await within(slowGate.started, "/slow started");
    const shutdown = server.shutdown();
    // The server's (first) GOAWAY is on its way (held); the client, not
    // having read it, opens stream 3, which reaches the server behind it.
    await within(relay.goawayHeld, "the first GOAWAY");
    const between = get("/between");
    await within(relay.headersPassed(3), "stream 3 sent");
    relay.release();
    const answer = await within(between, "stream 3 answered");
    slowGate.open();
    assert.deepEqual(await within(slow, "/slow"), { status: 200, body: "slow done", rstCode: 0 });
    const result: ShutdownResult = await within(shutdown, "shutdown");
    assert.equal(result.graceful, true, JSON.stringify(result));
    if (runtime === "bun") {
      // Bun's engine serves it, and the final GOAWAY names it.
      assert.deepEqual(answer, { status: 200, body: "hello /between", rstCode: 0 });
      assertTwoSteps(relay.serverSent, 3);
    } else {
      // Node's and Deno's engines ignore new streams from a GOAWAY on; it
      // says stream 3 was not processed, and the client sees it refused
      // (REFUSED_STREAM: safe to retry).
      assert.equal(answer.status, undefined, JSON.stringify(answer));
      assert.equal(answer.rstCode, http2.constants.NGHTTP2_REFUSED_STREAM, JSON.stringify(answer));
      assertTwoSteps(relay.serverSent, 1);
    }
  },
  {},
);

test(
  "http2 goaway: a client that never answers the PING gets the final GOAWAY 1 s later",
  async (t) => {
    const slowGate = gate();
    const server = await serve(t, { ...common, server: http2.createServer(appHeldBy(slowGate)) });
    const relay = await H2Relay.to(server.addr.port, { silentClient: true });
    t.cleanup(() => relay.close());
    const { gotGoaways, get } = connect(t, `http://127.0.0.1:${relay.port}`);
    const slow = get("/slow"); // keeps the client's session open
    await within(slowGate.started, "/slow started");
    const shutdown = server.shutdown();
    await within(gotGoaways(2), "the final GOAWAY");
    slowGate.open();
    assert.equal((await within(slow, "/slow")).status, 200);
    const result = await within(shutdown, "shutdown");
    assert.equal(result.graceful, true, JSON.stringify(result));
    assert.ok(result.ms >= 900 && result.ms < 3_000, `shutdown took ${result.ms} ms`);
    assertTwoSteps(relay.serverSent, 1);
  },
  { skip: noPing },
);

test(
  "http2 goaway: a deadline shorter than the PING wait still ends a silent client's session on time",
  async (t) => {
    const server = await serve(t, { ...common, server: http2.createServer(appHeldBy(gate())) });
    const relay = await H2Relay.to(server.addr.port, { silentClient: true });
    t.cleanup(() => relay.close());
    const { get } = connect(t, `http://127.0.0.1:${relay.port}`);
    assert.equal((await get("/first")).status, 200); // now idle
    const result = await within(server.shutdown(200), "shutdown");
    assert.ok(result.ms >= 150 && result.ms < 900, `shutdown took ${result.ms} ms`);
    // Still waiting for its PING at the deadline: destroyed there.
    assert.deepEqual([result.closedIdle + result.forced, result.drained], [1, 0]);
    assert.deepEqual(relay.serverSent.slice(0, 2), [`GOAWAY ${LARGEST_STREAM_ID}`, "PING"]);
  },
  { skip: noPing },
);

/** The GOAWAY(s) over TLS with a stream in flight, which completes; then the server is down. */
async function goAwayOverTls(t: TestContext, server: Server, slow: Gate) {
  const { ca } = testCertificate()!;
  const { goaways, gotGoaways, get } = connect(t, `https://localhost:${server.addr.port}`, { ca });
  const inFlight = get("/slow");
  await within(slow.started, "/slow started");
  const shutdown = server.shutdown();
  await within(gotGoaways(1), "the first GOAWAY");
  assert.deepEqual(goaways, [twoSteps ? LARGEST_STREAM_ID : 1]);
  slow.open();
  assert.deepEqual(await within(inFlight, "/slow"), { status: 200, body: "slow done", rstCode: 0 });
  const result = await within(shutdown, "shutdown");
  assert.equal(result.graceful, true, JSON.stringify(result));
  // Bun's client reports no GOAWAY once it closed itself behind the first.
  if (runtime === "bun") return;
  assert.deepEqual(new Set(goaways), new Set([1]), `GOAWAYs: ${goaways}`);
}

test(
  "http2 goaway: fetch over TLS (Node's adapter): GOAWAY, the in-flight stream completes",
  async (t) => {
    const slow = gate();
    const { cert, key } = testCertificate()!;
    const server = await serve(t, {
      ...common,
      tls: { cert, key },
      fetch: async (request) => {
        const path = new URL(request.url).pathname;
        if (path === "/slow") await slow.wait();
        return new Response(path === "/slow" ? "slow done" : `hello ${path}`);
      },
    });
    await goAwayOverTls(t, server, slow);
  },
  { skip: noTls || (runtime !== "node" && "fetch over TLS is Deno.serve / Bun.serve there") },
);

test(
  "http2 goaway: { server } with http2.createSecureServer: GOAWAY (two on Bun), the in-flight stream completes",
  async (t) => {
    const slow = gate();
    const { cert, key } = testCertificate()!;
    const h2 = http2.createSecureServer({ cert, key }, appHeldBy(slow));
    await goAwayOverTls(t, await serve(t, { ...common, server: h2 }), slow);
  },
  { skip: noTls },
);
