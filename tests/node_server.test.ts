import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { type NodeServerLike, serveAndShutdown, type Server } from "../mod.ts";
import { acceptQueueEmpty, TestClient, trickleHeaders, within } from "./_client.ts";
import { example, runtime, test, type TestContext } from "./_harness.ts";
import { request, socketClosed } from "./_http_client.ts";
import { Child } from "./_process.ts";

async function serveServer(
  t: TestContext,
  server: NodeServerLike,
  gracePeriod = 10_000,
): Promise<Server> {
  const running = await serveAndShutdown({
    server,
    hostname: "127.0.0.1",
    signals: false,
    gracePeriod,
  });
  t.cleanup(() => running.close());
  return running;
}

/** A node:http handler whose /slow waits for open(); started resolves when it waits. */
function slowApp() {
  let open!: () => void;
  let started!: () => void;
  const opened = new Promise<void>((resolve) => open = resolve);
  const startedPromise = new Promise<void>((resolve) => started = resolve);
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.url === "/slow") {
      started();
      opened.then(() => res.end("slow done"));
    } else if (req.url === "/never") {
      started();
    } else res.end("ok");
  };
  return { handler, open: () => open(), started: startedPromise };
}

test("{ server }: in-flight responses get Connection: close, idle sockets close", async (t) => {
  const app = slowApp();
  const server = await serveServer(t, http.createServer(app.handler));
  const agent = new http.Agent({ keepAlive: true });
  t.cleanup(() => agent.destroy());
  const slow = request(agent, server.addr.port, "/slow");
  slow.catch(() => {}); // asserted below
  await app.started;
  const idle = await request(agent, server.addr.port, "/"); // on a second socket
  assert.notEqual(idle.socket, undefined);
  const shutdown = server.shutdown();
  await socketClosed(idle.socket, 2_000);
  app.open();
  const got = await slow;
  assert.equal(got.body, "slow done");
  assert.equal(got.headers.connection, "close");
  const result = await shutdown;
  assert.equal(result.graceful, true);
  assert.equal(result.drained, 1);
  assert.equal(result.closedIdle, 1);
});

test(
  "{ server }: a connection that never sent a request is closed at listener close",
  async (t) => {
    const server = await serveServer(t, http.createServer(slowApp().handler));
    const silent = await TestClient.connect(server.addr.port);
    await acceptQueueEmpty(server.addr.port);
    const result = await server.shutdown(2_000);
    const ending = await silent.waitClosed(3_000);
    assert.equal(ending.sawEnd, true);
    assert.equal(result.closedIdle, 1);
  },
  {
    skip: runtime === "bun"
      && "known gap (Bun 1.4.5): Bun's node:http reports a connection only with its first request",
  },
);

test(
  "{ server }: a client trickling its headers is closed at listener close, the app never run",
  async (t) => {
    let handled = 0;
    const server = await serveServer(
      t,
      http.createServer((_request, response) => {
        handled++;
        response.end("ok");
      }),
    );
    const client = await trickleHeaders(t, server.addr.port);
    const result = await server.shutdown(3_000);
    await client.waitClosed(1_000);
    assert.deepEqual(
      [result.closedIdle, result.forced, handled],
      [1, 0, 0],
      JSON.stringify(result),
    );
    assert.ok(result.ms < 200, `shutdown took ${result.ms} ms`);
  },
);

