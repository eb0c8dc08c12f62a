// Faults that must lose nothing and leave nothing behind: fuzzed options,
// handlers that throw by the thousand, clients that reset mid-response.

import fc from "fast-check";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import process from "node:process";
import { type HttpOptions, serveAndShutdown, type Server } from "../mod.ts";
import { counter, tryConnect, within } from "./_client.ts";
import { fixture, runtime, test, type TestContext } from "./_harness.ts";
import { Child } from "./_process.ts";

const OPTION_NAMES = [
  "hostname",
  "port",
  "signals",
  "gracePeriod",
  "drainDelay",
  "idleGrace",
  "onError",
  "health",
  "tls",
];

/** Any JavaScript value a caller might pass, the awkward ones included. */
const anyValue = fc.oneof(
  fc.constantFrom(
    undefined,
    null,
    NaN,
    Infinity,
    -Infinity,
    0,
    -1,
    1.5,
    65_536,
    "",
    "/x",
    "SIGTERM",
  ),
  fc.integer(),
  fc.double(),
  fc.string(),
  fc.boolean(),
  fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 3 }),
  fc.constant(() => {}),
  fc.object({ maxDepth: 1 }),
);

test("options fuzzed: any value starts a server or throws TypeError/RangeError naming the option", async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...OPTION_NAMES), anyValue, async (name, value) => {
      const options = {
        hostname: "127.0.0.1",
        signals: false,
        fetch: () => new Response("ok"),
        [name]: value,
      } as unknown as HttpOptions;
      try {
        const server = await serveAndShutdown(options);
        const result = await server.shutdown(1_000);
        assert.equal(result.forced, 0);
        // Nothing left listening.
        assert.equal(await tryConnect(server.addr.port), "ECONNREFUSED");
      } catch (error) {
        // A value of the right type can still fail to listen (a port in use, a
        // name that does not resolve): an error that names the address.
        if (/^Cannot listen on /.test((error as Error).message)) return;
        assert.ok(
          error instanceof TypeError || error instanceof RangeError,
          `${name}=${fc.stringify(value)}: ${error}`,
        );
        // An object option may name the part at fault: 'tls.cert'.
        assert.match((error as Error).message, new RegExp(`'${name}(\\.\\w+)?'`));
      }
    }),
    { numRuns: 150 },
  );
});

test("onError: 1,000 throwing handlers, sync and async, all answered 500 and reported", async (t) => {
  const reported = counter();
  const server = await serveAndShutdown({
    hostname: "127.0.0.1",
    signals: false,
    onError: () => reported.hit(),
    fetch(request) {
      if (request.url.endsWith("/sync")) throw new Error("sync failure");
      return Promise.reject(new Error("async failure"));
    },
  });
  t.cleanup(() => server.close());
  const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
  t.cleanup(() => agent.destroy());
  const statuses = await Promise.all(
    Array.from({ length: 1_000 }, (_, i) =>
      new Promise<number>((resolve, reject) => {
        const path = i % 2 === 0 ? "/sync" : "/async";
        http.get({ host: "127.0.0.1", port: server.addr.port, path, agent }, (response) => {
          response.resume();
          response.on("end", () => resolve(response.statusCode!));
        }).on("error", reject);
      })),
  );
  assert.ok(statuses.every((status) => status === 500));
  await reported.reach(1_000);
  // The tracker is consistent: the idle connections close at once, nothing forced.
  const result = await server.shutdown(2_000);
  assert.equal(result.forced, 0);
  assert.ok(result.ms < 500, `took ${result.ms} ms`);
});

test("clients that reset mid-response leave nothing counted: shutdown resolves at once", async (t) => {
  const streaming = counter();
  const server = await serveAndShutdown({
    hostname: "127.0.0.1",
    signals: false,
    fetch() {
      streaming.hit();
      const chunk = new Uint8Array(64 * 1024);
      return new Response(new ReadableStream({ pull: (c) => c.enqueue(chunk) }));
    },
  });
  t.cleanup(() => server.close());
  const clients = Array.from({ length: 5 }, () =>
    new Promise<void>((resolve) => {
      const socket = net.connect(server.addr.port, "127.0.0.1", () => {
        socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      });
      socket.once("data", () => {
        // A reset where the runtime offers one, a plain close otherwise.
        if (typeof socket.resetAndDestroy === "function") socket.resetAndDestroy();
        else socket.destroy();
        resolve();
      });
      socket.on("error", () => {});
    }));
  await Promise.all(clients);
  await streaming.reach(5);
  const result = await server.shutdown(2_000);
  assert.equal(result.forced, 0);
  assert.ok(result.ms < 500, `took ${result.ms} ms`);
});

