// What every framework recipe in examples/ must do at SIGTERM, checked from
// the outside with real clients: an idle keep-alive connection, a request in
// flight, a Server-Sent Events stream and (where the framework has them) a
// WebSocket, then the signal. The recipes share one shape: they print
// `<name> listening on host:port`, `request <path>` for each request when
// LOG_REQUESTS is set, `<name> shutting down` when shutdown begins,
// `<name> drained: {result}` once the drain is over, then their own cleanup
// line(s) `<name> cleanup: ...`, and exit by themselves (status 1 when
// something was forced).

import assert from "node:assert/strict";
import http from "node:http";
import { WebSocket as WsClient } from "ws";
import type { ShutdownResult } from "../mod.ts";
import { example, type TestContext } from "./_harness.ts";
import { request, socketClosed } from "./_http_client.ts";
import { Child, type Exit } from "./_process.ts";

export interface Recipe {
  /** The example's file name, without extension. */
  file: string;
  /** The word it prints its lines with. */
  name: string;
  /** What GET / answers. */
  hello: RegExp;
  /** The WebSocket path, when the recipe serves WebSockets. */
  webSocket?: string;
  /** The cleanup lines the app prints after the drain, each expected exactly once. */
  cleanup: RegExp[];
  /** Extra environment for the child. */
  env?: Record<string, string>;
  /**
   * Served by the runtime's own server (fetch mode on Deno and Bun), which
   * hides its connections: requests are counted, idle connections are not.
   */
  hidesConnections?: boolean;
}

/** Starts a recipe on a free port. */
export async function startRecipe(
  t: TestContext,
  recipe: Recipe,
  env: Record<string, string> = {},
): Promise<{ child: Child; port: number }> {
  const child = new Child(example(recipe.file), [], {
    PORT: "0",
    LOG_REQUESTS: "1",
    ...recipe.env,
    ...env,
  });
  t.cleanup(() => void child.process.kill("SIGKILL"));
  const listening = new RegExp(`${recipe.name} listening on [^:]+:(\\d+)`);
  const port = Number((await child.waitForOutput(listening, 20_000))[1]);
  return { child, port };
}

/** An SSE stream: resolves once its first event arrived; `ended` resolves with the whole body. */
export async function openEvents(
  t: TestContext,
  port: number,
  path = "/events",
): Promise<{ ended: Promise<string> }> {
  let body = "";
  let firstEvent: () => void;
  const started = new Promise<void>((resolve) => firstEvent = resolve);
  const ended = new Promise<string>((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path, agent: false }, (response) => {
      response.setEncoding("utf8");
      response.on("data", (chunk) => {
        body += chunk;
        if (body.includes("\n\n")) firstEvent();
      });
      response.on("end", () => resolve(body));
      response.on("error", reject);
    });
    req.on("error", reject);
    t.cleanup(() => req.destroy());
  });
  ended.catch(() => {});
  await Promise.race([started, ended]);
  return { ended };
}

/** A WebSocket that echoed once; `closed` resolves with the close code. */
export async function openWebSocket(
  t: TestContext,
  port: number,
  path: string,
): Promise<{ closed: Promise<number> }> {
  const socket = new WsClient(`ws://127.0.0.1:${port}${path}`);
  t.cleanup(() => socket.terminate());
  const closed = new Promise<number>((resolve) => socket.on("close", resolve));
  socket.on("error", () => {});
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("close", (code) => reject(new Error(`WebSocket closed before open: ${code}`)));
  });
  const echoed = new Promise((resolve) => socket.once("message", resolve));
  socket.send("hello");
  assert.equal(String(await echoed), "hello");
  return { closed };
}

/** The result the recipe printed once drained. */
export function drainedResult(recipe: Recipe, exit: Exit): ShutdownResult {
  const line = new RegExp(`${recipe.name} drained: (\\{.*\\})`).exec(exit.stdout);
  assert.ok(line, `no drained line in: ${exit.stdout}\n${exit.stderr}`);
  return JSON.parse(line[1]!);
}

