// Runs the whole suite on the runtime that runs this file:
//   node tests/run.ts | deno run -A tests/run.ts | bun tests/run.ts
// Arguments: [label] [filter]. Exits 1 when a test failed.

import { readdirSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { runAll, runtime } from "./_harness.ts";

const [label = runtime, filter = ""] = process.argv.slice(2);
const here = fileURLToPath(new URL(".", import.meta.url));
const testFiles = readdirSync(here).filter((name) => /\.test\.(ts|js)$/.test(name)).sort();
for (const name of testFiles) await import(new URL(name, import.meta.url).href);
const { failed } = await runAll(label, filter);
// Exit explicitly: a leaked handle must not hang the suite. Leaks are caught
// by the tests that run child processes and expect them to exit by themselves.
process.exit(failed > 0 ? 1 : 0);
