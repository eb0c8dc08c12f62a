import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import http2 from "node:http2";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import { respHandler } from "../examples/resp.ts";
import { serveAndShutdown, type Server } from "../mod.ts";
import { within } from "./_client.ts";
import { fixture, runtime, test, type TestContext } from "./_harness.ts";
import { Child } from "./_process.ts";
import { clientNode, noTlsReason, testCertificate } from "./_tls.ts";

const noTls = noTlsReason();

/** A command's output once it exited by itself (bounded). */
function run(
  command: string,
  args: string[],
  input?: string,
  ms = 10_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => stdout += chunk);
    child.stderr.on("data", (chunk) => stderr += chunk);
    child.on("error", reject);
    const timer = setTimeout(() => child.kill("SIGKILL"), ms);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/** The TLS fixture in `mode`, with the test certificate; killed after the test. */
async function tlsFixture(t: TestContext, mode: string): Promise<{ child: Child; port: number }> {
  const certificate = testCertificate()!;
  const child = new Child(fixture("tls_server"), [mode], {
    LASTCALL_TEST_CERT: certificate.certFile,
    LASTCALL_TEST_KEY: certificate.keyFile,
  });
  t.cleanup(() => child.process.kill("SIGKILL"));
  const [, port] = await child.waitForOutput(/ready (\d+)/);
  return { child, port: Number(port) };
}

/** The result the fixture printed once down. */
function downResult(
  stdout: string,
): { graceful: boolean; closedIdle: number; drained: number; forced: number; ms: number } {
  const match = /down (\{.*\})/.exec(stdout);
  assert.ok(match, `no result printed: ${stdout}`);
  return JSON.parse(match[1]!);
}

test(
  "tls: HTTPS through fetch serves; an in-flight request completes with Connection: close; exits 0",
  async (t) => {
    const { child, port } = await tlsFixture(t, "fetch");
    const { ca } = testCertificate()!;
    const agent = new https.Agent({ keepAlive: true, ca });
    t.cleanup(() => agent.destroy());
    const get = (path: string) =>
      new Promise<{ status: number; connection?: string; body: string }>((resolve, reject) => {
        https.get({ host: "localhost", port, path, agent }, (response) => {
          let body = "";
          response.setEncoding("utf8");
          response.on("data", (chunk) => body += chunk);
          response.on(
            "end",
            () =>
              resolve({
                status: response.statusCode!,
                connection: response.headers.connection,
                body,
              }),
          );
        }).on("error", reject);
      });
    const first = await get("/first");
    assert.deepEqual([first.status, first.body], [200, "hello /first\n"]);
    // A client stuck before its handshake must delay nothing, except on Deno:
    // there it holds Deno.serve's shutdown() and the process until the client
    // sends or leaves, and nothing public can cut it (see README).
    if (runtime !== "deno") {
      const stuck = net.connect(port, "127.0.0.1");
      stuck.on("error", () => {});
      t.cleanup(() => stuck.destroy());
      await new Promise((resolve) => stuck.once("connect", resolve));
    }
    const late = get("/late");
    await child.waitForOutput(/started \/late/);
    child.signal("SIGTERM");
    const answer = await late;
    assert.deepEqual([answer.status, answer.body, answer.connection], [200, "late\n", "close"]);
    const exit = await child.exit(5_000);
    assert.equal(exit.code, 0, exit.stderr);
    const result = downResult(exit.stdout);
    assert.equal(result.graceful, true, JSON.stringify(result));
    assert.ok(result.ms < 700, `shutdown took ${result.ms} ms for a 400 ms request`);
    assert.doesNotMatch(exit.stderr, /Warning/);
  },
  { skip: noTls },
);

/**
 * The HTTP/2 drain as a real node:http2 client sees it (run by Node in its
 * own process): h2 by ALPN, the health path, GOAWAY soon after SIGTERM, a
 * stream opened after it refused, the in-flight stream complete, the server
 * down right behind it, with no warning printed.
 */
