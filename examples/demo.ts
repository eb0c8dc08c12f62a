// The demo service: an HTTP API and a Redis-protocol port in one process,
// shut down together on SIGTERM or Ctrl+C under one grace period.
//   npm run demo          (Node 24 from node_modules; or deno run -A / bun)
// Try: curl localhost:8080/  curl localhost:8080/slow?ms=3000  curl -N localhost:8080/events
//      redis-cli -p 6380 set k v   redis-cli -p 6380 slow 3000
// then Ctrl+C: in-flight work finishes, idle connections close, and each
// server logs what was drained and forced; a second Ctrl+C forces.

import process from "node:process";
import { Deadline, serveAndShutdown } from "../mod.ts";
import { respHandler } from "./resp.ts";

const hostname = process.env.HOST ?? "127.0.0.1";
const gracePeriod = Number(process.env.GRACE_PERIOD ?? 10_000);

function wait(ms: number, signal?: AbortSignal): Promise<void> {
  const deadline = Deadline.after(ms, { signal });
  if (deadline.signal.aborted) return Promise.resolve();
  return new Promise((resolve) => deadline.signal.addEventListener("abort", () => resolve()));
}

const http = await serveAndShutdown({
  hostname,
  port: Number(process.env.HTTP_PORT ?? 8080),
  signals: false, // one handler below shuts both servers down under one deadline
  health: "/healthz",
  drainDelay: Number(process.env.DRAIN_DELAY ?? 0),
  async fetch(request, info) {
    const url = new URL(request.url);
    if (url.pathname === "/slow") {
      await wait(Number(url.searchParams.get("ms") ?? 1_000));
      return new Response("slow work done\n");
    }
    if (url.pathname === "/events") {
      // Server-Sent Events that end themselves when shutdown begins.
      // info.shutdown is this request's own signal: it never aborts once the
      // client has left, and its listener goes away with the request.
      let timer: ReturnType<typeof setInterval>;
      const encoder = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          let n = 0;
          controller.enqueue(encoder.encode(": subscribed\n\n"));
          timer = setInterval(
            () => controller.enqueue(encoder.encode(`data: tick ${++n}\n\n`)),
            1_000,
          );
          info.shutdown.addEventListener("abort", () => {
            clearInterval(timer);
            controller.enqueue(encoder.encode("event: bye\ndata: server going away\n\n"));
            controller.close();
          }, { once: true });
        },
        cancel: () => clearInterval(timer), // the client left
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    }
    return new Response(`hello from lastcall on ${http.runtime}\n`);
  },
});
const resp = await serveAndShutdown({
  hostname,
  port: Number(process.env.RESP_PORT ?? 6380),
  signals: false,
  connection: respHandler({
    onExecute: process.env.LOG_COMMANDS
      ? (command) => console.log(`exec ${command.join(" ")}`)
      : undefined,
  }),
});
console.log(`http listening on ${http.addr.hostname}:${http.addr.port} (${http.runtime})`);
console.log(`resp listening on ${resp.addr.hostname}:${resp.addr.port}`);

let signals = 0;
const onSignal = (name: string) => {
  signals++;
  if (signals > 1) {
    console.log(`${name} again: forcing`);
    void http.close();
    void resp.close();
    return;
  }
  console.log(`${name}: shutting down within ${gracePeriod} ms`);
  const deadline = Deadline.after(gracePeriod);
  Promise.all([http.shutdown(deadline.signal), resp.shutdown(deadline.signal)]).then(([h, r]) => {
    deadline[Symbol.dispose]();
    console.log(`http down: ${JSON.stringify(h)}`);
    console.log(`resp down: ${JSON.stringify(r)}`);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  });
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);
