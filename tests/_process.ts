// Child processes for tests: start a script on the runtime under test, read
// its output as it comes, and wait for it to exit by itself, bounded by a
// Deadline.

import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { Deadline } from "../mod.ts";
import { waitUntil } from "./_client.ts";
import { runtimeCommand } from "./_harness.ts";

export interface Exit {
  /** The exit code, or null when the process was killed. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** True when it did not exit by itself within the bound and was killed. */
  killed: boolean;
}

/** A running child process on this runtime. */
export class Child {
  readonly process: ChildProcess;
  stdout = "";
  stderr = "";
  readonly #exit: Promise<number | null>;

  constructor(file: string, args: string[] = [], env: Record<string, string> = {}) {
    const [command, runtimeArgs] = runtimeCommand(file);
    this.process = spawn(command, [...runtimeArgs, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    this.process.stdout!.on("data", (chunk) => this.stdout += chunk);
    this.process.stderr!.on("data", (chunk) => this.stderr += chunk);
    this.#exit = new Promise((resolve, reject) => {
      this.process.on("error", reject);
      this.process.on("close", (code) => resolve(code));
    });
  }

  /**
   * Sends a signal with process.kill: Deno's ChildProcess.kill() reports the
   * child as killed by the signal even when it handled it and exited 0.
   */
  signal(name: NodeJS.Signals): void {
    process.kill(this.process.pid!, name);
  }

  /** Waits until stdout matches `pattern` and returns the match. */
  async waitForOutput(pattern: RegExp, ms = 10_000): Promise<RegExpMatchArray> {
    const subscribe = (wake: () => void) => {
      this.process.stdout!.on("data", wake);
      this.process.on("close", wake);
      return () => {
        this.process.stdout!.off("data", wake);
        this.process.off("close", wake);
      };
    };
    await waitUntil(
      `output ${pattern} (stdout: ${this.stdout.slice(-300)}; stderr: ${this.stderr.slice(-500)})`,
      () => pattern.test(this.stdout),
      subscribe,
      ms,
    );
    return this.stdout.match(pattern)!;
  }

  /** Waits at most `bound` ms for the process to exit by itself, then kills it. */
  async exit(bound = 15_000): Promise<Exit> {
    const deadline = Deadline.after(bound);
    let killed = false;
    deadline.signal.addEventListener("abort", () => {
      killed = true;
      this.process.kill("SIGKILL");
    });
    const code = await this.#exit;
    deadline[Symbol.dispose]();
    const stderr = killed ? `killed after ${bound} ms\n${this.stderr}` : this.stderr;
    return { code, stdout: this.stdout, stderr, killed };
  }
}

/** Runs a script on this runtime and waits at most `bound` ms for it to exit by itself. */
export function runToExit(file: string, args: string[] = [], bound = 15_000): Promise<Exit> {
  return new Child(file, args).exit(bound);
}
