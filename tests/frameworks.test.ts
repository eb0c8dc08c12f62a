// The frameworks users deploy, each run from its recipe in examples/ as a
// child process and stopped with SIGTERM (issue 24): in-flight work finishes
// with `Connection: close`, idle connections close, streams and WebSockets
// end (1001, counted), the framework's own cleanup runs once after the
// drain, a second signal forces, and the process exits by itself.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import { join } from "node:path";
import process from "node:process";
import { io as ioClient } from "socket.io-client";
import type { ShutdownResult } from "../mod.ts";
import {
  cleanupRanOnceAfterDrain,
  drainedResult,
  drainsEverything,
  type Recipe,
  secondSignalForces,
  startRecipe,
} from "./_frameworks.ts";
import { fixture, runtime, test, type TestContext } from "./_harness.ts";
import { request, socketClosed } from "./_http_client.ts";
import { Child } from "./_process.ts";

const require = createRequire(import.meta.url);

const expressWs: Recipe = {
  file: "express-ws",
  name: "express",
  hello: /hello from Express/,
  webSocket: "/ws",
  cleanup: [/express cleanup: pool closed/],
};

test("frameworks: Express 5 + ws drains requests, SSE and WebSockets on SIGTERM", async (t) => {
  await drainsEverything(t, expressWs);
});

test("frameworks: Express 5 + ws: a second SIGTERM forces, cleanup once, exit 1", async (t) => {
  await secondSignalForces(t, expressWs);
});

const koa: Recipe = {
  file: "koa",
  name: "koa",
  hello: /hello from Koa/,
  cleanup: [/koa cleanup: pool closed/],
};

test("frameworks: Koa 3 drains requests and SSE on SIGTERM", async (t) => {
  await drainsEverything(t, koa);
});

test("frameworks: Koa 3: a second SIGTERM forces, cleanup once, exit 1", async (t) => {
  await secondSignalForces(t, koa);
});

const fastify: Recipe = {
  file: "fastify-websocket",
  name: "fastify",
  hello: /hello from Fastify/,
  webSocket: "/ws",
  cleanup: [/fastify cleanup: preClose hook/, /fastify cleanup: onClose hook/],
};

test(
  "frameworks: Fastify 5 + @fastify/websocket drains, then app.close() runs its hooks once",
  async (t) => {
    await drainsEverything(t, fastify);
  },
);

test("frameworks: Fastify 5: a second SIGTERM forces, hooks once, exit 1", async (t) => {
  await secondSignalForces(t, fastify);
});

const h3: Recipe = {
  file: "h3",
  name: "h3",
  hello: /hello from h3/,
  cleanup: [/h3 cleanup: pool closed/],
  hidesConnections: runtime !== "node",
};
const h3NodeHandler: Recipe = { ...h3, env: { H3_NODE: "1" }, hidesConnections: false };

test("frameworks: h3 2 (fetch: app.fetch) drains requests and SSE on SIGTERM", async (t) => {
  await drainsEverything(t, h3);
});

test("frameworks: h3 2 (fetch): a second SIGTERM forces, cleanup once, exit 1", async (t) => {
  await secondSignalForces(t, h3);
});

test("frameworks: h3 2 (toNodeHandler under { server }) drains requests and SSE", async (t) => {
  await drainsEverything(t, h3NodeHandler);
});

test(
  "frameworks: h3 2 (toNodeHandler): a second SIGTERM forces, cleanup once, exit 1",
  async (t) => {
    await secondSignalForces(t, h3NodeHandler);
  },
);

const socketIo: Recipe = {
  file: "socketio",
  name: "socket.io",
  hello: /hello from socket.io/,
  cleanup: [/socket.io cleanup: io.close\(\) done/],
};

/** A socket.io client on one transport that echoed once; `disconnected` resolves with the reason. */
async function socketIoClient(
  t: TestContext,
  port: number,
  transport: "websocket" | "polling",
): Promise<{ disconnected: Promise<string> }> {
  const client = ioClient(`http://127.0.0.1:${port}`, { transports: [transport] });
  t.cleanup(() => void client.close());
  const disconnected = new Promise<string>((resolve) => client.on("disconnect", resolve));
  await new Promise<void>((resolve, reject) => {
    client.once("connect", resolve);
    client.once("connect_error", reject);
  });
  assert.equal(client.io.engine.transport.name, transport);
  assert.equal(await client.emitWithAck("echo", "hello"), "hello");
  return { disconnected };
}

