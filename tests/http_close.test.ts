// How an HTTP connection served over node:http (Node's fetch adapter, and
// `{ server }` on Node and Bun) closes during shutdown: behind its last reply
// with FIN and a linger, never a reset; a new or idle one after its idle
// grace, or behind the answer to a request it sends meanwhile.

import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { setImmediate } from "node:timers";
import tls from "node:tls";
import { serveAndShutdown, type Server, type ShutdownResult } from "../mod.ts";
import {
  acceptQueueEmpty,
  counter,
  TestClient,
  trickleHeaders,
  waitForRefusal,
  waitUntil,
} from "./_client.ts";
import { runtime, test, type TestContext } from "./_harness.ts";
import { noTlsReason, testCertificate } from "./_tls.ts";

const REPLY_BYTES = 1024 * 1024;

type Mode = "fetch" | "server";

// Deno 2.9.6's node:http writes and closes the connection itself: the linger
// lastcall puts behind a reply never takes effect there, and a client still
// uploading reads about 128 KiB of a 1 MiB answer, then a reset (as with a
// bare Deno node:http server).
const DENO_NO_LINGER = runtime === "deno"
  && "Deno's node:http closes the connection itself behind the reply (reset after ~128 KiB; measured on 2.9.6)";

/** Why a mode does not run here, or false. */
function skipMode(mode: Mode): string | false {
  if (mode === "fetch" && runtime !== "node") {
    return `fetch mode runs on ${runtime}'s own server, not node:http`;
  }
  return false;
}

/** A gate a handler waits on; `reached` resolves once one waits. */
function gate() {
  let open!: () => void;
  let reach!: () => void;
  return {
    opened: new Promise<void>((resolve) => open = resolve),
    reached: new Promise<void>((resolve) => reach = resolve),
    open: () => open(),
    reach: () => reach(),
  };
}

/**
 * Serves, in `mode`, a handler that never reads the request body and answers
 * 401 with REPLY_BYTES once the gate opens; with `headFirst`, its head and
 * first chunk go out before the gate (before shutdown began, so without
 * `Connection: close`).
 */
async function serveBigAnswer(
  t: TestContext,
  mode: Mode,
  wait: ReturnType<typeof gate>,
  headFirst: boolean,
): Promise<Server> {
  const first = new Uint8Array(1024).fill(97);
  const rest = new Uint8Array(REPLY_BYTES - first.length).fill(98);
  const options = { hostname: "127.0.0.1", signals: false as const };
  const server = mode === "fetch"
    ? await serveAndShutdown({
      ...options,
      fetch: async () => {
        wait.reach();
        if (!headFirst) {
          await wait.opened;
          return new Response(new Uint8Array(REPLY_BYTES).fill(98), { status: 401 });
        }
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(first);
            wait.opened.then(() => {
              controller.enqueue(rest);
              controller.close();
            });
          },
        });
        return new Response(body, {
          status: 401,
          headers: { "content-length": String(REPLY_BYTES) },
        });
      },
    })
    : await serveAndShutdown({
      ...options,
      server: http.createServer((_request, response) => {
        wait.reach();
        response.writeHead(401, { "content-length": REPLY_BYTES });
        if (headFirst) response.write(first);
        wait.opened.then(() => response.end(headFirst ? rest : new Uint8Array(REPLY_BYTES)));
      }),
    });
  t.cleanup(() => server.close());
  return server;
}

/**
 * A raw client that declares a 10 GB body (more than it can send in the test)
 * and keeps sending it while it reads the answer; with `ignoreEnd` it never closes its side, and keeps
 * sending after the server's FIN.
 */
class Uploader {
  readonly socket: net.Socket;
  received = 0;
  sawEnd = false;
  /** When the server's FIN arrived (performance.now()). */
  endedAt = 0;
  error: string | undefined;
  closed = false;
  #stop = false;

