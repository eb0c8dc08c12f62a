// The recipes in examples/, run as a user would: start, use, SIGTERM, and
// the process drains and exits by itself. (demo.ts, express.ts and the RESP
// server have tests of their own.)
import assert from "node:assert/strict";
import http from "node:http";
import { WebSocket as WsClient } from "ws";
import { example, runtime, test, type TestContext } from "./_harness.ts";
import { request } from "./_http_client.ts";
import { Child } from "./_process.ts";

/** Starts an HTTP example on a free port and returns it with its port. */
async function startHttp(t: TestContext, name: string): Promise<{ child: Child; port: number }> {
  const child = new Child(example(name), [], { PORT: "0", LOG_REQUESTS: "1" });
  t.cleanup(() => void child.process.kill("SIGKILL"));
  const port = Number((await child.waitForOutput(/listening on [^:]+:(\d+)/))[1]);
  return { child, port };
}

/** A slow request in flight, then SIGTERM: it completes and the process exits 0. */
async function drainsOnSigterm(t: TestContext, name: string, hello: RegExp): Promise<void> {
  const { child, port } = await startHttp(t, name);
  const agent = new http.Agent({ keepAlive: true });
  t.cleanup(() => agent.destroy());
  assert.match((await request(agent, port, "/")).body, hello);
  // A Deadline of 0 ms is expired when made: the example must not wait for its event.
  assert.equal((await request(agent, port, "/slow?ms=0")).body, "slow work done\n");
  const slow = request(agent, port, "/slow?ms=300");
  await child.waitForOutput(/slow started[\s\S]*slow started/); // the second: ms=300

  child.signal("SIGTERM");
  const done = await slow;
  assert.equal(done.body, "slow work done\n");
  const exit = await child.exit();
  assert.equal(exit.code, 0, exit.stderr);
  assert.match(exit.stdout, new RegExp(`${name} down: \\{"graceful":true`));
}

test("hono recipe: fetch: app.fetch serves, drains on SIGTERM, exits 0", async (t) => {
  await drainsOnSigterm(t, "hono", /hello from Hono/);
});

test("fastify recipe: { server: app.server } serves, drains on SIGTERM, exits 0", async (t) => {
  await drainsOnSigterm(t, "fastify", /hello from Fastify/);
});

test("worker-pool recipe: SIGTERM stops taking jobs, finishes those taken, exits 0", async (t) => {
  const child = new Child(example("worker-pool"), [], { JOBS: "40", WORKERS: "4", JOB_MS: "100" });
  t.cleanup(() => void child.process.kill("SIGKILL"));
  await child.waitForOutput(/job 1 done/);
  child.signal("SIGTERM");
  const exit = await child.exit();
  assert.equal(exit.code, 0, exit.stderr);
  const result = JSON.parse(/worker pool down: (\{.*\})/.exec(exit.stdout)![1]);
  assert.equal(result.graceful, true);
  assert.ok(result.left > 0, `jobs were left in the queue: ${exit.stdout}`);
  // Every job taken was finished: done + left is every job.
  assert.equal(result.done + result.left, 40);
});

test("worker-pool recipe: jobs still running at the deadline are abandoned, exit 1", async (t) => {
  const child = new Child(example("worker-pool"), [], {
    JOBS: "8",
    WORKERS: "2",
    JOB_MS: "5000",
    GRACE_PERIOD: "100",
  });
  t.cleanup(() => void child.process.kill("SIGKILL"));
  await child.waitForOutput(/worker pool running/);
  child.signal("SIGTERM");
  const exit = await child.exit();
  assert.equal(exit.code, 1);
  assert.match(exit.stdout, /worker pool down: \{"graceful":false,"abandoned":2\}/);
});

/** Opens a WebSocket to an example, checks the echo, and resolves the close code. */
async function echoThenClose(port: number): Promise<{ closed: Promise<number> }> {
  const socket = new WsClient(`ws://127.0.0.1:${port}/`);
  const closed = new Promise<number>((resolve) => socket.on("close", resolve));
  socket.on("error", () => {});
  await new Promise((resolve) => socket.once("open", resolve));
  const echoed = new Promise((resolve) => socket.once("message", resolve));
  socket.send("hello");
  assert.equal(String(await echoed), "hello");
  return { closed };
}

/** A WebSocket recipe: echo, SIGTERM, the client sees 1001, one socket drained, exit 0. */
async function webSocketRecipe(t: TestContext, name: string, printedAs: string): Promise<void> {
  const { child, port } = await startHttp(t, name);
  const { closed } = await echoThenClose(port);
  child.signal("SIGTERM");
  assert.equal(await closed, 1001);
  const exit = await child.exit();
  assert.equal(exit.code, 0, exit.stderr);
  assert.match(
    exit.stdout,
    new RegExp(`${printedAs} down: \\{"graceful":true,"closedIdle":0,"drained":1,"forced":0`),
  );
}

test("ws recipe: SIGTERM closes the client with 1001, the socket drains, exit 0", async (t) => {
  await webSocketRecipe(t, "ws", "ws");
});

test(
  "websocket-echo recipe: SIGTERM sends 1001 going away, the socket drains, exit 0",
  async (t) => {
    await webSocketRecipe(t, "websocket-echo", "echo");
  },
  { skip: runtime === "node" && "Node's fetch mode has no upgrade: the ws recipe covers Node" },
);
