// npm run bench [-- --quick]: every benchmark of bench/README.md, on Node 22,
// 24 and 26, Deno and Bun (Node 20, end of life, only with LASTCALL_RUNTIMES). Servers run pinned to core 0, load generators to
// core 1. Each throughput figure is the median of interleaved runs (bare,
// lastcall, bare, lastcall, ...), reported as a ratio to the baseline of the
// same run, beside the server's CPU time per request.
// Writes bench/results.json and the tables in bench/README.md; --quick (one
// run each, shorter loads: a smoke test, as CI runs it) writes them to
// .build/bench-quick/ instead.

import { execFileSync, spawn } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { pointBuildAtDist, root, runtimes } from "../scripts/runtimes.mjs";

const quick = process.argv.includes("--quick");
// bench/idle_clients.mjs runs on the Node that runs this script.
process.env.LASTCALL_CLIENT_NODE = process.execPath;
const reps = quick ? 1 : 5;
const seconds = quick ? 1 : 3;
const drainRounds = quick ? 10 : 50;
const idleCounts = quick ? [100, 1000] : [100, 1000, 10000];
const command = quick ? "npm run bench -- --quick" : "npm run bench";
const CLOCK_TICKS_PER_MS = 100 / 1000;

function log(line) {
  process.stderr.write(`${line}\n`);
}

function prepare() {
  if (!existsSync(join(root, "bench/node_modules"))) {
    execFileSync("npm", ["ci", "--silent"], { cwd: join(root, "bench"), stdio: "inherit" });
  }
  execFileSync(process.execPath, ["scripts/build.mjs"], { cwd: root, stdio: "inherit" });
  execFileSync(join(root, "node_modules/.bin/tsc"), ["-p", "tsconfig.bench.json"], {
    cwd: root,
    stdio: "inherit",
  });
  pointBuildAtDist();
  copyFileSync(join(root, "bench/idle_clients.mjs"), join(root, ".build/bench/idle_clients.mjs"));
  // The compiled benchmarks resolve the peers from bench/node_modules.
  const link = join(root, ".build/bench/node_modules");
  if (!existsSync(link)) symlinkSync(join(root, "bench/node_modules"), link);
}

/** How to run a bench script on a runtime (Node 20 runs the compiled copy). */
function script(runtime, name) {
  if (runtime.label === "node20") return [runtime.command, [`.build/bench/${name}.js`]];
  const flags = runtime.label === "deno" ? ["run", "-A", "--v8-flags=--expose-gc"] : [];
  if (runtime.label.startsWith("node")) flags.push("--expose-gc");
  return [runtime.command, [...flags, `bench/${name}.ts`]];
}

function pinned(core, [cmd, args]) {
  return ["taskset", ["-c", String(core), cmd, ...args]];
}

function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_MS;
}

function startServer(runtime, name, args) {
  const [cmd, cmdArgs] = pinned(0, script(runtime, name));
  const child = spawn(cmd, [...cmdArgs, ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${name} ${args} did not listen`)), 15_000);
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const match = /listening (\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]) });
      }
    });
    child.on("exit", () => reject(new Error(`${name} ${args} exited: ${out}`)));
  });
}

async function stopServer({ child }) {
  child.removeAllListeners("exit");
  const exited = new Promise((resolve) => child.on("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
  await exited;
  clearTimeout(timer);
}

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (chunk) => out += chunk);
    child.stderr.on("data", (chunk) => out += chunk);
    child.on(
      "exit",
      (code) => code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args}: ${out}`)),
    );
  });
}

async function wrk(port) {
  const out = await run("taskset", [
    ...["-c", "1", "wrk", "-t1", "-c50", `-d${seconds}s`],
    `http://127.0.0.1:${port}/`,
  ]);
  const requests = Number(/(\d+) requests in/.exec(out)[1]);
  const errors = /Non-2xx|Socket errors/.test(out)
    ? out.split("\n").filter((l) => /errors|Non-2xx/.test(l))
    : [];
  return { requests, rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]), errors };
}

