// The rolling-restart test: three backends behind a balancer (HAProxy with
// active checks, nginx without checks, Caddy with checks and no retries, or
// HAProxy without checks taking the backend out N s after its SIGTERM, as
// Kubernetes' endpoints do), restarted one by one, twice, under HTTP
// keep-alive load (40 % POST /order, each order counted exactly once), ioredis
// (where the front carries TCP) and WebSocket load. With lastcall backends no
// client may notice; with the control backend (no graceful shutdown) the same
// scenario must report failures.
//   npm run test:e2e                  one scenario per front, lastcall on Node,
//                                     Deno and Bun together, and each control
//   npm run test:e2e -- --matrix [--runs N]
//                                     every front x runtime, N runs each (3),
//                                     the controls, and a too-short drainDelay
// (or: <Node 24> tests/e2e/rolling-restart/run.ts [label] [--matrix ...]).
// Prints one line per scenario, then `<label>: N passed, N failed, N skipped`.
// E2E_ONLY=nginx runs the scenarios whose name contains it; E2E_DEBUG=1
// prints each step and copies every process's output to /tmp/e2e-<name>.log;
// E2E_PORT_BASE=20000 gives the backends fixed ports (see scenario()).

import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { Deadline } from "../../../mod.ts";
import { caddy, endpointLag, type FrontKind, haproxyChecks, nginx, type Slot } from "./fronts.ts";
import { compare, executedIds, httpLoad, respLoad, wsLoad } from "./loads.ts";
import { freePort, here, root, Watched } from "./processes.ts";

const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: { matrix: { type: "boolean" }, runs: { type: "string" } },
});
const label = positionals[0] ?? "e2e";
const GRACE_PERIOD = 10_000;
const SCENARIO_BOUND_MS = 120_000;
const LOAD_BOUND_MS = 110_000; // the load stops by itself at the latest here

interface Outcome {
  resp: boolean; // the front carried the Redis protocol
  httpOk: number;
  ordersOk: number;
  getFailed: number; // GETs answered other than 200, or failed
  postFailed: number; // POSTs answered other than 200, or failed
  respAcked: number;
  respErrors: number;
  wsAcked: number;
  wsErrors: number; // connections that failed, and closes that were not 1001
  wsGoingAway: number; // server closes with 1001, as they must be
  lost: number; // acknowledged, never executed
  duplicated: number; // executed more than once
  unacknowledged: number; // executed, never acknowledged
  badExits: string[];
  samples: string[];
}

function failures(o: Outcome): number {
  return o.getFailed + o.postFailed + o.respErrors + o.wsErrors + o.lost + o.duplicated
    + o.unacknowledged + o.badExits.length;
}

function runtimeCommand(name: string): [string, string[]] {
  if (name === "deno") return [join(root, "node_modules/.bin/deno"), ["run", "-A"]];
  if (name === "bun") return [join(root, "node_modules/.bin/bun"), []];
  return [process.execPath, []]; // Node 24, which runs this file
}

async function startBackend(slot: Slot, file: string, logDir: string, front: FrontKind) {
  const [command, args] = slot.runtime;
  slot.generation++;
  slot.process = new Watched(command, [...args, join(here, file)], {
    HTTP_PORT: String(slot.httpPort),
    RESP_PORT: String(slot.respPort),
    WS_PORT: String(slot.wsPort),
    LOG: join(logDir, `${slot.name}-${slot.generation}.log`),
    DRAIN_DELAY: String(front.drainDelay),
    GRACE_PERIOD: String(GRACE_PERIOD),
    H2C: front.h2c ? "1" : "0",
    ...(process.env.E2E_DEBUG
      ? { ACCEPT_LOG: `/tmp/e2e-accept-${slot.name}-${slot.generation}.log` }
      : {}),
  });
  await slot.process.waitFor("ready", 15_000);
}

