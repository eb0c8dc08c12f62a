// The frameworks users deploy, each run from its recipe in examples/ as a
// child process and stopped with SIGTERM (issue 24): in-flight work finishes
// with `Connection: close`, idle connections close, streams and WebSockets
// end (1001, counted), the framework's own cleanup runs once after the
// drain, a second signal forces, and the process exits by itself.
import http from "node:http";
import { serveAndShutdown } from "../mod.ts";
import { drainsEverything, type Recipe, secondSignalForces } from "./_frameworks.ts";
import { runtime, test } from "./_harness.ts";

/** `{ server }` is refused on Deno until its node:http support lands. */
async function serverModeRefused(): Promise<boolean> {
  if (runtime !== "deno") return false;
  try {
    const server = await serveAndShutdown({
      server: http.createServer(),
      hostname: "127.0.0.1",
      port: 0,
      signals: false,
    });
    await server.shutdown(0);
    return false;
  } catch {
    return true;
  }
}
const noServerModeOnDeno = await serverModeRefused() && "needs { server } on Deno";

const expressWs: Recipe = {
  file: "express-ws",
  name: "express",
  hello: /hello from Express/,
  webSocket: "/ws",
  cleanup: [/express cleanup: pool closed/],
};

test("frameworks: Express 5 + ws drains requests, SSE and WebSockets on SIGTERM", async (t) => {
  await drainsEverything(t, expressWs);
}, { skip: noServerModeOnDeno });

test("frameworks: Express 5 + ws: a second SIGTERM forces, cleanup once, exit 1", async (t) => {
  await secondSignalForces(t, expressWs);
}, { skip: noServerModeOnDeno });

const koa: Recipe = {
  file: "koa",
  name: "koa",
  hello: /hello from Koa/,
  cleanup: [/koa cleanup: pool closed/],
};

test("frameworks: Koa 3 drains requests and SSE on SIGTERM", async (t) => {
  await drainsEverything(t, koa);
}, { skip: noServerModeOnDeno });

test("frameworks: Koa 3: a second SIGTERM forces, cleanup once, exit 1", async (t) => {
  await secondSignalForces(t, koa);
}, { skip: noServerModeOnDeno });

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
  { skip: noServerModeOnDeno },
);

test("frameworks: Fastify 5: a second SIGTERM forces, hooks once, exit 1", async (t) => {
  await secondSignalForces(t, fastify);
}, { skip: noServerModeOnDeno });

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
}, { skip: noServerModeOnDeno });

test(
  "frameworks: h3 2 (toNodeHandler): a second SIGTERM forces, cleanup once, exit 1",
  async (t) => {
    await secondSignalForces(t, h3NodeHandler);
  },
  { skip: noServerModeOnDeno },
);
