// The mistakes a new user makes first: each one a TypeError or RangeError that
// names the option and says what to pass, with nothing left listening; a port
// in use named in the error; the same bind address and peer addresses on
// every runtime.

import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { type HttpOptions, serveAndShutdown } from "../mod.ts";
import { TestClient } from "./_client.ts";
import { test } from "./_harness.ts";

const fetch = () => new Response("ok");
const connection = () => {};

/** Calls serveAndShutdown with options a type-checked caller could not write. */
function serveUnchecked(options: unknown) {
  return serveAndShutdown(options as HttpOptions);
}

function rejectsWith(options: unknown, Type: ErrorConstructor, pattern: RegExp) {
  return assert.rejects(serveUnchecked(options), (error: Error) => {
    assert.ok(error instanceof Type, `${error.name}: ${error.message}`);
    assert.match(error.message, pattern);
    return true;
  });
}

test("options: an unknown key is a TypeError naming it", async () => {
  await rejectsWith({ fetch, gracePeriodMs: 5_000 }, TypeError, /'gracePeriodMs' is not an option/);
  await rejectsWith({ connection, timeout: 1 }, TypeError, /'timeout'/);
});

test("options: signals must be signal names a process can catch", async () => {
  await rejectsWith({ fetch, signals: ["SIGTERM", "SIGFOO"] }, TypeError, /'signals'.*"SIGFOO"/);
  await rejectsWith({ fetch, signals: ["SIGKILL"] }, TypeError, /'signals'.*"SIGKILL"/);
  await rejectsWith({ fetch, signals: [15] }, TypeError, /'signals'.*15/);
  const server = await serveAndShutdown({ fetch, signals: ["SIGHUP", "SIGUSR2"], port: 0 });
  await server.shutdown(1_000);
});

test("options: tls must be PEM text for cert and key, and not with a server", async () => {
  const pem = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n";
  await rejectsWith(
    { fetch, tls: "cert.pem" },
    TypeError,
    /'tls' must be an object \{ cert, key \}/,
  );
  await rejectsWith(
    { fetch, tls: { cert: pem } },
    TypeError,
    /'tls\.key' must be PEM text.*undefined/,
  );
  await rejectsWith(
    { connection, tls: { cert: "./cert.pem", key: pem } },
    TypeError,
    /'tls\.cert' must be PEM text, the file's contents rather than its path: received "\.\/cert\.pem"/,
  );
  await rejectsWith(
    { connection, tls: { cert: pem, key: new Uint8Array(1) } },
    TypeError,
    /'tls\.key' must be PEM text \(a string\): received a Uint8Array/,
  );
  await rejectsWith(
    { server: http.createServer(), tls: { cert: pem, key: pem } },
    TypeError,
    /'tls' is for 'fetch' and 'connection': a 'server' brings its own TLS/,
  );
});

test("options: health with a raw TCP server is a TypeError", async () => {
  await rejectsWith({ connection, health: "/healthz" }, TypeError, /'health'.*'connection'/);
});

test("options: an app passed as server says what to pass instead", async () => {
  const expressLike = Object.assign(function app() {}, { listen() {}, use() {} });
  await rejectsWith({ server: expressLike }, TypeError, /http\.createServer\(app\)/);
  const fastifyLike = { server: http.createServer(), ready() {}, listen() {}, close() {} };
  await rejectsWith({ server: fastifyLike }, TypeError, /app\.server after await app\.ready\(\)/);
  const koaLike = { callback() {}, listen() {}, use() {} };
  await rejectsWith({ server: koaLike }, TypeError, /http\.createServer\(app\.callback\(\)\)/);
  const listener = (_request: unknown, _response: unknown) => {};
  await rejectsWith(
    { server: listener },
    TypeError,
    /request listener: pass http\.createServer\(listener\)/,
  );
  const nestLike = { getHttpServer() {}, init() {}, listen() {}, close() {} };
  await rejectsWith(
    { server: nestLike },
    TypeError,
    /app\.getHttpServer\(\) after await app\.init\(\)/,
  );
  const honoLike = { fetch() {}, get() {}, route() {} };
  await rejectsWith({ server: honoLike }, TypeError, /\{ fetch: app\.fetch \}/);
  const notAServer = { port: 80 };
  await rejectsWith({ server: notAServer }, TypeError, /'server' must be a node:http.*an object$/);
});

test("options: error messages never print a function's source", async () => {
  await rejectsWith(
    { fetch: "handler" },
    TypeError,
    /'fetch' must be a function: received "handler"/,
  );
  await assert.rejects(
    serveUnchecked({ server: function secret() {/* source */} }),
    (error: Error) => {
      assert.doesNotMatch(error.message, /source|\{/);
      return true;
    },
  );
});

test("options: a port in use rejects with EADDRINUSE naming the address, in every mode", async (t) => {
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
  t.cleanup(() => new Promise((resolve) => taken.close(resolve)));
  const port = (taken.address() as net.AddressInfo).port;
  const modes: unknown[] = [{ fetch }, { connection }, { server: http.createServer() }];
  for (const mode of modes) {
    await assert.rejects(
      serveUnchecked({ ...(mode as object), hostname: "127.0.0.1", port, signals: false }),
      (error: NodeJS.ErrnoException) => {
        assert.equal(error.code, "EADDRINUSE");
        assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
        return true;
      },
    );
  }
});

test("options: the default address is 0.0.0.0, and peers are plain IPv4, on every runtime", async (t) => {
  const http = await serveAndShutdown({
    signals: false,
    fetch: (_request, info) => new Response(info.remoteAddr.hostname),
  });
  t.cleanup(() => http.close());
  assert.equal(http.addr.hostname, "0.0.0.0");
  const response = await globalThis.fetch(`http://127.0.0.1:${http.addr.port}/`);
  assert.equal(await response.text(), "127.0.0.1");
  const tcp = await serveAndShutdown({
    signals: false,
    hostname: "::",
    async connection(conn) {
      await conn.write(`${conn.remoteAddr.hostname}\n`);
    },
  });
  t.cleanup(() => tcp.close());
  const client = await TestClient.connect(tcp.addr.port);
  await client.waitClosed();
  assert.equal(client.text, "127.0.0.1\n");
});