  constructor(port: number, ignoreEnd = false) {
    this.socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: ignoreEnd });
    this.socket.on("data", (chunk: Uint8Array) => this.received += chunk.length);
    this.socket.on("end", () => {
      this.sawEnd = true;
      this.endedAt = performance.now();
      if (!ignoreEnd) this.#stop = true;
    });
    this.socket.on("error", (error: NodeJS.ErrnoException) => {
      this.error ??= error.code ?? error.message;
      this.#stop = true;
    });
    this.socket.on("close", () => this.closed = true);
    this.socket.write("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\n");
    const chunk = new Uint8Array(64 * 1024).fill(120);
    const pump = (): void => {
      while (!this.#stop && !this.socket.destroyed && this.socket.write(chunk));
    };
    this.socket.on("drain", pump);
    pump();
  }

  /** The answer's body bytes so far (what came after the head). */
  get bodyBytes(): number {
    return Math.max(0, this.received - this.#headLength);
  }

  #headLength = Infinity;
  #head = "";

  /** Remembers the head's length from the first bytes (call it once data came). */
  watchHead(): void {
    const onData = (chunk: Uint8Array): void => {
      this.#head += new TextDecoder().decode(chunk.subarray(0, 4096));
      const end = this.#head.indexOf("\r\n\r\n");
      if (end < 0) return;
      this.#headLength = end + 4;
      this.socket.off("data", onData);
    };
    this.socket.on("data", onData);
  }

  get head(): string {
    return this.#head.slice(0, this.#headLength);
  }

  /** Waits for the server's FIN. */
  waitEnd(): Promise<void> {
    return waitUntil("the server's FIN", () => this.sawEnd, (wake) => {
      this.socket.on("end", wake);
      return () => this.socket.off("end", wake);
    });
  }

  waitClosed(ms = 5_000): Promise<void> {
    return waitUntil("the upload connection to close", () => this.closed, (wake) => {
      this.socket.on("close", wake);
      return () => this.socket.off("close", wake);
    }, ms);
  }

  stop(): void {
    this.#stop = true;
    this.socket.destroy();
  }
}

for (const mode of ["fetch", "server"] as const) {
  for (const headFirst of [false, true]) {
    const when = headFirst ? "begun before shutdown" : "sent during shutdown";
    test(
      `http close (${mode}): a 1 MiB answer ${when} reaches a client still uploading, then FIN, no reset`,
      async (t) => {
        const wait = gate();
        const server = await serveBigAnswer(t, mode, wait, headFirst);
        const client = new Uploader(server.addr.port);
        client.watchHead();
        t.cleanup(() => client.stop());
        await wait.reached;
        const shutdown = server.shutdown(5_000);
        wait.open();
        await client.waitClosed();
        assert.equal(client.error, undefined, `no reset (got ${client.bodyBytes} bytes)`);
        assert.equal(client.sawEnd, true);
        assert.match(client.head, /^HTTP\/1\.1 401/);
        assert.equal(client.bodyBytes, REPLY_BYTES, "the whole answer arrived");
        const result = await shutdown;
        assert.deepEqual(
          [result.graceful, result.drained, result.forced],
          [true, 1, 0],
          JSON.stringify(result),
        );
      },
      { skip: skipMode(mode) || (mode === "server" && DENO_NO_LINGER) },
    );
  }

  test(
    `http close (${mode}): a client that never stops uploading is closed when the 1 s linger passes`,
    async (t) => {
      const wait = gate();
      const server = await serveBigAnswer(t, mode, wait, false);
      const client = new Uploader(server.addr.port, true);
      client.watchHead();
      t.cleanup(() => client.stop());
      await wait.reached;
      const shutdown = server.shutdown(5_000);
      const answered = performance.now();
      wait.open();
      await client.waitEnd();
      const result = await shutdown;
      // The linger starts once the answer is written: after the handler
      // answered, before the client read the FIN behind it.
      const now = performance.now();
      assert.ok(
        now - answered >= 950,
        `resolved ${(now - answered).toFixed(0)} ms after the answer`,
      );
      assert.ok(
        now - client.endedAt < 2_000,
        `resolved ${(now - client.endedAt).toFixed(0)} ms after FIN`,
      );
      assert.deepEqual(
        [result.graceful, result.drained, result.forced],
        [true, 1, 0],
        JSON.stringify(result),
      );
      await client.waitClosed();
      assert.equal(client.sawEnd, true, "FIN came before the close");
      assert.equal(client.bodyBytes, REPLY_BYTES, "the whole answer arrived");
    },
    { skip: skipMode(mode) || (mode === "server" && DENO_NO_LINGER) },
  );

  test(
    `http close (${mode}): the deadline ends a linger early, still counted drained`,
    async (t) => {
      const wait = gate();
      const server = await serveBigAnswer(t, mode, wait, false);
      const client = new Uploader(server.addr.port, true);
      client.watchHead();
      t.cleanup(() => client.stop());
      await wait.reached;
      const deadline = new AbortController();
      const shutdown = server.shutdown(deadline.signal);
      wait.open();
      // The whole answer and FIN are out: the connection lingers. Now the deadline.
      await client.waitEnd();
      assert.equal(client.bodyBytes, REPLY_BYTES);
      const aborted = performance.now();
      deadline.abort();
      const result = await shutdown;
      const took = performance.now() - aborted;
      assert.ok(took < 300, `resolved ${took.toFixed(0)} ms after the deadline`);
      assert.deepEqual(
        [result.graceful, result.drained, result.forced],
        [true, 1, 0],
        JSON.stringify(result),
      );
      await client.waitClosed();
    },
    { skip: skipMode(mode) || (mode === "server" && DENO_NO_LINGER) },
  );
}