for (const leaves of ["before", "during"] as const) {
  test(
    `a client that left ${leaves} shutdown, its handler never settling, holds nothing: shutdown resolves at once`,
    async (t) => {
      const started = counter();
      const server = await serveAndShutdown({
        hostname: "127.0.0.1",
        signals: false,
        fetch() {
          started.hit();
          return new Promise<Response>(() => {});
        },
      });
      t.cleanup(() => server.close());
      const client = net.connect(server.addr.port, "127.0.0.1", () => {
        client.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      });
      client.on("error", () => {});
      const closed = new Promise((resolve) => client.once("close", resolve));
      await started.reach(1);
      // A reset: a client that only half-closes (FIN) may still be waiting
      // for its answer, and Node's fetch adapter keeps serving it.
      const leave = async (): Promise<void> => {
        client.resetAndDestroy();
        await closed;
      };
      if (leaves === "before") await leave();
      const shutdown = server.shutdown(2_000);
      if (leaves === "during") await leave();
      const result = await shutdown;
      assert.equal(result.forced, 0);
      assert.ok(result.ms < 500, `took ${result.ms} ms`);
    },
  );
}

test(
  "a client that never reads a 50 MB response: memory bounded, cut by the deadline, exit 0",
  async (t) => {
    const child = new Child(fixture("big_body"));
    t.cleanup(() => void child.process.kill("SIGKILL"));
    const port = Number((await child.waitForOutput(/ready (\d+)/))[1]);
    const reader = net.connect(port, "127.0.0.1", () => {
      reader.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      reader.pause(); // and never read
    });
    reader.on("error", () => {});
    t.cleanup(() => void reader.destroy());
    await child.waitForOutput(/streaming/);
    const signalled = performance.now();
    child.signal("SIGTERM");
    const exit = await child.exit(3_000);
    const tookMs = performance.now() - signalled;
    assert.equal(exit.code, 0, exit.stderr);
    const peak = Number(/peak (\d+)/.exec(exit.stdout)![1]);
    assert.ok(peak < 200, `peak resident memory ${peak} MiB`);
    assert.match(exit.stdout, /cancelled after \d+ MiB/); // the source stops
    assert.ok(tookMs >= 700 && tookMs < 1_300, `exited ${Math.round(tookMs)} ms after SIGTERM`);
    assert.match(exit.stdout, /down \{"graceful":false,.*"forced":1/);
  },
  {
    skip: runtime === "deno"
      && "Deno 2.9.6: lastcall cuts the body at the deadline, but Deno's writer, blocked on the full socket, keeps the connection and the process until the client reads or leaves; nothing public drops it once shutdown() began (docs/runtimes.md)",
  },
);

/**
 * A server answering with one 8 MB chunk, then nothing: to a client that
 * never reads, the runtime is left mid-write, where a cut of the body is not
 * seen (Deno). `written` resolves once the runtime took the chunk.
 */
async function stuckBody(t: TestContext): Promise<{ server: Server; written: Promise<void> }> {
  let taken!: () => void;
  const written = new Promise<void>((resolve) => taken = resolve);
  const chunk = new Uint8Array(8 * 1024 * 1024).fill(120);
  const server = await serveAndShutdown({
    hostname: "127.0.0.1",
    signals: false,
    fetch() {
      let pulls = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            if (++pulls === 1) {
              controller.enqueue(chunk);
              // Bun asks for more only once a chunk is written: never, here.
              if (runtime === "bun") taken();
              return;
            }
            taken(); // asked for more: the chunk is the runtime's now
            return new Promise(() => {});
          },
        }, { highWaterMark: 0 }),
      );
    },
  });
  t.cleanup(() => server.close());
  const reader = net.connect(server.addr.port, "127.0.0.1", () => {
    reader.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    reader.pause(); // and never read
  });
  reader.on("error", () => {});
  t.cleanup(() => void reader.destroy());
  return { server, written };
}

test("a body stuck on a client that never reads: shutdown resolves at its deadline", async (t) => {
  const { server, written } = await stuckBody(t);
  await within(written, "the runtime to take the chunk");
  const result = await server.shutdown(300);
  // At the deadline, with leeway for a loaded machine (it took 1.3 s before).
  assert.ok(result.ms < 500, `resolved after ${result.ms} ms`);
  // Deno sometimes reports such a request over before the deadline (drained).
  assert.equal(result.forced + result.drained, 1);
  assert.equal(await server.finished, result);
  // And its port is free, though the stuck connection may still be open.
  const again = await serveAndShutdown({
    hostname: "127.0.0.1",
    port: server.addr.port,
    signals: false,
    fetch: () => new Response("ok\n"),
  });
  await again.close();
});

