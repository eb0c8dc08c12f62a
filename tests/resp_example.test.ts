import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { TestClient } from "./_client.ts";
import { example, fixture, test } from "./_harness.ts";
import { Child, runToExit } from "./_process.ts";

const hasRedisTools = existsSync("/usr/bin/redis-cli") && existsSync("/usr/bin/redis-benchmark");
const noRedisTools = hasRedisTools
  ? false
  : "redis-tools is not installed (npm test installs it with apt-get when it can)";

/** Starts examples/resp-server on a free port and returns it with its port. */
async function startExample(env: Record<string, string> = {}) {
  const child = new Child(example("resp-server"), ["0"], env);
  const match = await child.waitForOutput(/listening on [^:]+:(\d+)/);
  return { child, port: Number(match[1]) };
}

function run(
  command: string,
  args: string[],
  timeout = 60_000,
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

test("resp example: SIGTERM lets in-flight commands finish, then the process exits 0", async () => {
  const { child, port } = await startExample({ LOG_COMMANDS: "1" });
  const busy = await TestClient.connect(port);
  const idle = await TestClient.connect(port);
  busy.send("SLOW 300\r\n");
  await child.waitForOutput(/exec SLOW 300/);
  child.signal("SIGTERM");
  const idleEnding = await idle.waitClosed();
  assert.equal(idleEnding.sawEnd, true, "idle client closed cleanly");
  const ending = await busy.waitClosed();
  assert.equal(busy.text, "+OK\r\n", "the in-flight command got its reply");
  assert.equal(ending.sawEnd, true);
  const exit = await child.exit();
  assert.equal(exit.code, 0, exit.stderr);
  assert.match(exit.stdout, /resp down: \{"graceful":true,"closedIdle":1,"drained":1,"forced":0/);
});

test("resp example: a second SIGTERM forces a stuck command and still exits 0", async () => {
  const { child, port } = await startExample({ LOG_COMMANDS: "1" });
  const busy = await TestClient.connect(port);
  const idle = await TestClient.connect(port);
  busy.send("SLOW 60000\r\n");
  await child.waitForOutput(/exec SLOW 60000/);
  child.signal("SIGTERM");
  // The idle client's close shows the first signal was handled (two signals
  // sent back to back may be merged into one by the kernel).
  await idle.waitClosed();
  child.signal("SIGTERM");
  await busy.waitClosed();
  const exit = await child.exit();
  assert.equal(exit.code, 0, exit.stderr);
  assert.match(exit.stdout, /"graceful":false.*"forced":1/);
});

test("a failed listen (EADDRINUSE) leaves nothing behind: the process exits by itself", async () => {
  const exit = await runToExit(fixture("listen_in_use"));
  assert.equal(exit.code, 0, exit.stderr);
  assert.match(exit.stdout, /second listen failed: EADDRINUSE/);
  assert.match(exit.stdout, /first down: true/);
});

test("resp example: redis-cli talks to it", async () => {
  const { child, port } = await startExample();
  const cli = (...args: string[]) => run("redis-cli", ["-p", String(port), ...args]);
  assert.equal((await cli("PING")).out.trim(), "PONG");
  assert.equal((await cli("SET", "k", "v")).out.trim(), "OK");
  assert.equal((await cli("GET", "k")).out.trim(), "v");
  assert.equal((await cli("INCR", "n")).out.trim(), "1");
  assert.equal((await cli("EXISTS", "k", "n", "x")).out.trim(), "2");
  assert.equal((await cli("DEL", "k")).out.trim(), "1");
  child.signal("SIGTERM");
  assert.equal((await child.exit()).code, 0);
}, { skip: noRedisTools });

test("resp example: redis-benchmark, pipelined and not, completes with no errors", async () => {
  const { child, port } = await startExample();
  for (const pipeline of ["1", "16"]) {
    const { code, out } = await run("redis-benchmark", [
      ...["-p", String(port), "-t", "ping,set,get,incr", "-n", "20000", "-c", "20"],
      ...["-P", pipeline, "-q"],
    ]);
    assert.equal(code, 0, out);
    assert.doesNotMatch(out, /error/i);
    for (const name of ["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR"]) {
      assert.match(out, new RegExp(`${name}: [\\d.]+ requests per second`), out);
    }
  }
  child.signal("SIGTERM");
  const exit = await child.exit();
  assert.equal(exit.code, 0, exit.stderr);
}, { skip: noRedisTools });
