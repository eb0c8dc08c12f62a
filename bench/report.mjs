// Renders bench/results.json as bench/README.md.

import { existsSync, readFileSync } from "node:fs";

const fmt = (n) => n === undefined ? "-" : Math.round(n).toLocaleString("en-US");
const ratio = (a, b) => (a / b).toFixed(3);
const met = (ok) => ok ? "met" : "**not met**";
const ms = (x) => x === undefined ? "-" : `${x.toFixed(2)}`;

function table(head, rows) {
  return [
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ].join("\n");
}

/** lastcall against the bare server, per runtime, with the ratio and its target. */
function overheadTable(results, target) {
  return table(
    [
      "runtime",
      "bare req/s",
      "lastcall req/s",
      "ratio",
      "CPU µs/req bare",
      "CPU µs/req lastcall",
      `target ≥ ${target}`,
    ],
    Object.entries(results).map(([runtime, v]) => [
      runtime,
      fmt(v.bare.rps),
      fmt(v.lastcall.rps),
      ratio(v.lastcall.rps, v.bare.rps),
      v.bare.cpuUsPerRequest,
      v.lastcall.cpuUsPerRequest,
      met(v.lastcall.rps / v.bare.rps >= target),
    ]),
  );
}

/** Figures of `before` (bench/before.json, the run before the changes below) beside `r`. */
function beforeAfter(before, r) {
  if (!before) return "";
  const rows = [];
  for (const runtime of Object.keys(r.httpOverhead ?? {})) {
    const b = before.httpOverhead?.[runtime], a = r.httpOverhead[runtime];
    if (!b) continue;
    rows.push([
      `${runtime} HTTP overhead (lastcall / bare)`,
      ratio(b.lastcall.rps, b.bare.rps),
      ratio(a.lastcall.rps, a.bare.rps),
      `CPU µs/req ${b.lastcall.cpuUsPerRequest} → ${a.lastcall.cpuUsPerRequest}`,
    ]);
  }
  for (const runtime of Object.keys(r.nodeFetch ?? {})) {
    const b = before.nodeFetch?.[runtime], a = r.nodeFetch[runtime];
    if (!b) continue;
    rows.push([
      `${runtime} fetch adapter vs srvx`,
      ratio(b.fetch.rps, b.srvx.rps),
      ratio(a.fetch.rps, a.srvx.rps),
      `CPU µs/req ${b.fetch.cpuUsPerRequest} → ${a.fetch.cpuUsPerRequest}`,
    ]);
    rows.push([
      `${runtime} fetch adapter vs @hono/node-server`,
      ratio(b.fetch.rps, b.hono.rps),
      ratio(a.fetch.rps, a.hono.rps),
      "",
    ]);
  }
  for (const key of Object.keys(r.tcpOverhead ?? {})) {
    const b = before.tcpOverhead?.[key], a = r.tcpOverhead[key];
    if (!b) continue;
    const cpu = (s) => s.lastcall.cpuUsPerRequest / s.bare.cpuUsPerRequest;
    rows.push([`${key} TCP CPU µs/req, lastcall / bare`, cpu(b).toFixed(3), cpu(a).toFixed(3), ""]);
  }
  for (const runtime of Object.keys(r.idleScale ?? {})) {
    const b = before.idleScale?.[runtime], a = r.idleScale[runtime];
    const key = (s, impl) => Object.keys(s ?? {}).filter((k) => k.startsWith(`${impl} `)).at(-1);
    const n = key(a, "lastcall");
    if (!b || !n || !b[n] || !b[key(b, "bare")]) continue;
    const extra = (s) =>
      s[n].heap_bytes_per_connection - s[key(s, "bare")].heap_bytes_per_connection;
    rows.push([
      `${runtime} extra heap B/conn at ${n.split(" ")[1]}`,
      fmt(extra(b)),
      fmt(extra(a)),
      "",
    ]);
    const nodeClose = (s) => s[`node-close ${n.split(" ")[1]}`]?.shutdown_ms;
    const reference = (s) => nodeClose(s) === undefined ? "-" : `${ms(nodeClose(s))}`;
    rows.push([
      `${runtime} shutdown ms, ${n.split(" ")[1]} idle`,
      ms(b[n].shutdown_ms),
      ms(a[n].shutdown_ms),
      nodeClose(a) === undefined ? "" : `Node's own close ${reference(b)} → ${reference(a)}`,
    ]);
  }
  return `
## Before and after

The previous full run (${before.date.slice(0, 10)}, \`bench/before.json\`) beside
this one. Between the two runs (details, profiles and what was rejected: the log
below): Node sockets carry no listener of lastcall's until shutdown and
busy ones only then; no set of every response in flight (it kept 35-70 MB
alive through each scavenge on TLS servers); idle sockets closed and
reported by lastcall itself at shutdown; raw TCP reads hand each chunk to
the waiting handler in one step and writes the socket takes at once skip a
promise; Node's fetch implementation is no longer loaded by importing the
Node shim. The machine was about twice as busy for this run (bare
\`node:http\` on Node 24: 13.42 CPU µs/req then, 29.05 now), so compare the
ratios, each taken within its own run, not the absolute figures.

${table(["figure", "before", "after", "note"], rows)}
`;
}

