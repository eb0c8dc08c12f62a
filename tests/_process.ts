// Child processes for tests: start a script on the runtime under test and
// wait for it to exit by itself, bounded by a Deadline.

import { spawn } from "node:child_process";
import { Deadline } from "../mod.ts";
import { runtimeCommand } from "./_harness.ts";

export interface Exit {
  /** The exit code, or null when the process was killed. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** True when it did not exit by itself within the bound and was killed. */
  killed: boolean;
}

/** Runs a script on this runtime and waits at most `bound` ms for it to exit by itself. */
export function runToExit(file: string, args: string[] = [], bound = 15_000): Promise<Exit> {
  const [command, runtimeArgs] = runtimeCommand(file);
  const child = spawn(command, [...runtimeArgs, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "", stderr = "", killed = false;
  child.stdout.on("data", (chunk) => stdout += chunk);
  child.stderr.on("data", (chunk) => stderr += chunk);
  const deadline = Deadline.after(bound);
  deadline.signal.addEventListener("abort", () => {
    killed = true;
    child.kill("SIGKILL");
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      deadline[Symbol.dispose]();
      resolve({
        code,
        stdout,
        stderr: killed ? `killed after ${bound} ms\n${stderr}` : stderr,
        killed,
      });
    });
  });
}