async function scenario(
  kind: FrontKind,
  file: string,
  runtimes: string[],
  rounds: number,
): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), "lastcall-e2e-"));
  const logDir = join(dir, "logs");
  mkdirSync(logDir);
  const slots: Slot[] = [];
  // E2E_PORT_BASE=20000 puts backend i on ports 20000 + 10 i (HTTP), + 1
  // (Redis protocol) and + 2 (WebSocket), for a packet capture's filter.
  const base = Number(process.env.E2E_PORT_BASE ?? 0);
  const port = async (i: number, offset: number) =>
    base ? base + 10 * i + offset : await freePort();
  for (const [i, runtime] of runtimes.entries()) {
    slots.push({
      name: `b${i}-${runtime}`,
      httpPort: await port(i, 0),
      respPort: await port(i, 1),
      wsPort: await port(i, 2),
      runtime: runtimeCommand(runtime),
      generation: 0,
    });
  }
  const badExits: string[] = [];
  let balancer: Watched | undefined;
  const stop = new AbortController();
  const loads: Promise<unknown>[] = [];
  try {
    enter("starting backends");
    await Promise.all(slots.map((slot) => startBackend(slot, file, logDir, kind)));
    enter(`starting ${kind.name}`);
    const front = await kind.start(dir, slots);
    balancer = front.process;
    const { ports } = front;

    using bound = Deadline.after(LOAD_BOUND_MS);
    bound.signal.addEventListener("abort", () => stop.abort());
    const httpSeen = httpLoad(ports.http, stop.signal, 4);
    const respSeen = ports.resp === undefined ? undefined : respLoad(ports.resp, stop.signal, 3);
    const wsSeen = wsLoad(ports.ws, stop.signal, 3);
    loads.push(httpSeen, wsSeen, ...(respSeen ? [respSeen] : []));
    enter("waiting for traffic on every backend");
    if (front.spreads) {
      await Promise.all(slots.map((slot) => slot.process!.waitFor("serving", 15_000)));
    }

    for (let round = 0; round < rounds; round++) {
      for (const slot of slots) {
        const old = slot.process!;
        enter(`round ${round + 1}: SIGTERM ${slot.name}`);
        const signalled = Date.now();
        process.kill(old.child.pid!, "SIGTERM");
        const out = front.takeOut(slot, signalled);
        using exitBound = Deadline.after(GRACE_PERIOD + 5_000);
        const code = await Promise.race([
          old.exited,
          new Promise<"hung">((resolve) =>
            exitBound.signal.addEventListener("abort", () => resolve("hung"))
          ),
        ]);
        const took = Date.now() - signalled;
        if (code === "hung") {
          old.child.kill("SIGKILL");
          badExits.push(`${slot.name}: did not exit within ${GRACE_PERIOD + 5_000} ms`);
        } else if (code !== 0 || took > GRACE_PERIOD) {
          badExits.push(`${slot.name}: exit ${code} after ${took} ms: ${old.output.slice(-300)}`);
        }
        // As an orchestrator would: the replacement starts once the balancer
        // has taken the old one out (with checks, lastcall's backends go out
        // while they drain; the control's once its ports refuse).
        enter(`round ${round + 1}: waiting for ${slot.name} to be out of rotation`);
        await out;
        enter(`round ${round + 1}: replacing ${slot.name}`);
        await startBackend(slot, file, logDir, kind);
        enter(`round ${round + 1}: waiting for traffic on the new ${slot.name}`);
        await front.bringBack(slot);
        if (front.spreads) await slot.process!.waitFor("serving", 15_000);
      }
    }
    enter("stopping the load");
    stop.abort();
    const pending = new Set(["HTTP", "WebSocket", ...(respSeen ? ["RESP"] : [])]);
    const settled = (what: string) => () => {
      pending.delete(what);
      enter(`stopping the load: waiting for ${[...pending].join(", ")}`);
    };
    void httpSeen.then(settled("HTTP"));
    void wsSeen.then(settled("WebSocket"));
    void respSeen?.then(settled("RESP"));
    const [h, w, r] = await Promise.all([httpSeen, wsSeen, respSeen]);
    const checks = [
      compare(h.ok, executedIds(logDir, "http")),
      compare(h.ordered, executedIds(logDir, "order")),
      compare(w.acked, executedIds(logDir, "ws")),
      ...(r ? [compare(r.acked, executedIds(logDir, "set"))] : []),
    ];
    // The balancer's own word on each failed request (nginx's error log),
    // its upstream named by backend, to tell which runtime closed on it.
    const names = new Map(slots.map((slot) => [`127.0.0.1:${slot.httpPort}`, slot.name]));
    const balancerSays = h.postFailed + h.getFailed === 0 ? [] : front.process.output
      .split("\n")
      .filter((line) => /\[error\].*(POST \/order|GET \/work)/.test(line))
      .map((line) => line.replace(/127\.0\.0\.1:\d+/g, (address) => names.get(address) ?? address));
    const sum = (key: "lost" | "duplicated" | "unacknowledged") =>
      checks.reduce((total, check) => total + check[key], 0);
    return {
      resp: r !== undefined,
      httpOk: h.ok.size,
      ordersOk: h.ordered.size,
      getFailed: h.getFailed,
      postFailed: h.postFailed,
      respAcked: r?.acked.size ?? 0,
      respErrors: r?.errors ?? 0,
      wsAcked: w.acked.size,
      wsErrors: w.errors,
      wsGoingAway: w.goingAway,
      lost: sum("lost"),
      duplicated: sum("duplicated"),
      unacknowledged: sum("unacknowledged"),
      badExits,
      samples: [
        ...h.samples,
        ...balancerSays.slice(0, 5),
        ...(r?.samples ?? []),
        ...w.samples,
        ...checks.flatMap((check) => check.samples),
      ],
    };
  } finally {
    stop.abort();
    await Promise.allSettled(loads);
    for (const slot of slots) slot.process?.child.kill("SIGKILL");
    if (process.env.E2E_DEBUG && balancer) console.log(balancer.output.slice(-3_000));
    // SIGTERM: nginx's master then stops its workers (SIGKILL would orphan them).
    balancer?.child.kill("SIGTERM");
    using stopBound = Deadline.after(5_000);
    stopBound.signal.addEventListener("abort", () => balancer?.child.kill("SIGKILL"));
    await balancer?.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

function describe(o: Outcome): string {
  return `HTTP ${o.httpOk} GETs and ${o.ordersOk} POSTs ok, `
    + `${o.getFailed} GETs and ${o.postFailed} POSTs failed; `
    + (o.resp ? `RESP ${o.respAcked} acknowledged, ${o.respErrors} errors; ` : "")
    + `WebSocket ${o.wsAcked} echoed, ${o.wsGoingAway} closed with 1001, ${o.wsErrors} errors; `
    + `${o.lost} lost, ${o.duplicated} executed twice, ${o.unacknowledged} executed unacknowledged; `
    + `${o.badExits.length} bad exits`;
}

/** What the scenario is doing, for the report when it fails or hangs. */
let phase = "";
function enter(what: string): void {
  phase = what;
  if (process.env.E2E_DEBUG) console.log(`     ${new Date().toISOString().slice(11, 23)} ${what}`);
}
let passed = 0, failed = 0, skipped = 0;
function report(ok: boolean, name: string, detail: string, samples: string[] = []) {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}: ${detail}`);
  for (const sample of samples.slice(0, 10)) console.log(`     ${sample}`);
}

/** Unexecuted failures behind nginx that `npm test` lets pass (see where it is used). */
const UNEXECUTED_TOLERATED_BEHIND_NGINX = 2;

interface Test {
  name: string;
  front: FrontKind;
  file: string;
  runtimes: string[];
  expectFailures: boolean;
}

function lastcall(front: FrontKind, runtimes: string[], suffix = ""): Test {
  const on = new Set(runtimes).size === 1 ? runtimes[0] : "Node, Deno and Bun";
  const name = `e2e: rolling restart behind ${front.name}, lastcall on ${on}${suffix}`;
  return { name, front, file: "backend.ts", runtimes, expectFailures: false };
}
function control(front: FrontKind): Test {
  const name = `e2e: rolling restart behind ${front.name}, control backend without lastcall`;
  return {
    name,
    front,
    file: "control.ts",
    runtimes: ["node", "node", "node"],
    expectFailures: true,
  };
}

const fronts = [haproxyChecks, nginx, caddy, endpointLag(1_000)];
function matrix(runs: number): Test[] {
  const tests: Test[] = [];
  for (const front of [...fronts, endpointLag(3_000)]) {
    for (const runtime of ["node", "deno", "bun"]) {
      for (let run = 1; run <= runs; run++) {
        tests.push(lastcall(front, [runtime, runtime, runtime], ` (run ${run}/${runs})`));
      }
    }
    tests.push(control(front));
  }
  // drainDelay shorter than the endpoint lag: must fail, and says how much.
  for (const runtime of ["node", "deno", "bun"]) {
    tests.push({
      ...lastcall(endpointLag(3_000, 1_500), [runtime, runtime, runtime]),
      expectFailures: true,
    });
  }
  return tests;
}
const allTests = options.matrix
  ? matrix(Number(options.runs ?? 3))
  : fronts.flatMap((front) => [lastcall(front, ["node", "deno", "bun"]), control(front)]);

const onlyScenario = process.env.E2E_ONLY;
const tests = allTests.filter(({ name }) => !onlyScenario || name.includes(onlyScenario));
for (const { name, front, file, runtimes, expectFailures } of tests) {
  if (!existsSync(front.binary)) {
    skipped++;
    console.log(`skip ${name}: ${front.binary} is not installed (npm test installs it when root)`);
    continue;
  }
  const started = Date.now();
  using bound = Deadline.after(SCENARIO_BOUND_MS);
  try {
    const outcome = await Promise.race([
      scenario(front, file, runtimes, 2),
      new Promise<never>((_, reject) =>
        bound.signal.addEventListener(
          "abort",
          () => reject(new Error(`not done after ${SCENARIO_BOUND_MS} ms, while ${phase}`)),
        )
      ),
    ]);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    // Behind nginx (no checks) a request on a connection still in the
    // kernel's accept queue when a listener closes is reset, never executed,
    // and nginx answers a POST it had sent with 502 (measured: about 1 listener
    // close in 60 on Node, more on Deno; docs/load-balancers.md). `npm test`
    // lets up to two such unexecuted failures pass, so that CI is not a coin
    // toss; the matrix (`--matrix`) counts them as failures.
    const unexecuted = Math.max(0, outcome.getFailed + outcome.postFailed - outcome.unacknowledged);
    const tolerated = !expectFailures && !options.matrix && front === nginx
      ? Math.min(unexecuted, UNEXECUTED_TOLERATED_BEHIND_NGINX)
      : 0;
    const count = failures(outcome) - tolerated;
    const ok = expectFailures ? count > 0 : count === 0;
    const expected = expectFailures
      ? "failures detected, as they must be"
      : tolerated > 0
      ? `no executed request failed (${tolerated} unexecuted, reset in the accept queue or by the runtime at a listener close)`
      : "no client noticed";
    report(
      ok && outcome.httpOk > 0 && outcome.ordersOk > 0 && outcome.wsAcked > 0
        && (outcome.respAcked > 0 || !outcome.resp),
      name,
      `${ok ? expected : "UNEXPECTED"}: ${describe(outcome)} (${seconds} s)`,
      ok ? [] : [...outcome.badExits, ...outcome.samples],
    );
  } catch (error) {
    report(false, name, String((error as Error).stack ?? error));
  }
}
console.log(`${label}: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
