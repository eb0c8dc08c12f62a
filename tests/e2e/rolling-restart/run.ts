// The rolling-restart test: three backends behind HAProxy (HTTP with an
// httpchk on /healthz, the Redis protocol with a PING check, a WebSocket echo
// with its own httpchk), restarted one by one, twice, under HTTP keep-alive,
// ioredis and WebSocket load. With lastcall backends
// (one each on Node, Deno and Bun) no client may notice; with the control
// backend (no graceful shutdown) the same test must report failures.
//   npm run test:e2e      (or: <Node 24> tests/e2e/rolling-restart/run.ts [label])
// Prints one line per scenario, then `<label>: N passed, N failed, N skipped`.
// E2E_ONLY=control runs the scenarios whose name contains it; E2E_DEBUG=1
// prints each step and copies every process's output to /tmp/e2e-<name>.log.

import { Redis } from "ioredis";
import { type ChildProcess, spawn } from "node:child_process";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";
import { Deadline } from "../../../mod.ts";
import { tryConnect, waitUntil } from "../../_client.ts";

const label = process.argv[2] ?? "e2e";
const here = fileURLToPath(new URL(".", import.meta.url));
const root = join(here, "../../..");
const HAPROXY = "/usr/sbin/haproxy";
const DRAIN_DELAY = 1_000; // longer than HAProxy's failing-check window: fall 2 x inter 100 ms
const GRACE_PERIOD = 10_000;
const LOAD_BOUND_MS = 60_000; // the load stops by itself at the latest here
const SCENARIO_BOUND_MS = 60_000;