async function http2Drain(t: TestContext, mode: string, options: { inFlight: boolean }) {
  const { child, port } = await tlsFixture(t, mode);
  const certificate = testCertificate()!;
  const scheme = mode === "h2c" ? "http" : "https";
  // curl's own HTTP/2 stream, in flight when the signal comes.
  const curl = run("curl", [
    "-sS",
    "--http2",
    ...(scheme === "http" ? ["--http2-prior-knowledge"] : ["--cacert", certificate.caFile]),
    "-w",
    " %{http_code} %{http_version}",
    `${scheme}://localhost:${port}/slow`,
  ]);
  await child.waitForOutput(/started \/slow/);
  const client = await run(clientNode(), [
    fixture("h2_client"),
    `${scheme}://localhost:${port}`,
    String(child.process.pid),
    scheme === "https" ? certificate.caFile : "",
  ]);
  const report = JSON.parse(client.stdout || "{}");
  assert.equal(report.alpn, scheme === "https" ? "h2" : "h2c", client.stderr);
  assert.deepEqual(report.health, { status: 200, body: "ok\n" });
  assert.equal(report.goaway.code, 0, JSON.stringify(report));
  assert.ok(report.goaway.ms < 300, `GOAWAY ${report.goaway.ms} ms after SIGTERM`);
  assert.equal(report.later.error, "ERR_HTTP2_GOAWAY_SESSION", JSON.stringify(report.later));
  if (options.inFlight) {
    assert.deepEqual(
      [report.slow.status, report.slow.body],
      [200, "hello /slow\ndone\n"],
      JSON.stringify(report.slow),
    );
  }
  // The idle session got GOAWAY and was closed at once, not behind /slow.
  assert.equal(report.idle.goaway, 0, JSON.stringify(report.idle));
  assert.ok(report.idle.closedMs < 300, `idle session closed at ${report.idle.closedMs} ms`);
  const fromCurl = await curl;
  assert.equal(fromCurl.stdout, "hello /slow\ndone\n 200 2", fromCurl.stderr);
  const exit = await child.exit(5_000);
  assert.equal(exit.code, 0, exit.stderr);
  const result = downResult(exit.stdout);
  assert.equal(result.graceful, true, JSON.stringify(result));
  if (mode !== "fetch") {
    // Counted per session: the idle one closed, the client's drained. curl's
    // /slow can end before the signal (the client's process may take longer
    // to start), and its session then counts closed idle, or nothing if curl
    // left first.
    const { closedIdle, drained, forced } = result;
    assert.ok(closedIdle >= 1 && drained >= 1 && closedIdle + drained <= 3, JSON.stringify(result));
    assert.equal(forced, 0);
  }
  assert.ok(result.ms < 700, `shutdown took ${result.ms} ms for a 400 ms stream`);
  assert.doesNotMatch(exit.stderr, /Warning/);
}

test(
  "tls: HTTP/2 through fetch: GOAWAY, in-flight streams finish, later ones refused",
  async (t) => {
    // Deno sends GOAWAY twice (the second with the last stream's id), and
    // node:http2's client then cancels its own open stream (nodejs/node#55888):
    // curl's in-flight stream shows the server side.
    await http2Drain(t, "fetch", { inFlight: runtime !== "deno" });
  },
  { skip: noTls },
);

test(
  "tls: { server } with node:http2 (secure, compatibility API) drains per session",
  async (t) => {
    await http2Drain(t, "h2", { inFlight: true });
  },
  { skip: noTls },
);

test("tls: { server } with node:http2 (secure, stream API) drains per session", async (t) => {
  await http2Drain(t, "stream", { inFlight: true });
}, { skip: noTls });

test("tls: { server } with node:http2 without TLS (h2c) drains per session", async (t) => {
  await http2Drain(t, "h2c", { inFlight: true });
}, { skip: noTls });

/**
 * `{ server }` with a TLS server of node:https or node:http2 (HTTP/1.1 by
 * ALPN): an HTTPS/1.1 request in flight when the listener closes finishes
 * with `Connection: close`, an idle one is closed, and a client stuck before
 * its handshake is closed with FIN. Bun's https server accepts a connection
 * only once it sends (its server side stays in SYN-RECV), so there nothing
 * sees the stuck client and nothing has to close it.
 */
