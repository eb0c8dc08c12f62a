// Signals at awkward moments: during startup, in a burst, SIGINT then SIGTERM.
// One shutdown each time, the second signal forces, nothing unhandled, and
// the process exits 0 by itself.

import assert from "node:assert/strict";
import http from "node:http";
import process from "node:process";
import { fixture, runtime, test, type TestContext } from "./_harness.ts";
import { Child } from "./_process.ts";

/** Starts the request mode of the fixture with one request in flight. */
async function inFlight(t: TestContext, args: string[] = []): Promise<Child> {
  const child = new Child(fixture("signals"), ["request", ...args]);
  t.cleanup(() => void child.process.kill("SIGKILL"));
  const port = Number((await child.waitForOutput(/ready (\d+)/))[1]);
  const request = http.get({ host: "127.0.0.1", port, agent: false });
  request.on("error", () => {}); // forced: cut, or a 503 on Deno
  request.on("response", (response) => response.resume());
  await child.waitForOutput(/handling/);
  return child;
}

function assertOneForcedShutdown(exit: { code: number | null; stdout: string; stderr: string }) {
  assert.equal(exit.code, 0, exit.stderr);
  assert.equal(exit.stdout.match(/down /g)?.length, 1, exit.stdout);
  assert.match(exit.stdout, /down \{"graceful":false,.*"forced":1/);
  assert.doesNotMatch(exit.stdout + exit.stderr, /unhandled/i);
}

test("signals: a burst of 100 SIGTERMs is one shutdown, forced by the second; exit 0", async (t) => {
  // The app ignores SIGTERMs of the burst that arrive after the server is
  // down: lastcall has removed its handlers by then, as it must.
  const child = await inFlight(t, ["late"]);
  for (let i = 0; i < 100; i++) process.kill(child.process.pid!, "SIGTERM");
  assertOneForcedShutdown(await child.exit());
});

test("signals: SIGINT then SIGTERM: one shutdown, the second forces; exit 0", async (t) => {
  const child = await inFlight(t);
  child.signal("SIGINT");
  child.signal("SIGTERM");
  const exit = await child.exit();
  assertOneForcedShutdown(exit);
  assert.doesNotMatch(exit.stderr, /lastcall:/, "no warning without other listeners");
});

test(
  "signals: other listeners of the signal are named in one warning, also one that removed itself before lastcall's ran",
  async (t) => {
    const child = await inFlight(t, ["others"]);
    child.signal("SIGTERM");
    const exit = await child.exit();
    // shutdownHook sent SIGTERM again: the second signal forced, as it must.
    assertOneForcedShutdown(exit);
    assert.equal(exit.stderr.match(/lastcall:/g)?.length, 1, exit.stderr);
    assert.match(
      exit.stderr,
      /lastcall: SIGTERM also went to 2 other listeners \(flushLogs\(\), shutdownHook\(\)\)\..*'signals: false'/,
    );
  },
  {
    skip: runtime === "deno"
      && "Deno.addSignalListener lists no listeners: Deno shows lastcall none to name (docs/runtimes.md)",
  },
);

test(
  "signals: SIGTERM while serveAndShutdown is still listening shuts the server down; exit 0",
  async (t) => {
    const child = new Child(fixture("signals"), ["during-listen"]);
    t.cleanup(() => void child.process.kill("SIGKILL"));
    const exit = await child.exit();
    assert.equal(exit.code, 0, exit.stderr);
    assert.match(exit.stdout, /ready \d+/);
    assert.match(exit.stdout, /down \{"graceful":true/);
  },
);