/** Each cleanup line appears exactly once, after the drained line. */
export function cleanupRanOnceAfterDrain(recipe: Recipe, exit: Exit): void {
  const drainedAt = exit.stdout.indexOf(`${recipe.name} drained:`);
  for (const pattern of recipe.cleanup) {
    const hits = [...exit.stdout.matchAll(new RegExp(pattern.source, "g"))];
    assert.equal(hits.length, 1, `${pattern} should run once: ${exit.stdout}`);
    assert.ok(hits[0]!.index! > drainedAt, `${pattern} ran before the drain ended: ${exit.stdout}`);
  }
}

/**
 * The whole scenario: idle keep-alive connection, SSE stream, WebSocket and a
 * 1 s request in flight, then SIGTERM. Everything ends cleanly, nothing is
 * lost, the cleanup runs once after the drain, and the process exits 0.
 */
export async function drainsEverything(t: TestContext, recipe: Recipe): Promise<ShutdownResult> {
  const { child, port } = await startRecipe(t, recipe);
  const idleAgent = new http.Agent({ keepAlive: true });
  const slowAgent = new http.Agent({ keepAlive: true });
  t.cleanup(() => idleAgent.destroy());
  t.cleanup(() => slowAgent.destroy());

  const hello = await request(idleAgent, port, "/");
  assert.match(hello.body, recipe.hello);
  const idleClosed = socketClosed(hello.socket, 10_000);
  idleClosed.catch(() => {});
  const events = await openEvents(t, port);
  const webSocket = recipe.webSocket ? await openWebSocket(t, port, recipe.webSocket) : undefined;
  const slow = request(slowAgent, port, "/slow?ms=1000");
  await child.waitForOutput(/request \/slow/);

  child.signal("SIGTERM");
  const done = await slow;
  assert.equal(done.body, "slow work done\n");
  assert.equal(done.headers.connection, "close");
  await idleClosed;
  assert.match(await events.ended, /event: bye/);
  if (webSocket) assert.equal(await webSocket.closed, 1001);
  const exit = await child.exit();
  assert.equal(exit.code, 0, `${exit.stderr}\n${exit.stdout}`);
  cleanupRanOnceAfterDrain(recipe, exit);
  const result = drainedResult(recipe, exit);
  assert.equal(result.graceful, true);
  assert.equal(result.forced, 0);
  // slow request + event stream (+ WebSocket) drained, the idle connection closed.
  assert.equal(result.drained, webSocket ? 3 : 2, JSON.stringify(result));
  assert.equal(result.closedIdle, recipe.hidesConnections ? 0 : 1, JSON.stringify(result));
  return result;
}

/**
 * A request that outlives the grace: the first SIGTERM starts the drain, the
 * second forces it; the cleanup still runs once and the process exits by
 * itself with status 1 (something was cut).
 */
export async function secondSignalForces(t: TestContext, recipe: Recipe): Promise<void> {
  const { child, port } = await startRecipe(t, recipe);
  const agent = new http.Agent({ keepAlive: true });
  t.cleanup(() => agent.destroy());
  const stuck = request(agent, port, "/slow?ms=20000");
  stuck.catch(() => {});
  await child.waitForOutput(/request \/slow/);
  child.signal("SIGTERM");
  await child.waitForOutput(new RegExp(`${recipe.name} shutting down`));
  child.signal("SIGTERM");
  const exit = await child.exit(5_000);
  assert.equal(exit.killed, false, exit.stderr);
  assert.equal(exit.code, 1, exit.stderr);
  // Cut: a reset, or on Deno (which cannot sever a connection) a 503 in its place.
  await stuck.then((answer) => assert.equal(answer.status, 503), () => {});
  cleanupRanOnceAfterDrain(recipe, exit);
  const result = drainedResult(recipe, exit);
  assert.equal(result.graceful, false);
  assert.equal(result.forced, 1);
}