test(
  "frameworks: socket.io 4 disconnects WebSocket and long-polling clients at once, drains, exits 0",
  async (t) => {
    const { child, port } = await startRecipe(t, socketIo);
    const agent = new http.Agent({ keepAlive: true });
    t.cleanup(() => agent.destroy());
    const hello = await request(agent, port, "/");
    assert.match(hello.body, socketIo.hello);
    const idleClosed = socketClosed(hello.socket, 10_000);
    const webSocket = await socketIoClient(t, port, "websocket");
    const polling = await socketIoClient(t, port, "polling");
    const slowAgent = new http.Agent({ keepAlive: true });
    t.cleanup(() => slowAgent.destroy());
    const slow = request(slowAgent, port, "/slow?ms=1000");
    await child.waitForOutput(/request \/slow/);

    child.signal("SIGTERM");
    assert.equal(await webSocket.disconnected, "io server disconnect");
    assert.equal(await polling.disconnected, "io server disconnect");
    const done = await slow;
    assert.equal(done.body, "slow work done\n");
    assert.equal(done.headers.connection, "close");
    await idleClosed;
    const exit = await child.exit();
    assert.equal(exit.code, 0, `${exit.stderr}\n${exit.stdout}`);
    cleanupRanOnceAfterDrain(socketIo, exit);
    const result = drainedResult(socketIo, exit);
    assert.equal(result.graceful, true);
    assert.equal(result.forced, 0);
    // The long poll did not hold shutdown: it ended with the slow request (1 s), not at pingInterval (25 s).
    assert.ok(result.ms < 3_000, JSON.stringify(result));
    // The slow request, the WebSocket, the long poll (and the polling client's other connection).
    assert.ok(result.drained >= 3, JSON.stringify(result));
  },
);

test("frameworks: socket.io 4: a second SIGTERM forces, cleanup once, exit 1", async (t) => {
  await secondSignalForces(t, socketIo);
});

const nestExpress: Recipe = {
  file: "nest",
  name: "nest",
  hello: /hello from Nest/,
  webSocket: "/ws",
  cleanup: [/nest cleanup: onModuleDestroy/, /nest cleanup: onApplicationShutdown/],
};
const nestFastify: Recipe = { ...nestExpress, env: { NEST_ADAPTER: "fastify" } };

test(
  "frameworks: NestJS 12 (Express adapter) drains, then app.close() runs its hooks once",
  async (t) => {
    await drainsEverything(t, nestExpress);
  },
);

test(
  "frameworks: NestJS 12 (Express adapter): a second SIGTERM forces, hooks once, exit 1",
  async (t) => {
    await secondSignalForces(t, nestExpress);
  },
);

test(
  "frameworks: NestJS 12 (Fastify adapter) drains, then app.close() runs its hooks once",
  async (t) => {
    await drainsEverything(t, nestFastify);
  },
);

test(
  "frameworks: NestJS 12 (Fastify adapter): a second SIGTERM forces, hooks once, exit 1",
  async (t) => {
    await secondSignalForces(t, nestFastify);
  },
);

// Today's behaviour of a Nest app that keeps `enableShutdownHooks()` (issue 24,
// measured 10 of 10 runs alike per runtime and adapter). Nest answers SIGTERM
// itself: onModuleDestroy at once, then `server.close(cb)`, then it sends
// SIGTERM to the process again. When lastcall learns to cooperate or to name
// the conflict, these tests change with it.
async function nestWithShutdownHooks(t: TestContext, adapter: "express" | "fastify") {
  const child = new Child(fixture("nest_shutdown_hooks"), [], { NEST_ADAPTER: adapter });
  t.cleanup(() => void child.process.kill("SIGKILL"));
  const port = Number((await child.waitForOutput(/nest listening on [^:]+:(\d+)/, 20_000))[1]);
  const agent = new http.Agent({ keepAlive: true });
  t.cleanup(() => agent.destroy());
  const slow = request(agent, port, "/slow?ms=1000").then(
    (answer) => answer,
    (error: Error) => error,
  );
  await child.waitForOutput(/request \/slow/);
  child.signal("SIGTERM");
  const answer = await slow;
  const exit = await child.exit();
  const result = JSON.parse(/nest drained: (\{.*\})/.exec(exit.stdout)![1]!) as ShutdownResult;
  return { answer, exit, result };
}