test(
  "{ server }: connections their clients closed, busy or idle, are not waited for",
  async (t) => {
    const app = slowApp();
    const server = await serveServer(t, http.createServer(app.handler));
    // One client goes away with a response in flight and a pipelined one queued.
    const busy = await TestClient.connect(server.addr.port);
    busy.send("GET /never HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await app.started;
    // Another goes away idle, after a response.
    const idle = await TestClient.connect(server.addr.port);
    idle.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await idle.waitFor("ok");
    busy.socket.destroy();
    idle.socket.destroy();
    const result = await within(server.shutdown(10_000), "shutdown to resolve", 3_000);
    assert.equal(result.forced, 0);
    assert.equal(result.graceful, true);
  },
);

test(
  "{ server }: 600 connections closed before shutdown are not counted, one open is",
  async (t) => {
    const server = await serveServer(
      t,
      http.createServer((_request, response) => response.end("ok")),
    );
    // More than lastcall keeps before it sweeps out closed sockets, twice over.
    for (let i = 0; i < 600; i++) {
      const agent = new http.Agent({ keepAlive: false });
      await request(agent, server.addr.port, "/");
      agent.destroy();
    }
    const agent = new http.Agent({ keepAlive: true });
    t.cleanup(() => agent.destroy());
    const open = await request(agent, server.addr.port, "/");
    const result = await server.shutdown(2_000);
    assert.deepEqual(
      [result.closedIdle, result.drained, result.forced],
      [1, 0, 0],
      JSON.stringify(result),
    );
    await socketClosed(open.socket, 2_000);
  },
);

test("{ server }: a response that never ends is forced at the deadline", async (t) => {
  const app = slowApp();
  const server = await serveServer(t, http.createServer(app.handler));
  const agent = new http.Agent({ keepAlive: true });
  t.cleanup(() => agent.destroy());
  const never = request(agent, server.addr.port, "/never").then(() => "complete", () => "cut");
  await app.started;
  const result = await server.shutdown(200);
  assert.equal(result.forced, 1);
  assert.equal(result.graceful, false);
  assert.equal(await never, "cut");
});

test("{ server }: a node:net server's connections are waited for, then forced", async (t) => {
  const sockets: net.Socket[] = [];
  const server = await serveServer(t, net.createServer((socket) => sockets.push(socket)));
  const client = await TestClient.connect(server.addr.port);
  await acceptQueueEmpty(server.addr.port);
  const result = await server.shutdown(200);
  assert.equal(result.forced, 1);
  await client.waitClosed();
});

test("{ server }: a server already listening is refused with a TypeError", async (t) => {
  const listening = http.createServer();
  await new Promise<void>((resolve) => listening.listen(0, "127.0.0.1", resolve));
  t.cleanup(() => new Promise((resolve) => listening.close(resolve)));
  await assert.rejects(
    serveAndShutdown({ server: listening, signals: false }),
    (error: Error) => error instanceof TypeError && /already listening/.test(error.message),
  );
  await assert.rejects(
    serveAndShutdown({ server: {} as NodeServerLike, signals: false }),
    TypeError,
  );
});

test("{ server }: a port in use rejects with EADDRINUSE", async (t) => {
  const first = await serveServer(t, http.createServer());
  await assert.rejects(
    serveAndShutdown({ server: http.createServer(), hostname: "127.0.0.1", port: first.addr.port }),
    (error: NodeJS.ErrnoException) => error.code === "EADDRINUSE",
  );
});

test("express example: SIGTERM lets a slow request finish, then exits 0", async (t) => {
  const child = new Child(example("express"), [], { PORT: "0", LOG_REQUESTS: "1" });
  t.cleanup(() => child.process.kill("SIGKILL"));
  const port = Number((await child.waitForOutput(/listening on [^:]+:(\d+)/))[1]);
  const agent = new http.Agent({ keepAlive: true });
  t.cleanup(() => agent.destroy());
  assert.equal((await request(agent, port, "/")).body, "hello from Express\n");
  const slow = request(agent, port, "/slow?ms=300");
  await child.waitForOutput(/request \/slow/);
  child.signal("SIGTERM");
  const got = await slow;
  assert.equal(got.body, "slow work done\n");
  const exit = await child.exit();
  assert.equal(exit.code, 0, exit.stderr);
  assert.match(exit.stdout, /express down: \{"graceful":true/);
});

test("{ server }: a node:https server drains like node:http", async (t) => {
  const { execFileSync } = await import("node:child_process");
  const { mkdtempSync, readFileSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const https = await import("node:https");
  const dir = mkdtempSync(`${tmpdir()}/lastcall-tls-`);
  t.cleanup(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync("openssl", [
    ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"],
    ...["-keyout", `${dir}/key.pem`, "-out", `${dir}/cert.pem`],
  ], { stdio: "ignore" });
  const app = slowApp();
  const tlsServer = https.createServer({
    key: readFileSync(`${dir}/key.pem`),
    cert: readFileSync(`${dir}/cert.pem`),
  }, app.handler);
  const server = await serveServer(t, tlsServer);
  const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
  t.cleanup(() => agent.destroy());
  const get = (path: string) =>
    new Promise<{ body: string; connection?: string; socket: import("node:net").Socket }>(
      (resolve, reject) => {
        const req = https.get({ host: "127.0.0.1", port: server.addr.port, path, agent }, (res) => {
          let body = "";
          res.on("data", (chunk) => body += chunk);
          res.on(
            "end",
            () => resolve({ body, connection: res.headers.connection, socket: req.socket! }),
          );
        });
        req.on("error", reject);
      },
    );
  const slow = get("/slow");
  slow.catch(() => {});
  await app.started;
  const idle = await get("/");
  const shutdown = server.shutdown();
  await socketClosed(idle.socket, 2_000);
  app.open();
  const got = await slow;
  assert.equal(got.body, "slow done");
  assert.equal(got.connection, "close");
  const result = await shutdown;
  assert.equal(result.graceful, true);
  assert.equal(result.drained, 1);
  assert.equal(result.closedIdle, 1);
}, {
  skip: !existsSync("/usr/bin/openssl") && "openssl is not installed",
});

test(
  "{ server }: health is answered before the app, 200 while ready, 503 once shutdown begins",
  async (t) => {
    let appCalls = 0;
    const app = http.createServer((_request, response) => {
      appCalls++;
      response.end("app");
    });
    const server = await serveAndShutdown({
      server: app,
      hostname: "127.0.0.1",
      signals: false,
      health: "/healthz",
      drainDelay: 300,
    });
    t.cleanup(() => server.close());
    const agent = new http.Agent({ keepAlive: false });
    t.cleanup(() => agent.destroy());
    const ready = await request(agent, server.addr.port, "/healthz");
    assert.equal(ready.status, 200);
    assert.equal(ready.body, "ok\n");
    const head = await request(agent, server.addr.port, "/healthz?probe=1", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
    assert.equal((await request(agent, server.addr.port, "/other")).body, "app");
    assert.equal(appCalls, 1);
    const result = server.shutdown(2_000);
    const draining = await request(agent, server.addr.port, "/healthz");
    assert.equal(draining.status, 503);
    assert.equal(draining.headers.connection, "close");
    assert.equal(appCalls, 1);
    await result;
  },
);
