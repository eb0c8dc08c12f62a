// Child processes for the rolling-restart test (backends and balancers), with
// bounded waits for what they print, and the loopback ports they use.

import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync } from "node:fs";
import net from "node:net";
import { basename, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { Deadline } from "../../../mod.ts";
import { tryConnect, waitUntil } from "../../_client.ts";

export const here = fileURLToPath(new URL(".", import.meta.url));
export const root = join(here, "../../..");

export function freePort(): Promise<number> {
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
export class Watched {
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

/** Waits until `port` accepts a connection, bounded. */
export async function waitForListener(port: number, who: string): Promise<void> {
  using deadline = Deadline.after(10_000);
  while ((await tryConnect(port)) !== "connected") {
    if (deadline.expired) throw new Error(`${who} did not listen on ${port}`);
  }
}

/** Resolves after `ms`: for delays the test models (an endpoint controller's lag), never to wait for an event. */
export function modelledDelay(ms: number): Promise<void> {
  const { signal } = Deadline.after(ms);
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve()));
}
