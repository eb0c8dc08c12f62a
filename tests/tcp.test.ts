import assert from "node:assert/strict";
import { respHandler } from "../examples/resp.ts";
import { type Conn, serveAndShutdown, type Server, type TcpOptions } from "../mod.ts";
import { acceptQueueEmpty, counter, TestClient, waitForRefusal } from "./_client.ts";
import { fixture, test, type TestContext } from "./_harness.ts";
import { Child } from "./_process.ts";

/** Serves raw TCP on 127.0.0.1 with no signal handlers; closed after the test. */
async function serve(
  t: TestContext,
  options: Partial<TcpOptions> & Pick<TcpOptions, "connection">,
): Promise<Server> {
  const server = await serveAndShutdown({ hostname: "127.0.0.1", signals: false, ...options });
  t.cleanup(() => server.close());
  return server;
}

/** Resolves when `fn` has been called `count` times in all. */
/**
 * A tiny protocol for exact tests: "WAIT" replies "+DONE" once `release()` is
 * called, anything else "+PONG"; `started` counts WAITs begun.
 */
function gatedResp() {
  const started = counter();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const connection = async (conn: Conn) => {
    for await (const chunk of conn) {
      if (new TextDecoder().decode(chunk).startsWith("WAIT")) {
        started.hit();
        await gate;
        await conn.write("+DONE\r\n");
      } else {
        await conn.write("+PONG\r\n");
      }
    }
  };
  return { connection, started, release: () => release() };
}

test("tcp: serves RESP commands and reports addr and runtime", async (t) => {
  const server = await serve(t, { connection: respHandler() });
  assert.equal(server.addr.hostname, "127.0.0.1");
  assert.ok(server.addr.port > 0);
  assert.equal(server.ready, true);
  const client = await TestClient.connect(server.addr.port);
  client.send("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv1\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n");
  await client.waitFor("+PONG\r\n");
  assert.equal(client.text, "+OK\r\n$2\r\nv1\r\n+PONG\r\n");
  client.socket.destroy();
});

test("tcp: idle clients are closed at once, cleanly, when shutdown begins", async (t) => {
  const server = await serve(t, { connection: respHandler(), idleGrace: 0 });
  const clients = await Promise.all([1, 2, 3].map(() => TestClient.connect(server.addr.port)));
  clients[0].send("PING\r\n");
  await clients[0].waitFor("+PONG");
  await acceptQueueEmpty(server.addr.port);
  const result = await server.shutdown(5_000);
  for (const client of clients) {
    const ending = await client.waitClosed();
    assert.equal(ending.sawEnd, true, "a FIN, not a reset");
    assert.equal(ending.error, undefined);
  }
  assert.deepEqual({ ...result, ms: 0 }, {
    graceful: true,
    closedIdle: 3,
    drained: 0,
    forced: 0,
    ms: 0,
  });
  assert.equal(server.ready, false);
});

test("tcp: two next() calls at once share one wait; the loop goes on and ends cleanly", async (t) => {
  const server = await serve(t, {
    idleGrace: 0,
    connection: async (conn) => {
      const reads = conn[Symbol.asyncIterator]();
      const [first, second] = await Promise.all([reads.next(), reads.next()]);
      assert.equal(first, second, "the same chunk, once");
      await conn.write(`+${new TextDecoder().decode(first.value)}\r\n`);
      for (let next = await reads.next(); !next.done; next = await reads.next()) {
        await conn.write("+PONG\r\n");
      }
    },
  });
  const client = await TestClient.connect(server.addr.port);
  client.send("A");
  await client.waitFor("+A\r\n");
  client.send("PING\r\n");
  await client.waitFor("+PONG\r\n");
  const result = await server.shutdown(5_000);
  assert.equal((await client.waitClosed()).sawEnd, true);
  assert.deepEqual({ ...result, ms: 0 }, {
    graceful: true,
    closedIdle: 1,
    drained: 0,
    forced: 0,
    ms: 0,
  });
});

