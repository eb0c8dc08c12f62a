// How an HTTP connection served over node:http (Node's fetch adapter, and
// `{ server }` on Node and Bun) closes during shutdown: behind its last reply
// with FIN and a linger, never a reset.

import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { serveAndShutdown, type Server } from "../mod.ts";
import { waitUntil } from "./_client.ts";
import { runtime, test, type TestContext } from "./_harness.ts";

const REPLY_BYTES = 1024 * 1024;

type Mode = "fetch" | "server";

/** Why a mode does not run here, or false. */
function skipMode(mode: Mode): string | false {
  if (mode === "server" && runtime === "deno") {
    return "Deno's node:http server hides its connections: { server } is refused there";
  }
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
  error: string | undefined;
  closed = false;
  #stop = false;

  constructor(port: number, ignoreEnd = false) {
    this.socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: ignoreEnd });
    this.socket.on("data", (chunk: Uint8Array) => this.received += chunk.length);
    this.socket.on("end", () => {
      this.sawEnd = true;
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
      { skip: skipMode(mode) },
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
      const began = performance.now();
      const shutdown = server.shutdown(5_000);
      wait.open();
      const result = await shutdown;
      const took = performance.now() - began;
      assert.ok(took >= 900 && took < 2_500, `resolved after ${took.toFixed(0)} ms`);
      assert.deepEqual(
        [result.graceful, result.drained, result.forced],
        [true, 1, 0],
        JSON.stringify(result),
      );
      await client.waitClosed();
      assert.equal(client.sawEnd, true, "FIN came before the close");
      assert.equal(client.bodyBytes, REPLY_BYTES, "the whole answer arrived");
    },
    { skip: skipMode(mode) },
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
      const began = performance.now();
      const shutdown = server.shutdown(400);
      wait.open();
      await waitUntil("the whole answer", () => client.bodyBytes >= REPLY_BYTES, (wake) => {
        client.socket.on("data", wake);
        return () => client.socket.off("data", wake);
      });
      const result = await shutdown;
      const took = performance.now() - began;
      assert.ok(took < 800, `resolved after ${took.toFixed(0)} ms`);
      assert.deepEqual(
        [result.graceful, result.drained, result.forced],
        [true, 1, 0],
        JSON.stringify(result),
      );
      await client.waitClosed();
    },
    { skip: skipMode(mode) },
  );
}