async function drainHttpsServer(t: TestContext, kind: "https" | "http2"): Promise<void> {
  const { cert, key, ca } = testCertificate()!;
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  let slowStarted!: () => void;
  const started = new Promise<void>((resolve) => slowStarted = resolve);
  const app = (request: { url?: string }, response: { end(body: string): void }): void => {
    if (request.url !== "/slow") return response.end("ok\n");
    slowStarted();
    void released.then(() => response.end("slow done\n"));
  };
  const tlsServer = kind === "https"
    ? https.createServer({ cert, key }, app)
    : http2.createSecureServer({ cert, key, allowHTTP1: true }, app);
  const server = await serveAndShutdown({
    server: tlsServer,
    hostname: "127.0.0.1",
    signals: false,
  });
  t.cleanup(() => server.close());
  const port = server.addr.port;
  const stuck = net.connect(port, "127.0.0.1");
  t.cleanup(() => stuck.destroy());
  const ends: string[] = [];
  stuck.on("end", () => ends.push("end"));
  stuck.on("error", (error: { code?: string }) => ends.push(`error ${error.code}`));
  const stuckClosed = new Promise((resolve) => stuck.once("close", resolve));
  await new Promise((resolve) => stuck.once("connect", resolve));
  const agent = new https.Agent({ keepAlive: true, ca });
  t.cleanup(() => agent.destroy());
  const get = (path: string) =>
    new Promise<{ body: string; connection?: string; socket: net.Socket }>((resolve, reject) => {
      const request = https.get({ host: "localhost", port, path, agent }, (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk) => body += chunk);
        response.on(
          "end",
          () => resolve({ body, connection: response.headers.connection, socket: request.socket! }),
        );
      });
      request.on("error", reject);
    });
  // Accepted in order: once /slow runs, the stuck connection was accepted too.
  const slow = get("/slow");
  slow.catch(() => {}); // asserted below
  await within(started, "/slow to start");
  const idle = await get("/"); // on a second socket
  const idleClosed = new Promise((resolve) => idle.socket.once("close", resolve));
  const shutdown = server.shutdown(3_000);
  await within(idleClosed, "the idle connection to close");
  release();
  const answer = await slow;
  assert.deepEqual([answer.body, answer.connection], ["slow done\n", "close"]);
  const result = await shutdown;
  assert.deepEqual(
    [result.graceful, result.closedIdle, result.drained, result.forced],
    [true, 1, 1, 0],
    JSON.stringify(result),
  );
  if (runtime === "bun" && kind === "https") return;
  await within(stuckClosed, "the stuck client's socket to close");
  assert.deepEqual(ends, ["end"]);
}

test(
  "tls: { server } with node:https drains; a client stuck in its handshake closes",
  async (t) => {
    await drainHttpsServer(t, "https");
  },
  { skip: noTls },
);

test(
  "tls: { server } with node:http2 (secure) drains HTTPS/1.1; a client stuck in its handshake closes",
  async (t) => {
    await drainHttpsServer(t, "http2");
  },
  { skip: noTls },
);

/** The RESP example over TLS on 127.0.0.1; closed after the test. */
async function serveRespOverTls(t: TestContext): Promise<Server> {
  const { cert, key } = testCertificate()!;
  const server = await serveAndShutdown({
    hostname: "127.0.0.1",
    signals: false,
    idleGrace: 0,
    tls: { cert, key },
    connection: respHandler(),
  });
  t.cleanup(() => server.close());
  return server;
}

const noRedisCli = spawnSync("redis-cli", ["--version"]).error !== undefined
  && "redis-cli is not installed (apt-get install redis-tools)";

