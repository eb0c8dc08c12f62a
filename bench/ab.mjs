// A before/after run of the HTTP hello benchmark: the same server script from
// two checkouts of lastcall, interleaved (before, after, before, ...), each a
// fresh server pinned to core 0 under wrk -c50 pinned to core 1. Prints the
// median requests/s and server CPU µs per request of each, and their ratio.
//   node bench/ab.mjs <other checkout> [impl=lastcall] [runtimes=node24,deno,bun] [runs=5] [seconds=3]
// impl "resp-P16" or "resp-P1" runs the Redis-protocol server instead
// (bench/servers/resp.ts lastcall) under redis-benchmark -t ping,set,get -c50
// with that pipeline; seconds is then ignored (a fixed command count).
// The other checkout needs node_modules (a symlink to this one's will do).
// Node 20 cannot run the TypeScript sources, so it is not offered here.

import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { root, runtimes } from "../scripts/runtimes.mjs";
import { cpuMs, startServer } from "./_proc.mjs";

const [other, impl = "lastcall", which = "node24,deno,bun", runs = "5", seconds = "3"] = process
  .argv.slice(2);
if (!other) {
  console.error("usage: node bench/ab.mjs <other checkout> [impl] [runtimes] [runs] [seconds]");
  process.exit(2);
}
const checkouts = { before: resolve(other), after: root };

const resp = /^resp-P(\d+)$/.exec(impl);

function start(runtime, dir) {
  return resp
    ? startServer(runtime, join(dir, "bench/servers/resp.ts"), ["lastcall"], dir)
    : startServer(runtime, join(dir, "bench/servers/http.ts"), [impl], dir);
}

/** redis-benchmark's three commands; rps is the harmonic mean of their rates. */
function redisBenchmark(port) {
  const pipeline = Number(resp[1]);
  const n = pipeline > 1 ? 200_000 : 50_000;
  return new Promise((done) => {
    const child = spawn("taskset", [
      ..."-c 1 redis-benchmark -t ping,set,get -c 50 -q --csv".split(" "),
      ...["-p", String(port), "-n", String(n), "-P", String(pipeline)],
    ]);
    let out = "";
    child.stdout.on("data", (chunk) => out += chunk);
    child.on("exit", () => {
      const rates = out.split("\n").filter((line) => /^"(PING|SET|GET)/.test(line))
        .map((line) => Number(line.split(",")[1].replaceAll("\"", "")));
      const rps = rates.length / rates.reduce((sum, rate) => sum + 1 / rate, 0);
      done({ requests: n * rates.length, rps });
    });
  });
}

function wrk(port) {
  return new Promise((done) => {
    const child = spawn("taskset", [
      ..."-c 1 wrk -t1 -c50".split(" "),
      `-d${seconds}s`,
      `http://127.0.0.1:${port}/`,
    ]);
    let out = "";
    child.stdout.on("data", (chunk) => out += chunk);
    child.on("exit", () =>
      done({
        requests: Number(/(\d+) requests in/.exec(out)[1]),
        rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]),
      }));
  });
}

async function measure(runtime, dir) {
  const server = await start(runtime, dir);
  const load = resp ? redisBenchmark : wrk;
  await load(server.port); // warm-up
  const cpuBefore = cpuMs(server.child.pid);
  const { requests, rps } = await load(server.port);
  const cpuUs = ((cpuMs(server.child.pid) - cpuBefore) * 1000) / requests;
  server.child.removeAllListeners("exit");
  server.child.kill("SIGKILL");
  return { rps, cpuUs };
}

const median = (values) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)];
for (const runtime of runtimes().filter((r) => which.split(",").includes(r.label))) {
  const results = { before: [], after: [] };
  for (let i = 0; i < Number(runs); i++) {
    for (const [name, dir] of Object.entries(checkouts)) {
      results[name].push(await measure(runtime, dir));
    }
  }
  const summary = Object.fromEntries(
    Object.entries(results).map(([name, list]) => [
      name,
      { rps: median(list.map((r) => r.rps)), cpuUs: median(list.map((r) => r.cpuUs)) },
    ]),
  );
  const { before, after } = summary;
  console.log(
    `${runtime.label} ${impl}: before ${Math.round(before.rps)} req/s ${
      before.cpuUs.toFixed(2)
    } µs/req; `
      + `after ${Math.round(after.rps)} req/s ${after.cpuUs.toFixed(2)} µs/req; `
      + `ratio ${(after.rps / before.rps).toFixed(3)} (req/s), ${
        (after.cpuUs / before.cpuUs).toFixed(3)
      } (CPU)`,
  );
}