test("tcp: a command in flight gets its full reply, then EOF", async (t) => {
  const gated = gatedResp();
  const server = await serve(t, { connection: gated.connection });
  const busy = await TestClient.connect(server.addr.port);
  const idle = await TestClient.connect(server.addr.port);
  busy.send("WAIT\r\n");
  await gated.started.reach(1, "the command to start");
  const shutdown = server.shutdown(10_000);
  const idleEnding = await idle.waitClosed();
  assert.equal(idleEnding.sawEnd, true);
  assert.equal(busy.socket.destroyed, false, "the busy connection stays open");
  gated.release();
  const ending = await busy.waitClosed();
  assert.equal(busy.text, "+DONE\r\n");
  assert.equal(ending.sawEnd, true);
  assert.equal(ending.error, undefined);
  const result = await shutdown;
  assert.equal(result.drained, 1);
  assert.equal(result.closedIdle, 1);
  assert.equal(result.graceful, true);
});

test("tcp: shutdown resolves right after the last reply (event driven, no polling)", async (t) => {
  const gated = gatedResp();
  const server = await serve(t, { connection: gated.connection });
  const client = await TestClient.connect(server.addr.port);
  client.send("WAIT\r\n");
  await gated.started.reach(1);
  let resolvedAt = 0;
  const shutdown = server.shutdown(60_000).then((result) => {
    resolvedAt = performance.now();
    return result;
  });
  const releasedAt = performance.now();
  gated.release();
  const result = await shutdown;
  assert.equal(result.graceful, true);
  // A generous bound: a polling drain (Go backs off to 500 ms) or Node's own
  // close (5 s keep-alive) would miss it; the figure itself is in bench/.
  assert.ok(
    resolvedAt - releasedAt < 250,
    `resolved ${resolvedAt - releasedAt} ms after the reply`,
  );
});