/** lastcall's warning naming the SIGTERM listener enableShutdownHooks() installs. */
const NEST_NAMED = /lastcall: SIGTERM also went to 1 other listener \(cleanup\(\)\)/;

for (const adapter of ["express", "fastify"] as const) {
  test(
    `frameworks: NestJS + enableShutdownHooks() (${adapter}, today) on Node: drains, but onModuleDestroy runs at SIGTERM, before the in-flight work ends`,
    async (t) => {
      const { answer, exit, result } = await nestWithShutdownHooks(t, adapter);
      assert.ok(!(answer instanceof Error), String(answer));
      assert.equal(answer.body, "slow work done\n");
      assert.equal(result.graceful, true);
      assert.equal(exit.code, 0, exit.stderr);
      const destroyedAt = exit.stdout.indexOf("hook: onModuleDestroy");
      assert.ok(
        destroyedAt >= 0 && destroyedAt < exit.stdout.indexOf("slow answered"),
        exit.stdout,
      );
      assert.match(exit.stderr, NEST_NAMED, "lastcall names Nest's own SIGTERM listener");
    },
    { skip: runtime !== "node" && "measures Node" },
  );

  test(
    `frameworks: NestJS + enableShutdownHooks() (${adapter}, today) on Bun: the in-flight request is lost (Nest re-raises SIGTERM, lastcall forces)`,
    async (t) => {
      const { answer, exit, result } = await nestWithShutdownHooks(t, adapter);
      assert.ok(answer instanceof Error, `the request was answered: ${JSON.stringify(answer)}`);
      assert.equal(result.graceful, false);
      assert.equal(result.forced, 1);
      assert.doesNotMatch(exit.stdout, /slow answered/);
      assert.match(exit.stderr, NEST_NAMED, "lastcall names Nest's own SIGTERM listener");
    },
    { skip: runtime !== "bun" && "measures Bun" },
  );
}

const honoNode: Recipe = {
  file: "hono-node",
  name: "hono",
  hello: /hello from Hono/,
  webSocket: "/ws",
  cleanup: [/hono cleanup: pool closed/],
};

test(
  "frameworks: Hono 4 (@hono/node-server listener + @hono/node-ws) drains requests, SSE and WebSockets",
  async (t) => {
    await drainsEverything(t, honoNode);
  },
);

test(
  "frameworks: Hono 4 (@hono/node-server listener): a second SIGTERM forces, cleanup once, exit 1",
  async (t) => {
    await secondSignalForces(t, honoNode);
  },
);

/**
 * An app a recipe serves, built (about 4 s) when its build is missing or
 * older than its sources or its framework's package.json; `install` first
 * installs the app's own dependencies when it has none. Every suite runs from
 * the repository's root, so one build serves them all.
 */