test(
  "tls: TCP over TLS answers redis-cli --tls, then closes its idle client at once",
  async (t) => {
    const server = await serveRespOverTls(t);
    const certificate = testCertificate()!;
    const cli = (...command: string[]) =>
      run("redis-cli", [
        "--tls",
        "--cacert",
        certificate.caFile,
        "-h",
        "127.0.0.1",
        "-p",
        String(server.addr.port),
        ...command,
      ]);
    assert.equal((await cli("SET", "k", "over tls")).stdout.trim(), "OK");
    const got = await cli("GET", "k");
    assert.equal(got.stdout.trim(), "over tls", got.stderr);
    const idle = tls.connect({ host: "127.0.0.1", port: server.addr.port, ca: certificate.ca });
    t.cleanup(() => idle.destroy());
    await new Promise((resolve) => idle.once("secureConnect", resolve));
    idle.write("PING\r\n");
    await new Promise((resolve) => idle.once("data", resolve));
    const ended = new Promise((resolve) => idle.once("end", () => resolve("end")));
    const result = await server.shutdown(3_000);
    assert.equal(await within(ended, "a clean close (TLS close_notify, then FIN)"), "end");
    assert.deepEqual([result.graceful, result.closedIdle], [true, 1], JSON.stringify(result));
  },
  { skip: noTls || noRedisCli },
);

/**
 * openssl s_client on `port`, verifying against the test CA; it sends
 * `request`, and `answered` resolves once its output includes `expect`.
 * `exited` resolves with its exit code: OpenSSL 3 exits 1 on a close
 * without close_notify ("unexpected eof").
 */
function sClient(t: TestContext, port: number, extra: string[], request: string, expect: string) {
  const child = spawn("openssl", [
    "s_client",
    "-quiet",
    "-ign_eof",
    "-verify_return_error",
    ...extra,
    "-CAfile",
    testCertificate()!.caFile,
    "-connect",
    `127.0.0.1:${port}`,
    "-servername",
    "localhost",
  ], { stdio: ["pipe", "pipe", "pipe"] });
  t.cleanup(() => child.kill("SIGKILL"));
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (chunk) => stderr += chunk);
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  const answered = new Promise<void>((resolve) =>
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      if (stdout.includes(expect)) resolve();
    })
  );
  child.stdin.write(request);
  return {
    answered: within(answered, `${JSON.stringify(expect)} through openssl s_client`),
    exited: () => within(exited, "openssl s_client to exit"),
    stderr: () => stderr,
  };
}

test("tls: TCP over TLS answers openssl s_client, which ends by itself on shutdown", async (t) => {
  const server = await serveRespOverTls(t);
  const client = sClient(t, server.addr.port, [], "PING\r\n", "+PONG");
  await client.answered;
  const result = await server.shutdown(3_000);
  assert.equal(await client.exited(), 0, client.stderr());
  assert.deepEqual([result.graceful, result.closedIdle], [true, 1], JSON.stringify(result));
}, { skip: noTls });

test(
  "tls: an idle HTTPS/1.1 keep-alive connection is closed cleanly (close_notify, then FIN)",
  async (t) => {
    const { cert, key } = testCertificate()!;
    const server = await serveAndShutdown({
      hostname: "127.0.0.1",
      signals: false,
      tls: { cert, key },
      fetch: () => new Response("hello\n"),
    });
    t.cleanup(() => server.close());
    const request = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    const client = sClient(t, server.addr.port, ["-alpn", "http/1.1"], request, "hello");
    await client.answered;
    const result = await server.shutdown(3_000);
    assert.equal(await client.exited(), 0, client.stderr());
    assert.equal(result.forced, 0, JSON.stringify(result));
  },
  { skip: noTls },
);

test("tls: a client stuck before its TLS handshake delays nothing", async (t) => {
  const server = await serveRespOverTls(t);
  const stuck = net.connect(server.addr.port, "127.0.0.1");
  stuck.on("error", () => {});
  t.cleanup(() => stuck.destroy());
  await new Promise((resolve) => stuck.once("connect", resolve));
  const closed = new Promise((resolve) => stuck.once("close", resolve));
  const result = await server.shutdown(3_000);
  assert.deepEqual([result.graceful, result.forced], [true, 0], JSON.stringify(result));
  assert.ok(result.ms < 200, `shutdown took ${result.ms} ms`);
  // Deno keeps a socket in its handshake open until the client sends or the
  // process exits (see README): the shutdown is not delayed either way.
  if (runtime !== "deno") await within(closed, "the stuck client's socket to close");
}, { skip: noTls });

