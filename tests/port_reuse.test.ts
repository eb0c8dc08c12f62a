// When `finished` settles the listening port is free to bind again, so a
// restart in the same process (or a supervisor's next start) never meets
// EADDRINUSE: in TCP and HTTP modes, with a client served before or not.

import assert from "node:assert/strict";
import { serveAndShutdown, type Server } from "../mod.ts";
import { TestClient } from "./_client.ts";
import { test, type TestContext } from "./_harness.ts";

type Mode = "connection" | "fetch";

/** A server in `mode` on 127.0.0.1 and `port`; closed after the test. */
async function serveOn(t: TestContext, mode: Mode, port = 0): Promise<Server> {
  const server = mode === "connection"
    ? await serveAndShutdown({
      hostname: "127.0.0.1",
      port,
      signals: false,
      async connection(conn) {
        for await (const chunk of conn) await conn.write(chunk);
      },
    })
    : await serveAndShutdown({
      hostname: "127.0.0.1",
      port,
      signals: false,
      fetch: () => new Response("ok\n"),
    });
  t.cleanup(() => server.close());
  return server;
}

/** Talks to the server once: an echo over TCP, a GET over HTTP. */
async function useOnce(mode: Mode, port: number): Promise<void> {
  if (mode === "fetch") {
    const response = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(await response.text(), "ok\n");
    return;
  }
  const client = await TestClient.connect(port);
  client.send("ping");
  await client.waitFor("ping");
  client.socket.end();
  await client.waitClosed();
}

const cases = [
  { name: "", serveFirst: false, force: false },
  { name: ", after serving a client", serveFirst: true, force: false },
  { name: ", after close()", serveFirst: true, force: true },
];

for (const mode of ["connection", "fetch"] as const) {
  for (const { name, serveFirst, force } of cases) {
    test(`${mode}: the port is free to bind again the moment finished settles${name}`, async (t) => {
      const first = await serveOn(t, mode);
      const { port } = first.addr;
      if (serveFirst) await useOnce(mode, port);
      void (force ? first.close() : first.shutdown(2_000));
      await first.finished;
      // No turn in between: a listener still closing would throw EADDRINUSE here.
      const second = await serveOn(t, mode, port);
      assert.equal(second.addr.port, port);
    });
  }
}