async function appBuilt(app: {
  dir: string;
  /** The framework package whose install counts as a source. */
  framework: string;
  /** A file the build writes, under `output`. */
  marker: string;
  output: string;
  build: string[];
  install?: boolean;
}): Promise<string> {
  const dir = join(process.cwd(), app.dir);
  const run = (command: string, args: string[]) =>
    new Promise<void>((resolve, reject) => {
      execFile(command, args, {
        cwd: dir,
        env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", ASTRO_TELEMETRY_DISABLED: "1" },
      }, (error, stdout, stderr) =>
        error ? reject(new Error(`${args.join(" ")}: ${stderr}${stdout}`)) : resolve());
    });
  if (app.install && !existsSync(join(dir, "node_modules"))) {
    await run("npm", ["ci", "--silent", "--no-audit", "--no-fund"]);
  }
  const frameworkPackage = require.resolve(`${app.framework}/package.json`, { paths: [dir] });
  const isSource = (path: string) =>
    !path.includes(`/${app.output}/`) && !path.includes("/node_modules/");
  const newest = Math.max(
    statSync(frameworkPackage).mtimeMs,
    ...readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile() && isSource(`${join(entry.parentPath, entry.name)}`))
      .map((entry) => statSync(join(entry.parentPath, entry.name)).mtimeMs),
  );
  const marker = join(dir, app.output, app.marker);
  if (!existsSync(marker) || statSync(marker).mtimeMs <= newest) {
    await run(process.execPath, app.build.map((part) => part.replace("<root>", process.cwd())));
  }
  return dir;
}

/**
 * The two framework tests of a recipe whose app is built first: everything
 * drains on SIGTERM, and a second SIGTERM forces. `env` points the recipe at
 * the app built in `dir`.
 */
function builtAppTests(
  title: string,
  recipe: Recipe,
  built: () => Promise<string>,
  env: (dir: string) => Record<string, string>,
  skip: string | false,
): void {
  const options = { skip, timeout: 120_000 };
  test(`frameworks: ${title} drains requests and SSE, cleanup once`, async (t) => {
    await drainsEverything(t, { ...recipe, env: env(await built()) });
  }, options);
  test(`frameworks: ${title}: a second SIGTERM forces, cleanup once, exit 1`, async (t) => {
    await secondSignalForces(t, { ...recipe, env: env(await built()) });
  }, options);
}

/** Why a recipe for Node at `minimum` or later skips here, if it does. */
function nodeAtLeast(framework: string, minimum: [number, number, number]): string | false {
  if (runtime !== "node") return `${framework}'s recipe runs on Node (issue 24)`;
  const version = process.versions.node.split(".").map(Number);
  const older = version.findIndex((part, i) => part !== minimum[i]);
  return older >= 0 && version[older]! < minimum[older]!
    && `${framework} needs Node ${minimum.join(".")}+, this is ${process.versions.node}`;
}

builtAppTests(
  "Next.js 16 custom server (app.close() as its cleanup)",
  {
    file: "next",
    name: "next",
    hello: /hello from Next\.js/,
    cleanup: [/next cleanup: app closed/],
  },
  () =>
    appBuilt({
      dir: "examples/next-app",
      framework: "next",
      output: ".next",
      marker: "BUILD_ID",
      build: ["<root>/node_modules/next/dist/bin/next", "build"],
    }),
  (dir) => ({ NEXT_DIR: dir }),
  nodeAtLeast("Next.js 16", [20, 9, 0]),
);

// SvelteKit and Astro: apps with installs of their own (see their package.json).
builtAppTests(
  "SvelteKit 3 (adapter-node handler)",
  {
    file: "sveltekit",
    name: "sveltekit",
    hello: /hello from SvelteKit/,
    cleanup: [/sveltekit cleanup: pool closed/],
  },
  () =>
    appBuilt({
      dir: "examples/sveltekit-app",
      framework: "@sveltejs/kit",
      output: "build",
      marker: "handler.js",
      build: ["node_modules/vite/bin/vite.js", "build"],
      install: true,
    }),
  (dir) => ({ SVELTEKIT_BUILD: join(dir, "build") }),
  nodeAtLeast("SvelteKit 3", [22, 17, 0]),
);

builtAppTests(
  "Astro 7 (@astrojs/node middleware handler)",
  {
    file: "astro",
    name: "astro",
    hello: /hello from Astro/,
    cleanup: [/astro cleanup: pool closed/],
  },
  () =>
    appBuilt({
      dir: "examples/astro-app",
      framework: "astro",
      output: "dist",
      marker: "server/entry.mjs",
      build: ["node_modules/astro/bin/astro.mjs", "build"],
      install: true,
    }),
  (dir) => ({ ASTRO_BUILD: join(dir, "dist") }),
  nodeAtLeast("Astro 7", [22, 23, 4]),
);
