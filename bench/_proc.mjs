// What the benchmark drivers share: a server's CPU time from /proc, and
// starting a benchmark server pinned to core 0 until it prints its port.

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

const TICKS_PER_MS = 100 / 1000;

/** User + system CPU time of process `pid` so far, in ms. */
export function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_MS;
}

/** Starts `script` with `args` on `runtime`, pinned to core 0; resolves once it prints "listening <port>". */
export function startServer(runtime, script, args, cwd) {
  const runtimeArgs = runtime.label === "deno" ? ["run", "-A"] : [];
  const child = spawn(
    "taskset",
    ["-c", "0", runtime.command, ...runtimeArgs, script, ...args],
    { cwd, stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((done, fail) => {
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const match = /listening (\d+)/.exec(out);
      if (match) done({ child, port: Number(match[1]) });
    });
    child.on("exit", (code) => fail(new Error(`server exited ${code}: ${out}`)));
  });
}