const BUN_CLOSES_IDLE = runtime === "bun"
  && "Bun 1.4.5: its node:http server is no net.Server, and its close() closes idle connections itself at once (and reports a connection only with its first request)";

/** Serves, in `mode`, a handler that answers `ok <path>` and records each path it ran for. */
async function serveOk(t: TestContext, mode: Mode, idleGrace: number, ran: string[] = []) {
  const options = { hostname: "127.0.0.1", signals: false as const, idleGrace };
  const server = mode === "fetch"
    ? await serveAndShutdown({
      ...options,
      fetch: (request) => {
        const path = new URL(request.url).pathname;
        ran.push(path);
        return new Response(`ok ${path}`);
      },
    })
    : await serveAndShutdown({
      ...options,
      server: http.createServer((request, response) => {
        ran.push(request.url!);
        response.end(`ok ${request.url}`);
      }),
    });
  t.cleanup(() => server.close());
  return server;
}

/** `answer` is a whole 200 for `path`, sent with `Connection: close`. */
function assertAnsweredWithClose(answer: string, path: string): void {
  assert.match(answer, /^HTTP\/1\.1 200/);
  assert.match(answer, /\r\nconnection: close\r\n/i);
  assert.match(answer, new RegExp(`ok ${path}$`));
}

/** The result's graceful, closedIdle, drained and forced, in that order. */
function assertCounts(result: ShutdownResult, expected: [boolean, number, number, number]): void {
  assert.deepEqual(
    [result.graceful, result.closedIdle, result.drained, result.forced],
    expected,
    JSON.stringify(result),
  );
}