interface Outcome {
  httpOk: number;
  httpNot200: number;
  httpErrors: number;
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
  return o.httpNot200 + o.httpErrors + o.respErrors + o.wsErrors + o.lost + o.duplicated
    + o.unacknowledged + o.badExits.length;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Text a child process writes, and a bounded wait for a pattern in it. */
class Watched {
  output = "";
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(command: string, args: string[], env: Record<string, string> = {}) {
    this.child = spawn(command, args, {
      cwd: root,
      env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const take = (chunk: Buffer) => {
      this.output += chunk;
      if (process.env.E2E_DEBUG) appendFileSync(`/tmp/e2e-${basename(command)}.log`, chunk);
    };
    this.child.stdout!.on("data", take);
    this.child.stderr!.on("data", take);
    this.exited = new Promise((resolve) => this.child.on("close", resolve));
  }

  /** Waits until the output after `from` contains `text`, bounded by `ms`; fails if the process exits first. */
  async waitFor(text: string, ms: number, from = 0): Promise<void> {
    const found = () => this.output.includes(text, from);
    const fail = (why: string) => new Error(`${why}; output: ${this.output.slice(-600)}`);
    const { child } = this;
    try {
      await waitUntil(`"${text}"`, () => found() || child.exitCode !== null, (wake) => {
        child.stdout!.on("data", wake);
        child.stderr!.on("data", wake);
        child.on("close", wake);
        return () => {
          child.stdout!.off("data", wake);
          child.stderr!.off("data", wake);
          child.off("close", wake);
        };
      }, ms);
    } catch (error) {
      throw fail((error as Error).message);
    }
    if (!found()) throw fail(`exited (${child.exitCode}) before "${text}"`);
  }
}

interface Slot {
  name: string;
  httpPort: number;
  respPort: number;
  wsPort: number;
  runtime: [string, string[]];
  generation: number;
  process?: Watched;
}

function runtimeCommand(name: string): [string, string[]] {
  if (name === "deno") return [join(root, "node_modules/.bin/deno"), ["run", "-A"]];
  if (name === "bun") return [join(root, "node_modules/.bin/bun"), []];
  return [process.execPath, []]; // Node 24, which runs this file
}

async function startBackend(slot: Slot, file: string, logDir: string): Promise<void> {
  const [command, args] = slot.runtime;
  slot.generation++;
  slot.process = new Watched(command, [...args, join(here, file)], {
    HTTP_PORT: String(slot.httpPort),
    RESP_PORT: String(slot.respPort),
    WS_PORT: String(slot.wsPort),
    LOG: join(logDir, `${slot.name}-${slot.generation}.log`),
    DRAIN_DELAY: String(DRAIN_DELAY),
    GRACE_PERIOD: String(GRACE_PERIOD),
  });
  await slot.process.waitFor("ready", 15_000);
}

function haproxyConfig(ports: Record<"http" | "resp" | "ws", number>, slots: Slot[]): string {
  const servers = (port: (slot: Slot) => number) =>
    slots.map((slot) =>
      `  server ${slot.name} 127.0.0.1:${port(slot)} check inter 100 fall 2 rise 2\n`
    ).join("");
  return `global
  log stderr format raw local0 info
defaults
  log global
  option dontlog-normal
  retries 3
  option redispatch
  timeout connect 1s
  timeout client 30s
  timeout server 30s
frontend http_in
  mode http
  option httplog
  bind 127.0.0.1:${ports.http}
  default_backend http_back
backend http_back
  mode http
  balance roundrobin
  option httpchk GET /healthz
${servers((slot) => slot.httpPort)}frontend resp_in
  mode tcp
  option tcplog
  bind 127.0.0.1:${ports.resp}
  default_backend resp_back
backend resp_back
  mode tcp
  balance roundrobin
  option tcp-check
  tcp-check send PING\\r\\n
  tcp-check expect string +PONG
${servers((slot) => slot.respPort)}frontend ws_in
  mode http
  bind 127.0.0.1:${ports.ws}
  default_backend ws_back
backend ws_back
  mode http
  balance roundrobin
  timeout tunnel 60s
  option httpchk GET /healthz
${servers((slot) => slot.wsPort)}`;
}

/** Load through HAProxy until `stop` aborts; what the clients saw. */
function httpLoad(port: number, stop: AbortSignal, clients: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const seen = { ok: new Set<string>(), not200: 0, errors: 0, samples: [] as string[] };
  const one = (id: string) =>
    new Promise<void>((resolve) => {
      const request = http.get(
        { host: "127.0.0.1", port, path: `/work?ms=20&id=${id}`, agent },
        (response) => {
          response.resume();
          response.on("end", () => {
            if (response.statusCode === 200) seen.ok.add(id);
            else {
              seen.not200++;
              seen.samples.push(`http ${id}: status ${response.statusCode}`);
            }
            resolve();
          });
          response.on("error", (error) => {
            seen.errors++;
            seen.samples.push(`http ${id}: ${error.message}`);
            resolve();
          });
        },
      );
      request.on("error", (error) => {
        seen.errors++;
        seen.samples.push(`http ${id}: ${error.message}`);
        resolve();
      });
    });
  const loops = Array.from({ length: clients }, async (_, c) => {
    for (let n = 0; !stop.aborted && n < 50_000; n++) await one(`h${c}-${n}`);
  });
  return Promise.all(loops).then(() => {
    agent.destroy();
    return seen;
  });
}

function respLoad(port: number, stop: AbortSignal, clients: number) {
  const seen = { acked: new Set<string>(), errors: 0, samples: [] as string[] };
  const loops = Array.from({ length: clients }, async (_, c) => {
    // ioredis with its defaults: reconnect, and resend what was not answered.
    const redis = new Redis({ host: "127.0.0.1", port });
    redis.on("error", () => {}); // reconnects are expected; command errors are counted below
    // Two loops per client keep commands pipelined on its one connection.
    await Promise.all([0, 1].map(async (lane) => {
      for (let n = 0; !stop.aborted && n < 50_000; n++) {
        const id = `r${c}.${lane}-${n}`;
        try {
          const reply = n % 5 === 0
            ? await redis.call("SLOWSET", id, "v", "30")
            : await redis.set(id, "v");
          if (reply === "OK") seen.acked.add(id);
          else seen.samples.push(`resp ${id}: ${reply}`);
          if (n % 10 === 0) await redis.incr(`counter-${c}`);
        } catch (error) {
          seen.errors++;
          seen.samples.push(`resp ${id}: ${(error as Error).message}`);
        }
      }
    }));
    redis.disconnect();
  });
  return Promise.all(loops).then(() => seen);
}

/**
 * WebSocket clients through HAProxy until `stop` aborts: each sends numbered
 * messages one at a time and waits for the echo; when the server closes the
 * socket it reconnects and resends the message that got no echo.
 */
function wsLoad(port: number, stop: AbortSignal, clients: number) {
  const seen = { acked: new Set<string>(), errors: 0, goingAway: 0, samples: [] as string[] };
  type Step = "echo" | "closed";
  const session = async (c: number, next: number): Promise<number> => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
    let wake: ((step: Step) => void) | undefined;
    let echoed = "";
    socket.on("message", (data) => {
      echoed = String(data);
      wake?.("echo");
    });
    const closed = new Promise<Step>((resolve) => {
      socket.on("close", (code) => {
        if (stop.aborted && code === 1000) return resolve("closed"); // our own close
        if (code === 1001) seen.goingAway++;
        else seen.errors++, seen.samples.push(`ws client ${c}: closed with ${code}`);
        resolve("closed");
      });
      socket.on("error", (error) => seen.samples.push(`ws client ${c}: ${error.message}`));
    });
    const opened = await Promise.race([
      new Promise<boolean>((resolve) => socket.once("open", () => resolve(true))),
      closed.then(() => false),
    ]);
    if (!opened) return next;
    for (; !stop.aborted && next < 50_000; next++) {
      const id = `w${c}-${next}`;
      const answered = new Promise<Step>((resolve) => wake = resolve);
      socket.send(id);
      const step = await Promise.race([answered, closed]);
      if (step === "closed") return next; // resend this id on a new connection
      if (echoed !== id) seen.samples.push(`ws ${id}: echoed ${echoed}`);
      seen.acked.add(id);
    }
    socket.close(1000);
    await closed;
    return next;
  };
  const loops = Array.from({ length: clients }, async (_, c) => {
    for (let next = 0, sessions = 0; !stop.aborted && sessions < 1_000; sessions++) {
      next = await session(c, next);
    }
  });
  return Promise.all(loops).then(() => seen);
}

/** Each executed id, with the backends (log files) that executed it. */
function executedIds(logDir: string, kind: string): Map<string, string[]> {
  const where = new Map<string, string[]>();
  for (const name of readdirSync(logDir)) {
    for (const line of readFileSync(join(logDir, name), "utf8").split("\n")) {
      if (!line.startsWith(`${kind} `)) continue;
      const id = line.slice(kind.length + 1);
      const backends = where.get(id) ?? [];
      backends.push(name.replace(/\.log$/, ""));
      where.set(id, backends);
    }
  }
  return where;
}

function compare(acked: Set<string>, executed: Map<string, string[]>) {
  let lost = 0, duplicated = 0, unacknowledged = 0;
  const samples: string[] = [];
  for (const id of acked) {
    if (!executed.has(id)) lost++, samples.push(`${id}: acknowledged, never executed`);
  }
  for (const [id, backends] of executed) {
    if (backends.length > 1) {
      duplicated++, samples.push(`${id}: executed by ${backends.join(", ")}`);
    }
    if (!acked.has(id)) unacknowledged++, samples.push(`${id}: executed, never acknowledged`);
  }
  return { lost, duplicated, unacknowledged, samples };
}

async function scenario(file: string, runtimes: string[], rounds: number): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), "lastcall-e2e-"));
  const logDir = join(dir, "logs");
  mkdirSync(logDir);
  const slots: Slot[] = [];
  for (const [i, runtime] of runtimes.entries()) {
    slots.push({
      name: `b${i}-${runtime}`,
      httpPort: await freePort(),
      respPort: await freePort(),
      wsPort: await freePort(),
      runtime: runtimeCommand(runtime),
      generation: 0,
    });
  }
  const badExits: string[] = [];
  let haproxy: Watched | undefined;
  const stop = new AbortController();
  const loads: Promise<unknown>[] = [];
  try {
    enter("starting backends");
    await Promise.all(slots.map((slot) => startBackend(slot, file, logDir)));
    const ports = { http: await freePort(), resp: await freePort(), ws: await freePort() };
    writeFileSync(join(dir, "haproxy.cfg"), haproxyConfig(ports, slots));
    haproxy = new Watched(HAPROXY, ["-f", join(dir, "haproxy.cfg"), "-db"]);
    for (const port of Object.values(ports)) await waitForListener(port);

    using bound = Deadline.after(LOAD_BOUND_MS);
    bound.signal.addEventListener("abort", () => stop.abort());
    const httpSeen = httpLoad(ports.http, stop.signal, 4);
    const respSeen = respLoad(ports.resp, stop.signal, 3);
    const wsSeen = wsLoad(ports.ws, stop.signal, 3);
    loads.push(httpSeen, respSeen, wsSeen);

    for (let round = 0; round < rounds; round++) {
      for (const slot of slots) {
        const old = slot.process!;
        enter(`round ${round + 1}: SIGTERM ${slot.name}`);
        const signalled = Date.now();
        const beforeSignal = haproxy.output.length;
        process.kill(old.child.pid!, "SIGTERM");
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
        // has taken the old one out (lastcall's backends go out while they
        // drain, during drainDelay; the control's once its ports refuse).
        enter(`round ${round + 1}: waiting for HAProxy to see ${slot.name} down`);
        await haproxy.waitFor(`Server http_back/${slot.name} is DOWN`, 10_000, beforeSignal);
        await haproxy.waitFor(`Server resp_back/${slot.name} is DOWN`, 10_000, beforeSignal);
        await haproxy.waitFor(`Server ws_back/${slot.name} is DOWN`, 10_000, beforeSignal);
        const from = haproxy.output.length;
        enter(`round ${round + 1}: replacing ${slot.name}`);
        await startBackend(slot, file, logDir);
        enter(`round ${round + 1}: waiting for HAProxy to see ${slot.name} up`);
        await haproxy.waitFor(`Server http_back/${slot.name} is UP`, 10_000, from);
        await haproxy.waitFor(`Server resp_back/${slot.name} is UP`, 10_000, from);
        await haproxy.waitFor(`Server ws_back/${slot.name} is UP`, 10_000, from);
      }
    }
    enter("stopping the load");
    stop.abort();
    const [h, r, w] = await Promise.all([httpSeen, respSeen, wsSeen]);
    const httpCheck = compare(h.ok, executedIds(logDir, "http"));
    const respCheck = compare(r.acked, executedIds(logDir, "set"));
    const wsCheck = compare(w.acked, executedIds(logDir, "ws"));
    return {
      httpOk: h.ok.size,
      httpNot200: h.not200,
      httpErrors: h.errors,
      respAcked: r.acked.size,
      respErrors: r.errors,
      wsAcked: w.acked.size,
      wsErrors: w.errors,
      wsGoingAway: w.goingAway,
      lost: httpCheck.lost + respCheck.lost + wsCheck.lost,
      duplicated: httpCheck.duplicated + respCheck.duplicated + wsCheck.duplicated,
      unacknowledged: httpCheck.unacknowledged + respCheck.unacknowledged
        + wsCheck.unacknowledged,
      badExits,
      samples: [
        ...h.samples,
        ...r.samples,
        ...w.samples,
        ...httpCheck.samples,
        ...respCheck.samples,
        ...wsCheck.samples,
      ],
    };
  } finally {
    stop.abort();
    await Promise.allSettled(loads);
    for (const slot of slots) slot.process?.child.kill("SIGKILL");
    haproxy?.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

async function waitForListener(port: number): Promise<void> {
  using deadline = Deadline.after(10_000);
  while ((await tryConnect(port)) !== "connected") {
    if (deadline.expired) throw new Error(`HAProxy did not listen on ${port}`);
  }
}

function describe(o: Outcome): string {
  return `HTTP ${o.httpOk} ok, ${o.httpNot200} not 200, ${o.httpErrors} errors; `
    + `RESP ${o.respAcked} acknowledged, ${o.respErrors} errors; `
    + `WebSocket ${o.wsAcked} echoed, ${o.wsGoingAway} closed with 1001, ${o.wsErrors} errors; `
    + `${o.lost} lost, ${o.duplicated} duplicated, ${o.unacknowledged} executed unacknowledged; `
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

const onlyScenario = process.env.E2E_ONLY;
const allTests = [
  {
    name: "e2e: rolling restart behind HAProxy, lastcall on Node, Deno and Bun",
    file: "backend.ts",
    runtimes: ["node", "deno", "bun"],
    expectFailures: false,
  },
  {
    name: "e2e: rolling restart behind HAProxy, control backend without lastcall",
    file: "control.ts",
    runtimes: ["node", "node", "node"],
    expectFailures: true,
  },
];
const tests = allTests.filter(({ name }) => !onlyScenario || name.includes(onlyScenario));
if (!existsSync(HAPROXY)) {
  for (const { name } of tests) {
    skipped++;
    console.log(`skip ${name}: haproxy is not installed (npm test installs it when run as root)`);
  }
} else {
  for (const { name, file, runtimes, expectFailures } of tests) {
    const started = Date.now();
    using bound = Deadline.after(SCENARIO_BOUND_MS);
    try {
      const outcome = await Promise.race([
        scenario(file, runtimes, 2),
        new Promise<never>((_, reject) =>
          bound.signal.addEventListener(
            "abort",
            () => reject(new Error(`not done after ${SCENARIO_BOUND_MS} ms, while ${phase}`)),
          )
        ),
      ]);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const count = failures(outcome);
      const ok = expectFailures ? count > 0 : count === 0;
      const expected = expectFailures ? "failures detected, as they must be" : "no client noticed";
      report(
        ok && outcome.httpOk > 0 && outcome.respAcked > 0 && outcome.wsAcked > 0,
        name,
        `${ok ? expected : "UNEXPECTED"}: ${describe(outcome)} (${seconds} s)`,
        ok ? [] : [...outcome.badExits, ...outcome.samples],
      );
    } catch (error) {
      report(false, name, String((error as Error).stack ?? error));
    }
  }
}
console.log(`${label}: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
