// Drain latency of HTTP serving: 10 keep-alive requests in flight that
// finish at staggered times (1..10 ms after all have started); the delay from
// the last response received to shutdown resolving, over many shutdowns.
// Negative: it resolved before the client had read the last response. Also
// server_*: from the last handler's return to shutdown resolving, which a
// client in this process cannot blur.
//   <runtime> bench/http_drain.ts [shutdowns=50] [impl]
// impl: lastcall (fetch) | bare (Deno.serve's own shutdown) | node-close | stoppable |
//   http-terminator (Node)
// Prints one JSON line.

import http from "node:http";
import type net from "node:net";
import process from "node:process";
import { Deadline, serveAndShutdown } from "../mod.ts";
import { peerStop, type Stop } from "./_peers.ts";
import { summary, untilAborted } from "./_util.ts";

const rounds = Number(process.argv[2] ?? 50);
const impl = process.argv[3] ?? "lastcall";
const delays: number[] = [];
const serverDelays: number[] = [];
let lastReturn = 0;

for (let round = 0; round < rounds; round++) {
  let started = 0;
  let allStarted!: () => void;
  const ready = new Promise<void>((resolve) => allStarted = resolve);
  /** Waits until all ten are in flight, then `ms`. */
  const work = async (ms: number): Promise<void> => {
    if (++started === 10) allStarted();
    await ready; // every request is in flight before the first one finishes
    await untilAborted(Deadline.after(ms).signal);
    lastReturn = Math.max(lastReturn, performance.now());
  };
  let port: number;
  let stop: Stop;
  if (impl === "lastcall") {
    const server = await serveAndShutdown({
      hostname: "127.0.0.1",
      signals: false,
      async fetch(request) {
        await work(Number(new URL(request.url).searchParams.get("ms")));
        return new Response("ok");
      },
    });
    port = server.addr.port;
    stop = async () => void await server.shutdown(10_000);
  } else if (impl === "bare" && "Deno" in globalThis) {
    // deno-lint-ignore no-explicit-any
    const server = (globalThis as any).Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      async (request: Request) => {
        await work(Number(new URL(request.url).searchParams.get("ms")));
        return new Response("ok");
      },
    );
    port = server.addr.port;
    stop = () => server.shutdown();
  } else {
    const server = http.createServer(async (request, response) => {
      await work(Number(new URL(request.url!, "http://x").searchParams.get("ms")));
      response.end("ok");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as net.AddressInfo).port;
    stop = await peerStop(impl, server);
  }
  const agent = new http.Agent({ keepAlive: true });
  let lastResponse = 0;
  const requests = Array.from({ length: 10 }, (_, i) =>
    new Promise<void>((resolve) => {
      http.get({ host: "127.0.0.1", port, path: `/?ms=${i + 1}`, agent }, (res) => {
        res.resume();
        res.on("end", () => {
          lastResponse = Math.max(lastResponse, performance.now());
          resolve();
        });
      }).on("error", () => resolve());
    }));
  await ready;
  await stop();
  const resolvedAt = performance.now();
  await Promise.all(requests);
  delays.push(resolvedAt - lastResponse);
  serverDelays.push(resolvedAt - lastReturn);
  lastReturn = 0;
  agent.destroy();
}

const server = summary(serverDelays);
console.log(JSON.stringify({
  bench: "http_drain",
  impl,
  rounds,
  ...summary(delays),
  server_p50_ms: server.p50_ms,
  server_p99_ms: server.p99_ms,
}));