for (const mode of ["fetch", "server"] as const) {
  test(
    `http close (${mode}): a request sent on a fresh connection after the listener closed is answered with Connection: close`,
    async (t) => {
      const server = await serveOk(t, mode, 2_000);
      const client = await TestClient.connect(server.addr.port);
      await acceptQueueEmpty(server.addr.port);
      const shutdown = server.shutdown(5_000);
      assert.equal(await waitForRefusal(server.addr.port), "ECONNREFUSED");
      client.send("POST /late HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
      const ending = await client.waitClosed();
      assert.equal(ending.error, undefined, "no reset");
      assert.equal(ending.sawEnd, true);
      assertAnsweredWithClose(client.text, "/late");
      assertCounts(await shutdown, [true, 0, 1, 0]);
    },
    { skip: skipMode(mode) || BUN_CLOSES_IDLE },
  );

  test(
    `http close (${mode}): a request sent on an idle keep-alive connection after the listener closed is answered with Connection: close`,
    async (t) => {
      const server = await serveOk(t, mode, 2_000);
      const client = await TestClient.connect(server.addr.port);
      client.send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n");
      await client.waitFor("ok /first");
      assert.doesNotMatch(client.text, /connection: close/i);
      const shutdown = server.shutdown(5_000);
      assert.equal(await waitForRefusal(server.addr.port), "ECONNREFUSED");
      client.send("GET /second HTTP/1.1\r\nHost: x\r\n\r\n");
      const ending = await client.waitClosed();
      assert.equal(ending.error, undefined, "no reset");
      assertAnsweredWithClose(client.text.slice(client.text.indexOf("ok /first") + 9), "/second");
      assertCounts(await shutdown, [true, 0, 1, 0]);
    },
    { skip: skipMode(mode) || BUN_CLOSES_IDLE },
  );

  test(
    `http close (${mode}): a silent connection is closed once quiet for idleGrace, at once with idleGrace 0`,
    async (t) => {
      for (const idleGrace of [400, 0]) {
        const server = await serveOk(t, mode, idleGrace);
        const client = await TestClient.connect(server.addr.port);
        await acceptQueueEmpty(server.addr.port);
        const began = performance.now();
        const shutdown = server.shutdown(5_000);
        const ending = await client.waitClosed();
        const took = performance.now() - began;
        assert.equal(ending.error, undefined, "no reset");
        assert.equal(ending.sawEnd, true);
        if (idleGrace > 0) {
          assert.ok(took >= idleGrace / 2 && took < idleGrace + 1_000, `closed after ${took} ms`);
        } else assert.ok(took < 500, `closed after ${took} ms`);
        assertCounts(await shutdown, [true, 1, 0, 0]);
      }
    },
    { skip: skipMode(mode) || BUN_CLOSES_IDLE },
  );

  test(
    `http close (${mode}): a client trickling its headers is closed once the idle grace passed, its handler never run`,
    async (t) => {
      const ran: string[] = [];
      const server = await serveOk(t, mode, 200, ran);
      const client = await trickleHeaders(t, server.addr.port, "/slow");
      const began = performance.now();
      const result = await server.shutdown(3_000);
      await client.waitClosed(2_000);
      const took = performance.now() - began;
      assert.ok(took >= 100 && took < 1_500, `closed after ${took} ms`);
      assert.deepEqual(ran, []);
      assert.equal(result.forced, 0);
    },
    { skip: skipMode(mode) },
  );
}

/** A handler that takes its time (200 ms of work), then answers in one piece or in three chunks. */
async function slowAnswer(streamed: boolean): Promise<Response> {
  await new Promise((resolve) => setTimeout(resolve, 200));
  if (!streamed) return new Response("late answer");
  const parts = ["late ", "ans", "wer"];
  return new Response(
    new ReadableStream<Uint8Array>({
      pull(controller) {
        const part = parts.shift();
        if (part === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(part));
      },
    }),
  );
}

for (const secure of [false, true]) {
  for (const streamed of [false, true]) {
    const scheme = secure ? "HTTPS (HTTP/1.1)" : "HTTP";
    const body = streamed ? "streamed" : "whole";
    test(
      `http close (fetch, ${scheme}): a client that half-closes after its request still gets a late ${body} answer`,
      async (t) => {
        const certificate = secure ? testCertificate()! : undefined;
        const server = await serveAndShutdown({
          hostname: "127.0.0.1",
          signals: false,
          tls: certificate && { cert: certificate.cert, key: certificate.key },
          fetch: () => slowAnswer(streamed),
        });
        t.cleanup(() => server.close());
        const port = server.addr.port;
        const socket = certificate === undefined
          ? net.connect({ port, host: "127.0.0.1", allowHalfOpen: true })
          : tls.connect({
            port,
            host: "127.0.0.1",
            servername: "localhost",
            ca: certificate.ca,
            ALPNProtocols: ["http/1.1"],
          });
        t.cleanup(() => void socket.destroy());
        let text = "";
        let error: string | undefined;
        socket.on("data", (chunk: Uint8Array) => text += new TextDecoder().decode(chunk));
        socket.on("error", (e: NodeJS.ErrnoException) => error = e.code ?? e.message);
        await new Promise((resolve) => socket.once(secure ? "secureConnect" : "connect", resolve));
        // The request, then FIN: the client has nothing more to say.
        socket.end("GET /late HTTP/1.1\r\nHost: x\r\n\r\n");
        await waitUntil("the connection to close", () => socket.destroyed, (wake) => {
          socket.on("close", wake);
          return () => socket.off("close", wake);
        });
        assert.equal(error, undefined);
        assert.match(text, /^HTTP\/1\.1 200/);
        const answer = streamed ? text.replace(/\r\n[0-9a-f]+\r\n/g, "") : text;
        assert.match(answer, /late answer/);
      },
      { skip: skipMode("fetch") || (secure && noTlsReason()) },
    );
  }
}

for (const mode of ["fetch", "server"] as const) {
  test(
    `http close (${mode}): pipelined answers all queued before shutdown are delivered without Connection: close, then FIN`,
    async (t) => {
      const slow = gate();
      const ran: string[] = [];
      const handled = counter();
      const options = { hostname: "127.0.0.1", signals: false as const };
      const server = mode === "fetch"
        ? await serveAndShutdown({
          ...options,
          fetch: async (request) => {
            const path = new URL(request.url).pathname;
            ran.push(path);
            handled.hit();
            if (path === "/slow") {
              slow.reach();
              await slow.opened;
            }
            return new Response(`${path} done\n`);
          },
        })
        : await serveAndShutdown({
          ...options,
          server: http.createServer((request, response) => {
            ran.push(request.url!);
            handled.hit();
            if (request.url !== "/slow") return void response.end(`${request.url} done\n`);
            slow.reach();
            slow.opened.then(() => response.end("/slow done\n"));
          }),
        });
      t.cleanup(() => server.close());
      const client = await TestClient.connect(server.addr.port);
      client.send(
        "GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n"
          + "GET /b HTTP/1.1\r\nHost: x\r\n\r\n",
      );
      await slow.reached;
      await handled.reach(3, "every pipelined handler to run");
      // The answers of /a and /b are written behind /slow's within this turn
      // of the event loop (the fetch adapter reads each body first).
      await new Promise((resolve) => setImmediate(resolve));
      const shutdown = server.shutdown(5_000);
      slow.open();
      const ending = await client.waitClosed();
      assert.equal(ending.error, undefined, "no reset");
      assert.equal(ending.sawEnd, true);
      const answers = client.text.split(/(?=HTTP\/1\.1 )/).filter(Boolean);
      assert.deepEqual(
        answers.map((answer) => answer.match(/\n(\/\w+) done\n$/)?.[1]),
        ["/slow", "/a", "/b"],
        client.text,
      );
      // Bun's node:http keeps a pipelined answer's head unsent until its turn
      // (headersSent stays false), so the last one can still say close there.
      const lastMaySayClose = mode === "server" && runtime === "bun";
      answers.forEach((answer, i) => {
        const saysClose = /\r\nconnection: close\r\n/i.test(answer);
        const allowed = lastMaySayClose && i === answers.length - 1;
        assert.ok(!saysClose || allowed, `Connection: close on answer ${i + 1}`);
      });
      const result = await shutdown;
      assert.deepEqual(
        [result.graceful, result.drained, result.forced],
        [true, 1, 0],
        JSON.stringify(result),
      );
    },
    { skip: skipMode(mode) },
  );
}

test(
  "http close (server): a socket handed to the server while draining is served with Connection: close or closed",
  async (t) => {
    for (const idleGrace of [0, 2_000]) {
      const app = http.createServer((_request, response) => response.end("ok"));
      const server = await serveAndShutdown({
        server: app,
        hostname: "127.0.0.1",
        signals: false,
        idleGrace,
      });
      t.cleanup(() => server.close());
      // Sockets accepted elsewhere and handed over, as proxies and tests do.
      const handOver = net.createServer((socket) => app.emit("connection", socket));
      await new Promise<void>((resolve) => handOver.listen(0, "127.0.0.1", resolve));
      t.cleanup(() => new Promise((resolve) => handOver.close(resolve)));
      const result = await server.shutdown(2_000);
      assert.equal(result.graceful, true);
      const client = await TestClient.connect((handOver.address() as net.AddressInfo).port);
      if (idleGrace > 0) client.send("GET /late HTTP/1.1\r\nHost: x\r\n\r\n");
      const ending = await client.waitClosed();
      assert.equal(ending.error, undefined, "no reset");
      if (idleGrace > 0) assert.match(client.text, /\r\nconnection: close\r\n[^]*ok$/i);
      else assert.equal(client.text, "");
    }
  },
  { skip: skipMode("server") },
);
