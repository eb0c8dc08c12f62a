// The clients of the rolling-restart test: HTTP keep-alive loops (60 % GET
// /work, 40 % POST /order), ioredis and WebSocket clients, each id they see
// acknowledged recorded, and the comparison with what the backends executed.

import { Redis } from "ioredis";
import { readdirSync, readFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { WebSocket } from "ws";

/**
 * HTTP load until `stop` aborts: `clients` loops (all but one keep-alive),
 * each request a GET /work or (two in five) a POST /order with its own id,
 * one at a time.
 */
export function httpLoad(port: number, stop: AbortSignal, clients: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  // The last client opens a new connection for each request, as many real
  // clients do: behind a layer-4 balancer (kube-proxy) only new connections
  // meet a backend whose listener closed while it was still in rotation.
  const churning = new http.Agent({ keepAlive: false });
  const seen = {
    ok: new Set<string>(),
    ordered: new Set<string>(),
    getFailed: 0,
    postFailed: 0,
    samples: [] as string[],
  };
  const one = (id: string, post: boolean, agent: http.Agent) =>
    new Promise<void>((resolve) => {
      const failed = (why: string) => {
        if (post) seen.postFailed++;
        else seen.getFailed++;
        seen.samples.push(`${new Date().toISOString().slice(11, 23)} ${id}: ${why}`);
        resolve();
      };
      const body = `id=${id}`;
      const request = http.request({
        host: "127.0.0.1",
        port,
        agent,
        method: post ? "POST" : "GET",
        path: post ? "/order" : `/work?ms=20&id=${id}`,
        headers: post
          ? { "content-type": "application/x-www-form-urlencoded", "content-length": body.length }
          : {},
      }, (response) => {
        response.resume();
        response.on("end", () => {
          if (response.statusCode !== 200) return failed(`status ${response.statusCode}`);
          (post ? seen.ordered : seen.ok).add(id);
          resolve();
        });
        response.on("error", (error) => failed(error.message));
      });
      request.on("error", (error) => failed(error.message));
      request.end(post ? body : undefined);
    });
  const loops = Array.from({ length: clients }, async (_, c) => {
    for (let n = 0; !stop.aborted && n < 50_000; n++) {
      const post = n % 5 < 2;
      await one(`${post ? "o" : "h"}${c}-${n}`, post, c === clients - 1 ? churning : agent);
    }
  });
  return Promise.all(loops).then(() => {
    agent.destroy();
    churning.destroy();
    return seen;
  });
}

/** Redis-protocol load through ioredis until `stop` aborts. */
export function respLoad(port: number, stop: AbortSignal, clients: number) {
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
 * WebSocket clients through the balancer until `stop` aborts: each sends numbered
 * messages one at a time and waits for the echo; when the server closes the
 * socket it reconnects and resends the message that got no echo.
 */
export function wsLoad(port: number, stop: AbortSignal, clients: number) {
  const seen = { acked: new Set<string>(), errors: 0, goingAway: 0, samples: [] as string[] };
  type Step = "echo" | "closed";
  const session = async (c: number, next: number): Promise<number> => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
    let wake: ((step: Step) => void) | undefined;
    let echoed = "";
    let closedByUs = false;
    socket.on("message", (data) => {
      echoed = String(data);
      wake?.("echo");
    });
    const closed = new Promise<Step>((resolve) => {
      socket.on("close", (code) => {
        if (code === 1000 && closedByUs) return resolve("closed");
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
    for (; !stop.aborted && next < 1_000_000; next++) {
      const id = `w${c}-${next}`;
      const answered = new Promise<Step>((resolve) => wake = resolve);
      socket.send(id);
      const step = await Promise.race([answered, closed]);
      if (step === "closed") return next; // resend this id on a new connection
      if (echoed !== id) seen.samples.push(`ws ${id}: echoed ${echoed}`);
      seen.acked.add(id);
    }
    closedByUs = true;
    socket.close(1000);
    await closed;
    return next;
  };
  const loops = Array.from({ length: clients }, async (_, c) => {
    for (
      let next = 0, sessions = 0;
      !stop.aborted && next < 1_000_000 && sessions < 10_000;
      sessions++
    ) {
      next = await session(c, next);
    }
  });
  return Promise.all(loops).then(() => seen);
}

/** Each executed id, with the backends (log files) that executed it. */
export function executedIds(logDir: string, kind: string): Map<string, string[]> {
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

export function compare(acked: Set<string>, executed: Map<string, string[]>) {
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