async function redisBenchmark(port, pipeline) {
  const n = quick ? 50_000 : 200_000;
  const out = await run("taskset", [
    ...["-c", "1", "redis-benchmark", "-p", String(port), "-t", "ping,set,get"],
    ...["-n", String(n), "-c", "50", "-P", String(pipeline), "-q", "--csv"],
  ]);
  const rows = out.split("\n").filter((line) => /^"(PING|SET|GET)/.test(line));
  const rates = rows.map((line) => Number(line.split(",")[1].replaceAll("\"", "")));
  // The harmonic mean: total requests over total time.
  const rps = rates.length / rates.reduce((sum, rate) => sum + 1 / rate, 0);
  return { requests: n * rates.length, rps, errors: /error/i.test(out) ? [out] : [] };
}

/** One measurement: a fresh server under one load; req/s and server CPU µs per request. */
async function measure(runtime, name, args, load) {
  const server = await startServer(runtime, name, args);
  try {
    if (!quick) await load(server.port); // warm-up
    const cpuBefore = cpuMs(server.child.pid);
    const result = await load(server.port);
    const cpu = cpuMs(server.child.pid) - cpuBefore;
    if (result.errors.length > 0) log(`  errors: ${result.errors.join(" ")}`);
    return { rps: result.rps, cpuUsPerRequest: (cpu * 1000) / result.requests };
  } finally {
    await stopServer(server);
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

/** Interleaved runs of each variant; medians of req/s and CPU per request. */
async function compare(runtime, name, variants, load) {
  const samples = Object.fromEntries(variants.map((variant) => [variant, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (const variant of variants) {
      samples[variant].push(await measure(runtime, name, [variant], load));
    }
  }
  return Object.fromEntries(variants.map((variant) => [variant, {
    rps: Math.round(median(samples[variant].map((s) => s.rps))),
    cpuUsPerRequest: Math.round(median(samples[variant].map((s) => s.cpuUsPerRequest)) * 100) / 100,
  }]));
}

async function jsonLine(runtime, name, args) {
  const [cmd, cmdArgs] = pinned(0, script(runtime, name));
  const out = await run(cmd, [...cmdArgs, ...args]);
  return JSON.parse(out.trim().split("\n").at(-1));
}

prepare();
const chosen = process.env.LASTCALL_RUNTIMES?.split(",");
const available = runtimes().filter((runtime) =>
  runtime.version && (chosen ? chosen.includes(runtime.label) : runtime.label !== "node20")
);
const results = {
  date: new Date().toISOString(),
  command,
  cores: availableParallelism(),
  reps,
  seconds,
  runtimes: Object.fromEntries(available.map((r) => [r.label, r.version])),
  tools: {
    // wrk -v prints its version and exits 1.
    wrk: /wrk \S*\d\.\d\S*/.exec(await run("wrk", ["-v"]).catch((e) => e.message))?.[0] ?? "wrk",
    redisBenchmark: (await run("redis-benchmark", ["--version"])).trim(),
  },
  httpOverhead: {},
  nodeFetch: {},
  tcpOverhead: {},
  drain: {},
  idleScale: {},
};

for (const runtime of available) {
  log(`${runtime.label}: HTTP overhead`);
  results.httpOverhead[runtime.label] = await compare(
    runtime,
    "servers/http",
    ["bare", "lastcall"],
    wrk,
  );
  if (runtime.label.startsWith("node")) {
    log(`${runtime.label}: fetch adapters`);
    results.nodeFetch[runtime.label] = await compare(
      runtime,
      "servers/http",
      ["bare", "fetch", "hono", "srvx"],
      wrk,
    );
  }
  for (const pipeline of [1, 16]) {
    log(`${runtime.label}: TCP overhead -P ${pipeline}`);
    results.tcpOverhead[`${runtime.label} -P ${pipeline}`] = await compare(
      runtime,
      "servers/resp",
      ["bare", "lastcall"],
      (port) => redisBenchmark(port, pipeline),
    );
  }
  log(`${runtime.label}: drain latency`);
  const drain = { tcp: await jsonLine(runtime, "tcp_drain", [String(drainRounds)]) };
  drain.http = await jsonLine(runtime, "http_drain", [String(drainRounds)]);
  if (runtime.label.startsWith("node")) {
    for (const peer of ["stoppable", "http-terminator", "node-close"]) {
      const rounds = peer === "node-close" ? (quick ? 1 : 3) : drainRounds;
      drain[peer] = await jsonLine(runtime, "http_drain", [String(rounds), peer]);
    }
  }
  results.drain[runtime.label] = drain;
  log(`${runtime.label}: idle scale`);
  const impls = runtime.label.startsWith("node")
    ? ["lastcall", "lastcall-grace", "bare", "stoppable", "http-terminator", "node-close"]
    : ["lastcall", "lastcall-grace", "bare"];
  const scale = {};
  for (const count of idleCounts) {
    for (const impl of impls) {
      scale[`${impl} ${count}`] = await jsonLine(runtime, "idle_scale", [String(count), impl]);
    }
  }
  results.idleScale[runtime.label] = scale;
}

// A quick run is a smoke test: it must not replace the measured figures.
const out = quick ? ".build/bench-quick" : "bench";
mkdirSync(join(root, out), { recursive: true });
writeFileSync(join(root, out, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
// The figures of the run before the latest changes, for the before/after table.
const beforePath = join(root, "bench/before.json");
const before = existsSync(beforePath) ? JSON.parse(readFileSync(beforePath, "utf8")) : undefined;
writeFileSync(
  join(root, out, "README.md"),
  (await import("./report.mjs")).report(results, before),
);
if (!quick) {
  execFileSync(join(root, "node_modules/.bin/dprint"), [
    "fmt",
    `${out}/README.md`,
    `${out}/results.json`,
  ], {
    cwd: root,
    stdio: "ignore",
  });
}
log(`wrote ${out}/results.json and ${out}/README.md`);