test("a body stuck on a client that never reads: close() resolves at once", async (t) => {
  const { server, written } = await stuckBody(t);
  await within(written, "the runtime to take the chunk");
  const called = performance.now();
  await server.close();
  const tookMs = performance.now() - called;
  assert.ok(tookMs < 100, `close() took ${Math.round(tookMs)} ms`);
  assert.equal((await server.finished).forced, 1);
});

/** Open file descriptors of this process (Linux). */
function openDescriptors(): number {
  return readdirSync("/proc/self/fd").length;
}

/** Heap in use after a full collection, where the runtime lets a test ask for one. */
function heapAfterGc(): number | undefined {
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  const gc = (globalThis as { gc?: () => void }).gc;
  if (bun) bun.gc(true);
  else if (gc) gc();
  else return undefined;
  return process.memoryUsage().heapUsed;
}

test("15 serve/shutdown cycles of 100 keep-alive connections leave no descriptor or heap behind", async () => {
  const fds: number[] = [];
  const heaps: Array<number | undefined> = [];
  for (let cycle = 0; cycle < 15; cycle++) {
    const server = await serveAndShutdown({
      hostname: "127.0.0.1",
      signals: false,
      fetch: () => new Response("ok\n"),
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 100 });
    const clientsClosed: Promise<unknown>[] = [];
    await Promise.all(Array.from({ length: 100 }, () =>
      new Promise<void>((resolve, reject) => {
        const request = http.get(
          { host: "127.0.0.1", port: server.addr.port, agent },
          (response) => {
            response.resume();
            response.on("end", () => resolve());
          },
        );
        request.on("error", reject);
        request.on("socket", (socket) => {
          clientsClosed.push(new Promise((closed) => socket.once("close", closed)));
        });
      })));
    const result = await server.shutdown(2_000);
    assert.equal(result.forced, 0);
    agent.destroy();
    await within(Promise.all(clientsClosed), "the client sockets to close");
    fds.push(openDescriptors());
    heaps.push(heapAfterGc());
  }
  // Where it was after the second cycle. Deno 2.9.6 opens two sockets of its
  // own once, at some moment during the run, and keeps them: allowed there
  // (a leak grows every cycle, which this still catches).
  const allowance = runtime === "deno" ? 2 : 0;
  assert.ok(fds[14]! <= fds[1]! + allowance, `descriptors after each cycle: ${fds.join(", ")}`);
  if (heaps[1] !== undefined) {
    const grew = (heaps[14]! - heaps[1]!) / 1024 / 1024;
    assert.ok(grew < 5, `heap grew ${grew.toFixed(1)} MiB over 13 cycles`);
  }
});

test("tcp: a client pipelining 10 MB of commands without reading is bounded, then forced; exit 0", async (t) => {
  const child = new Child(fixture("tcp_flood"));
  t.cleanup(() => void child.process.kill("SIGKILL"));
  const port = Number((await child.waitForOutput(/ready (\d+)/))[1]);
  const flood = new TextEncoder().encode("PING\r\n".repeat(Math.ceil((10 * 1024 * 1024) / 6)));
  const client = net.connect(port, "127.0.0.1");
  client.on("error", () => {});
  t.cleanup(() => void client.destroy());
  await new Promise<void>((resolve) => client.once("connect", resolve));
  client.pause(); // and never read a reply
  client.write(flood);
  const signalled = performance.now();
  child.signal("SIGTERM");
  const exit = await child.exit(3_000);
  const tookMs = performance.now() - signalled;
  assert.equal(exit.code, 0, exit.stderr);
  assert.ok(tookMs >= 700 && tookMs < 1_300, `exited ${Math.round(tookMs)} ms after SIGTERM`);
  // Forced while its handler waits to write; or, if the drain caught it
  // between two chunks, closed behind its last reply and lingering until the
  // deadline, which counts drained (its replies were handed over).
  const result = JSON.parse(/down (\{.*\})/.exec(exit.stdout)![1]);
  assert.equal(result.forced + result.drained, 1, exit.stdout);
  const peak = Number(/peak (\d+)/.exec(exit.stdout)![1]);
  assert.ok(peak < 200, `peak resident memory ${peak} MiB`);
});
