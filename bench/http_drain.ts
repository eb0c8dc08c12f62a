// Drain latency of HTTP serving: 10 keep-alive requests in flight that
// finish at staggered times (1..10 ms after all have started); the delay from
// the last response received to shutdown() resolving, over many shutdowns.
// Prints one JSON line.
//   <runtime> bench/http_drain.ts [shutdowns=50]

import http from "node:http";
import process from "node:process";
import { Deadline, serveAndShutdown } from "../mod.ts";
import { summary, untilAborted } from "./_util.ts";

const rounds = Number(process.argv[2] ?? 50);
const delays: number[] = [];

for (let round = 0; round < rounds; round++) {
  let started = 0;
  let allStarted!: () => void;
  const ready = new Promise<void>((resolve) => allStarted = resolve);
  const server = await serveAndShutdown({
    hostname: "127.0.0.1",
    signals: false,
    async fetch(request) {
      const ms = Number(new URL(request.url).searchParams.get("ms"));
      if (++started === 10) allStarted();
      await ready; // every request is in flight before the first one finishes
      await untilAborted(Deadline.after(ms).signal);
      return new Response("ok");
    },
  });
  const agent = new http.Agent({ keepAlive: true });
  let lastResponse = 0;
  const requests = Array.from({ length: 10 }, (_, i) =>
    new Promise<void>((resolve) => {
      http.get(
        { host: "127.0.0.1", port: server.addr.port, path: `/?ms=${i + 1}`, agent },
        (res) => {
          res.resume();
          res.on("end", () => {
            lastResponse = Math.max(lastResponse, performance.now());
            resolve();
          });
        },
      ).on("error", () => resolve());
    }));
  await ready;
  await server.shutdown(10_000);
  const resolvedAt = performance.now();
  await Promise.all(requests);
  delays.push(resolvedAt - lastResponse);
  agent.destroy();
}

console.log(JSON.stringify({ bench: "http_drain", rounds, ...summary(delays) }));