test("tcp: the drain keeps the process alive until in-flight work has replied", async (t) => {
  // Deno counts an open connection as nothing to wait for: a handler working
  // on an unref'd timer must still get to reply before the process exits.
  const child = new Child(fixture("drain_holds_process"));
  t.cleanup(() => void child.process.kill("SIGKILL"));
  const port = Number((await child.waitForOutput(/ready (\d+)/))[1]);
  const client = await TestClient.connect(port);
  client.send("go\n");
  const ending = await client.waitClosed();
  assert.equal(client.text, "done\n");
  assert.equal(ending.sawEnd, true);
  const exit = await child.exit();
  assert.equal(exit.code, 0, exit.stderr);
  assert.match(exit.stdout, /down \{"graceful":true/);
});

test("tcp: new connections are refused once shutdown begins", async (t) => {
  const gated = gatedResp();
  const server = await serve(t, { connection: gated.connection });
  const client = await TestClient.connect(server.addr.port);
  client.send("WAIT\r\n");
  await gated.started.reach(1);
  const shutdown = server.shutdown(10_000);
  const refused = await waitForRefusal(server.addr.port);
  assert.equal(refused, "ECONNREFUSED");
  gated.release();
  await shutdown;
});

test("tcp: a handler that never replies is cut at the deadline", async (t) => {
  const started = counter();
  const server = await serve(t, {
    connection: async (conn) => {
      for await (const _chunk of conn) {
        started.hit();
        await new Promise(() => {}); // never replies
      }
    },
  });
  const stuck = await TestClient.connect(server.addr.port);
  stuck.send("PING\r\n");
  await started.reach(1);
  const began = performance.now();
  const result = await server.shutdown(200);
  const took = performance.now() - began;
  assert.equal(result.forced, 1);
  assert.equal(result.graceful, false);
  assert.ok(took >= 190, `not before the deadline (${took} ms)`);
  assert.ok(took < 2_000, `it never hangs (${took} ms)`);
  await stuck.waitClosed();
  assert.deepEqual(await server.finished, result);
});

test("tcp: a handler that throws closes only its own connection and is reported", async (t) => {
  const errors: Array<{ error: unknown; port?: number }> = [];
  const server = await serve(t, {
    connection: async (conn) => {
      for await (const chunk of conn) {
        if (new TextDecoder().decode(chunk).startsWith("BOOM")) throw new Error("boom");
        await conn.write("+PONG\r\n");
      }
    },
    onError: (error, context) => errors.push({ error, port: context.remoteAddr?.port }),
  });
  const victim = await TestClient.connect(server.addr.port);
  const victimPort = victim.socket.localPort;
  const bystander = await TestClient.connect(server.addr.port);
  victim.send("BOOM\r\n");
  const ending = await victim.waitClosed();
  assert.equal(ending.sawEnd, true);
  assert.equal(errors.length, 1);
  assert.equal((errors[0].error as Error).message, "boom");
  assert.equal(errors[0].port, victimPort);
  bystander.send("PING\r\n");
  await bystander.waitFor("+PONG");
  const result = await server.shutdown(5_000);
  assert.equal(result.graceful, true);
});

test("tcp: pipelined commands all get their replies before the close", async (t) => {
  const server = await serve(t, { connection: respHandler() });
  const client = await TestClient.connect(server.addr.port);
  client.send("PING\r\n");
  await client.waitFor("+PONG");
  const shutdown = server.shutdown(5_000);
  // The connection was quiet for less than idleGrace: a request still gets served.
  client.send("SLOW 30\r\nINCR n\r\nINCR n\r\nGET n\r\n");
  const ending = await client.waitClosed();
  assert.equal(client.text, "+PONG\r\n+OK\r\n:1\r\n:2\r\n$1\r\n2\r\n");
  assert.equal(ending.sawEnd, true);
  assert.equal((await shutdown).graceful, true);
});

test("tcp: a request spanning reads holds the connection until its reply", async (t) => {
  const parts = counter();
  const server = await serve(t, {
    idleGrace: 0,
    connection: async (conn) => {
      for await (const chunk of conn) {
        const text = new TextDecoder().decode(chunk);
        if (text === "BEGIN") {
          conn.active(); // the request goes on in the next read
          parts.hit();
        } else if (text === "END") {
          await conn.write("+DONE\r\n");
          conn.idle();
        }
      }
    },
  });
  const client = await TestClient.connect(server.addr.port);
  client.send("BEGIN");
  await parts.reach(1, "the first part to be read");
  const shutdown = server.shutdown(5_000);
  // Had draining closed it now, "END" would never be read and no reply come.
  client.send("END");
  await client.waitFor("+DONE");
  const ending = await client.waitClosed();
  assert.equal(ending.sawEnd, true);
  const result = await shutdown;
  assert.equal(result.drained, 1);
  assert.equal(result.forced, 0);
});

test("tcp: a connection quiet for less than idleGrace closes behind its next reply", async (t) => {
  const server = await serve(t, { connection: respHandler(), idleGrace: 10_000 });
  const client = await TestClient.connect(server.addr.port);
  client.send("PING\r\n");
  await client.waitFor("+PONG");
  const shutdown = server.shutdown(20_000);
  client.send("INCR a\r\n");
  await client.waitClosed();
  assert.equal(client.text, "+PONG\r\n:1\r\n");
  const result = await shutdown;
  assert.equal(result.drained, 1, "it served a request while draining");
  assert.equal(result.graceful, true);
});

test("tcp: a connection quiet for less than idleGrace closes once quiet that long", async (t) => {
  const server = await serve(t, { connection: respHandler(), idleGrace: 150 });
  const client = await TestClient.connect(server.addr.port);
  client.send("PING\r\n");
  await client.waitFor("+PONG");
  const began = performance.now();
  const result = await server.shutdown(20_000);
  const took = performance.now() - began;
  assert.equal((await client.waitClosed()).sawEnd, true);
  assert.equal(result.closedIdle, 1);
  assert.ok(took < 5_000, `closed by its grace, not the deadline (${took} ms)`);
});

test("tcp: closing sends FIN and lingers, so unread bytes never reset the last reply", async (t) => {
  const size = 16 * 1024 * 1024;
  const started = counter();
  const server = await serve(t, {
    connection: async (conn) => {
      for await (const _chunk of conn) {
        started.hit();
        await conn.write(new Uint8Array(size).fill(120));
      }
    },
  });
  const client = await TestClient.connect(server.addr.port, { keepText: false });
  client.socket.pause(); // read nothing yet: the reply backs up into the kernel buffers
  client.send("BIG\r\n");
  await started.reach(1);
  const shutdown = server.shutdown(10_000);
  // Bytes the server will never read are already waiting when it closes.
  client.send(new Uint8Array(1024 * 1024).fill(33));
  client.socket.resume();
  const ending = await client.waitClosed(10_000);
  const clientClosed = performance.now();
  assert.equal(ending.error, undefined, "no reset");
  assert.equal(ending.bytes, size, "the whole reply arrived");
  assert.equal(ending.sawEnd, true);
  assert.equal((await shutdown).graceful, true);
  // The server read (and dropped) everything up to the client's FIN, so it
  // closed on that FIN, not when its 1 s linger ran out.
  const lag = performance.now() - clientClosed;
  assert.ok(lag < 500, `closed ${lag.toFixed(0)} ms after the client, not on its FIN`);
});

test("tcp: drainDelay keeps serving with ready false and Conn.shutdown aborted", async (t) => {
  let shutdownSignal: AbortSignal | undefined;
  const resp = respHandler();
  const server = await serve(t, {
    drainDelay: 150,
    idleGrace: 0,
    connection: (conn) => {
      shutdownSignal = conn.shutdown;
      return resp(conn);
    },
  });
  const client = await TestClient.connect(server.addr.port);
  client.send("PING\r\n");
  await client.waitFor("+PONG");
  const shutdown = server.shutdown(5_000);
  assert.equal(server.ready, false);
  assert.equal(shutdownSignal?.aborted, true, "Conn.shutdown aborts at once");
  // During the delay the listener accepts and connections are served.
  const late = await TestClient.connect(server.addr.port);
  late.send("PING\r\n");
  await late.waitFor("+PONG");
  client.send("PING\r\n");
  await client.waitFor("+PONG\r\n+PONG");
  const result = await shutdown;
  assert.ok(result.ms >= 150, `ms includes drainDelay (${result.ms})`);
  assert.equal(result.closedIdle, 2);
});

test("tcp: Conn.write after close rejects with ERR_CONN_CLOSED", async (t) => {
  const outcome = counter();
  let code: unknown;
  const server = await serve(t, {
    connection: async (conn) => {
      conn.close();
      conn.close(); // idempotent
      code = await conn.write("late").then(() => "written", (error) => error.code);
      outcome.hit();
    },
  });
  const client = await TestClient.connect(server.addr.port);
  await outcome.reach(1);
  assert.equal(code, "ERR_CONN_CLOSED");
  assert.equal((await client.waitClosed()).sawEnd, true);
});

test("tcp: repeated shutdown calls share one result; close() during shutdown forces", async (t) => {
  const gated = gatedResp();
  const server = await serve(t, { connection: gated.connection });
  const client = await TestClient.connect(server.addr.port);
  client.send("WAIT\r\n");
  await gated.started.reach(1);
  const first = server.shutdown(60_000);
  assert.equal(server.shutdown(1), first);
  assert.equal(server.shutdown(), first);
  await server.close();
  const result = await first;
  assert.equal(result.forced, 1);
  assert.equal(await server.shutdown(), result);
  assert.equal(await server.finished, result);
  await client.waitClosed();
});

test("tcp: a port in use rejects with EADDRINUSE", async (t) => {
  const server = await serve(t, { connection: respHandler() });
  await assert.rejects(
    serveAndShutdown({
      hostname: "127.0.0.1",
      port: server.addr.port,
      connection: respHandler(),
    }),
    (error: NodeJS.ErrnoException) => error.code === "EADDRINUSE",
  );
});

test("tcp: wrong options throw TypeError or RangeError naming the option", async () => {
  const connection = respHandler();
  const cases: Array<[unknown, ErrorConstructor, RegExp]> = [
    [{ connection, port: "80" }, TypeError, /'port'.*"80"/],
    [{ connection, port: 70_000 }, RangeError, /'port'.*70000/],
    [{ connection, port: 1.5 }, RangeError, /'port'/],
    [{ connection, hostname: 1 }, TypeError, /'hostname'/],
    [{ connection, gracePeriod: -1 }, RangeError, /'gracePeriod'.*-1/],
    [{ connection, drainDelay: NaN }, RangeError, /'drainDelay'.*NaN/],
    [{ connection, idleGrace: "5" }, TypeError, /'idleGrace'/],
    [{ connection, signals: "SIGTERM" }, TypeError, /'signals'/],
    [{ connection, onError: 1 }, TypeError, /'onError'/],
    [{ connection: 1 }, TypeError, /'connection'/],
    [{}, TypeError, /connection/],
    [null, TypeError, /'options'/],
  ];
  for (const [options, type, message] of cases) {
    await assert.rejects(
      serveAndShutdown(options as TcpOptions),
      (error: Error) => error instanceof type && message.test(error.message),
      `for ${JSON.stringify(options)}`,
    );
  }
});

test("tcp: shutdown(deadline) rejects a deadline of the wrong type", async (t) => {
  const server = await serve(t, { connection: respHandler() });
  await assert.rejects(server.shutdown("1" as unknown as number), TypeError);
  await assert.rejects(server.shutdown(NaN), RangeError);
  assert.equal(server.ready, true, "a rejected call does not begin shutdown");
});