export function report(r, before) {
  const http = overheadTable(r.httpOverhead, 0.98);
  const fetch = table(
    [
      "runtime",
      "node:http req/s",
      "lastcall fetch",
      "@hono/node-server",
      "srvx",
      "vs hono",
      "vs srvx",
      "CPU µs/req (bare, lastcall, hono, srvx)",
      "target ≥ 1.0",
    ],
    Object.entries(r.nodeFetch).map(([runtime, v]) => [
      runtime,
      fmt(v.bare.rps),
      fmt(v.fetch.rps),
      fmt(v.hono.rps),
      fmt(v.srvx.rps),
      ratio(v.fetch.rps, v.hono.rps),
      ratio(v.fetch.rps, v.srvx.rps),
      [v.bare, v.fetch, v.hono, v.srvx].map((x) => x.cpuUsPerRequest).join(", "),
      met(v.fetch.rps >= v.hono.rps && v.fetch.rps >= v.srvx.rps),
    ]),
  );
  const tcp = overheadTable(r.tcpOverhead, 0.97);
  const drainRows = [];
  for (const [runtime, d] of Object.entries(r.drain)) {
    for (const [what, v] of Object.entries(d)) {
      const name = what === "tcp" || what === "http" ? `lastcall ${what}` : `${what} (http)`;
      const ours = what === "tcp" || what === "http";
      drainRows.push([
        runtime,
        name,
        v.rounds,
        ms(v.p50_ms),
        ms(v.p99_ms),
        ours ? met(v.p50_ms <= 1 && v.p99_ms <= 5) : "peer",
      ]);
    }
  }
  const drain = table([
    "runtime",
    "server",
    "shutdowns",
    "p50 ms",
    "p99 ms",
    "target p50 ≤ 1, p99 ≤ 5",
  ], drainRows);
  const scaleRows = [];
  const memoryRows = [];
  for (const [runtime, s] of Object.entries(r.idleScale)) {
    const counts = [...new Set(Object.values(s).map((v) => v.connections))];
    for (const [key, v] of Object.entries(s)) {
      if (v.impl === "bare") continue;
      // lastcall-grace keeps the default idleGrace: shown, not judged.
      const target = v.impl === "lastcall" && v.connections === 10000
        ? met(v.shutdown_ms <= 200)
        : v.impl.startsWith("lastcall")
        ? "-"
        : "peer";
      scaleRows.push([runtime, v.impl, fmt(v.connections), ms(v.shutdown_ms), target]);
      void key;
    }
    const largest = Math.max(...counts);
    const ours = s[`lastcall ${largest}`], bare = s[`bare ${largest}`];
    if (ours && bare) {
      const extra = ours.heap_bytes_per_connection - bare.heap_bytes_per_connection;
      memoryRows.push([
        runtime,
        fmt(largest),
        fmt(bare.heap_bytes_per_connection),
        fmt(ours.heap_bytes_per_connection),
        fmt(extra),
        met(extra <= 300),
      ]);
    }
  }
  const scale = table([
    "runtime",
    "server",
    "idle connections",
    "shutdown ms",
    "target 10 000 ≤ 200 ms",
  ], scaleRows);
  const memory = table(
    [
      "runtime",
      "connections",
      "bare heap B/conn",
      "lastcall heap B/conn",
      "extra B/conn",
      "target ≤ 300",
    ],
    memoryRows,
  );
  const versions = Object.entries(r.runtimes).map(([label, version]) => `${label} ${version}`).join(
    ", ",
  );
  return `# Benchmarks

Made by \`${r.command}\` on ${r.date.slice(0, 10)}: ${r.cores} cores, ${versions};
${r.tools.wrk}; ${r.tools.redisBenchmark}. Servers run pinned to core 0, the
load generator to core 1, both on 127.0.0.1. Each throughput figure is the
median of ${r.reps} interleaved runs of ${r.seconds} s (bare, lastcall, bare,
lastcall, ...; a fresh server and a warm-up run each time), and each ratio
compares medians of the same run. The machine is shared: other load moves
requests/s by about 10 %, so the server's CPU time per request (from
/proc/<pid>/stat, 10 ms ticks) stands beside it. \`results.json\` holds every
figure. \`npm run bench -- --quick\` (one run of 1 s each, no warm-up, fewer
shutdowns, no 10 000-connection run) is a smoke run; its figures are noisier.

## 1. Serving overhead, HTTP (hello, keep-alive, wrk -c50)

Bare: \`node:http\`, \`Deno.serve\`, \`Bun.serve\`. lastcall: \`serveAndShutdown({ server })\`
around the same \`node:http\` handler on Node, \`serveAndShutdown({ fetch })\` on
Deno and Bun.

${http}

## 2. Fetch adapter on Node (the same hello handler)

${fetch}

## 3. Serving overhead, TCP (redis-benchmark -t ping,set,get -c50)

Bare: the example's RESP parser on the runtime's own sockets (\`node:net\`,
\`Deno.listen\`, \`Bun.listen\`) with no shutdown handling; lastcall:
\`examples/resp.ts\` on \`serveAndShutdown({ connection })\`. Requests/s is the
harmonic mean over the three commands.

${tcp}

## 4. Drain latency

Ten requests (or commands) in flight on their own keep-alive connections,
finishing 1..10 ms after all have started; the delay from the last response
received by the client to shutdown resolving. A negative delay: shutdown
resolved before the client had read the last response (Deno and Bun report
done when the response is written). lastcall's TCP figure includes the FIN
exchange with the client.

${drain}

## 5. Idle scale

N keep-alive connections, each after one request, then shutdown: until the
shutdown resolved. \`lastcall\` passes \`idleGrace: 0\` and closes idle
connections at once, as the peers do; \`lastcall-grace\` keeps the default
100 ms grace, which holds a connection quiet for less than that until it has
been (so at 100 and 1,000 connections its figure is mostly the grace).

${scale}

## 6. Memory per tracked connection

Heap after opening the connections minus before, per connection, at the
largest N, lastcall against the bare server of the same runtime (client
sockets live in the same process and count in both).

${memory}
${beforeAfter(before, r)}${log()}`;
}

/** The hand-written record of changes measured outside the full run (bench/log.md). */
function log() {
  const path = new URL("./log.md", import.meta.url);
  return existsSync(path) ? `\n${readFileSync(path, "utf8")}` : "";
}
