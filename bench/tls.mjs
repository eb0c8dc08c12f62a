// TLS and HTTP/2 serving overhead: each runtime's own TLS server against the
// same behind lastcall, interleaved (bare, lastcall, bare, ...), each a fresh
// server pinned to core 0 and the load on core 1: HTTPS/1.1 with wrk -c50 and
// HTTP/2 with h2load (10 connections x 10 streams). Prints the median
// requests/s and server CPU µs per request of each, and the ratio to bare.
//   node bench/tls.mjs [runtimes=node24,deno,bun] [runs=3] [seconds=3]

import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root, runtimes } from "../scripts/runtimes.mjs";
import { throwawayCertificate } from "../scripts/throwaway_cert.mjs";
import { cpuMs, startServer } from "./_proc.mjs";

const [which = "node24,deno,bun", runs = "3", seconds = "3"] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), "lastcall-bench-tls-"));
const { certFile, keyFile } = throwawayCertificate(dir);

function start(runtime, impl) {
  return startServer(runtime, "bench/servers/tls.ts", [impl, certFile, keyFile], root);
}

/** Runs a load tool on core 1; returns completed requests. */
function load(tool, port) {
  const url = `https://127.0.0.1:${port}/`;
  const args = tool === "h1"
    ? ["-c", "1", "wrk", "-t1", "-c50", `-d${seconds}s`, url]
    : ["-c", "1", "h2load", "-c10", "-m10", "-D", seconds, url];
  const result = spawnSync("taskset", args, { encoding: "utf8" });
  const text = result.stdout;
  const match = tool === "h1"
    ? /(\d+) requests in/.exec(text)
    : /requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded/.exec(text);
  if (!match) throw new Error(`${tool}: no result\n${text}\n${result.stderr}`);
  return Number(match[tool === "h1" ? 1 : 2]);
}

const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
const rows = [];
for (const runtime of runtimes().filter((r) => which.split(",").includes(r.label) && r.version)) {
  const impls = runtime.label === "node24" ? ["bare", "lastcall", "fetch"] : ["bare", "lastcall"];
  for (const tool of ["h1", "h2"]) {
    const samples = Object.fromEntries(impls.map((impl) => [impl, { rps: [], cpu: [] }]));
    for (let run = 0; run < Number(runs); run++) {
      for (const impl of impls) {
        const { child, port } = await start(runtime, impl);
        load(tool, port); // warm-up, discarded
        const before = cpuMs(child.pid);
        const started = Date.now();
        const requests = load(tool, port);
        const cpu = cpuMs(child.pid) - before;
        const elapsed = (Date.now() - started) / 1000;
        samples[impl].rps.push(requests / elapsed);
        samples[impl].cpu.push((cpu * 1000) / requests);
        child.kill("SIGTERM");
        await new Promise((resolve) => child.once("exit", resolve));
      }
    }
    const bare = { rps: median(samples.bare.rps), cpu: median(samples.bare.cpu) };
    for (const impl of impls) {
      const rps = median(samples[impl].rps);
      const cpu = median(samples[impl].cpu);
      rows.push(
        `| ${runtime.label} ${runtime.version} | ${
          tool === "h1" ? "HTTPS/1.1" : "HTTP/2"
        } | ${impl} | ${Math.round(rps)} | ${cpu.toFixed(1)} | ${(rps / bare.rps).toFixed(3)} | ${
          (cpu / bare.cpu).toFixed(3)
        } |`,
      );
      console.log(rows.at(-1));
    }
  }
}
console.log("\n| runtime | protocol | server | req/s | CPU µs/req | req/s ratio | CPU ratio |");
console.log("| --- | --- | --- | --- | --- | --- | --- |");
for (const row of rows) console.log(row);