test(
  "tls: a client stuck before its TLS handshake in `connection` mode sees a clean close, not a reset",
  async (t) => {
    const { child, port } = await tlsFixture(t, "connection");
    const stuck = net.connect(port, "127.0.0.1");
    t.cleanup(() => stuck.destroy());
    const ends: string[] = [];
    stuck.on("end", () => ends.push("end"));
    stuck.on("error", (error: { code?: string }) => ends.push(`error ${error.code}`));
    const closed = new Promise((resolve) => stuck.once("close", resolve));
    await new Promise((resolve) => stuck.once("connect", resolve));
    // Connections are accepted in order: once a later client is answered, the
    // stuck one was accepted too (a connection the listener closes on before
    // accepting it is reset by the kernel, on every runtime).
    const answered = tls.connect({ host: "127.0.0.1", port, ca: testCertificate()!.ca });
    t.cleanup(() => answered.destroy());
    answered.on("error", () => {});
    await within(new Promise((resolve) => answered.once("secureConnect", resolve)), "TLS");
    answered.write("PING\r\n");
    await within(new Promise((resolve) => answered.once("data", resolve)), "+PONG");
    answered.destroy();
    child.signal("SIGTERM");
    const exit = await child.exit(5_000);
    assert.equal(exit.code, 0, exit.stderr);
    // Deno closes it only when the process exits (see README): a FIN all the same.
    await within(closed, "the stuck client's socket to close");
    assert.deepEqual(ends, ["end"]);
    const result = downResult(exit.stdout);
    assert.deepEqual([result.graceful, result.forced], [true, 0], JSON.stringify(result));
    assert.ok(result.ms < 200, `shutdown took ${result.ms} ms`);
  },
  { skip: noTls },
);

test("tls: a bad certificate rejects with a clear error and leaves nothing listening", async () => {
  const { cert, key } = testCertificate()!;
  const free = net.createServer();
  await new Promise<void>((resolve) => free.listen(0, "127.0.0.1", resolve));
  const port = (free.address() as net.AddressInfo).port;
  await new Promise((resolve) => free.close(resolve));
  const broken =
    "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
  const modes = [
    { fetch: () => new Response("never") },
    { connection: () => {} },
  ];
  for (const mode of modes) {
    for (const pair of [{ cert: broken, key }, { cert, key: broken }]) {
      await assert.rejects(
        serveAndShutdown({ hostname: "127.0.0.1", port, signals: false, tls: pair, ...mode }),
        /Cannot serve over TLS as 'tls' holds no usable certificate and key/,
      );
    }
  }
  // Nothing was left listening on the port.
  const again = net.createServer();
  await new Promise<void>((resolve, reject) => {
    again.once("error", reject);
    again.listen(port, "127.0.0.1", resolve);
  });
  await new Promise((resolve) => again.close(resolve));
}, { skip: noTls });

test(
  "tls: { server } with node:https: a client stuck before its TLS handshake is closed at listener close",
  async (t) => {
    const { cert, key } = testCertificate()!;
    const app = https.createServer({ cert, key }, (_request, response) => response.end("ok"));
    const accepted = new Promise((resolve) => app.once("connection", resolve));
    const server = await serveAndShutdown({ server: app, hostname: "127.0.0.1", signals: false });
    t.cleanup(() => server.close());
    const stuck = net.connect(server.addr.port, "127.0.0.1");
    stuck.on("error", () => {});
    t.cleanup(() => stuck.destroy());
    const closed = new Promise((resolve) => stuck.once("close", resolve));
    await within(accepted, "the server to accept the stuck client");
    const result = await server.shutdown(3_000);
    assert.deepEqual([result.graceful, result.forced], [true, 0], JSON.stringify(result));
    assert.ok(result.ms < 200, `shutdown took ${result.ms} ms`);
    await within(closed, "the stuck client's socket to close");
  },
  {
    skip: noTls
      || (runtime === "bun"
        && "known gap (Bun 1.4.5): Bun's node:tls server emits no 'connection' for a client stuck before its handshake"),
  },
);
