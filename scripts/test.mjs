// npm test: formatting, build, type checks, type tests, then the shared suite
// on Node 20 (compiled), Node 22, 24 and 26, Deno and Bun, then the same suite
// against the single file on each runtime that runs a copied .ts file. Ends with one line summing every runtime:
//   total: N passed, N failed, N skipped
// Exits non-zero when a check or test fails, or a runtime is missing.
//
// Arguments: [filter] runs only the tests whose name contains it.
// LASTCALL_RUNTIMES=node24,deno limits the runtimes (for local iteration).

import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pointBuildAtDist, root, runtimes } from "./runtimes.mjs";

const filter = process.argv[2] ?? "";
const only = process.env.LASTCALL_RUNTIMES?.split(",");
const env = { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
const bin = (name) => join(root, "node_modules/.bin", name);
let passed = 0, failed = 0, skipped = 0;

function step(name, command, args) {
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: root, env, stdio: "inherit" });
  const ok = result.status === 0;
  console.log(`${ok ? "ok  " : "FAIL"} check: ${name} (${Date.now() - started} ms)`);
  if (!ok) failed++;
  return ok;
}

// System tools some tests use as real peers, from Debian. Installed when
// missing and we may (CI runs as root); otherwise those tests skip and say why.
const tools = {
  "redis-tools": "/usr/bin/redis-benchmark",
  haproxy: "/usr/sbin/haproxy",
  wrk: "/usr/bin/wrk",
  "nghttp2-client": "/usr/bin/h2load",
  nginx: "/usr/sbin/nginx",
  "libnginx-mod-stream": "/usr/lib/nginx/modules/ngx_stream_module.so",
  caddy: "/usr/bin/caddy",
};
const missing = Object.entries(tools).filter(([, path]) => !existsSync(path)).map(([pkg]) => pkg);
if (missing.length > 0 && process.getuid?.() === 0) {
  console.log(`installing ${missing.join(", ")} with apt-get`);
  const quiet = { ...env, DEBIAN_FRONTEND: "noninteractive" };
  spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env: quiet });
  spawnSync("apt-get", ["install", "-y", "-qq", ...missing], { stdio: "inherit", env: quiet });
} else if (missing.length > 0) {
  console.log(`NOTE: ${missing.join(", ")} missing and not root: the tests that need them skip`);
}

const deno = bin("deno");
const node = process.execPath;
step("dprint check", bin("dprint"), ["check"]);
step("dist/lastcall.ts up to date with src/", node, ["scripts/single_file.mjs", "--check"]);
const built = step("build (tsc, single file, manifest check)", node, ["scripts/build.mjs"]);
const compiled = step("type check tests and examples (tsc)", bin("tsc"), [
  "-p",
  "tsconfig.test.json",
]);
// The benchmarks' peers (stoppable, http-terminator) have their own
// package.json in bench/, installed as `npm run bench` does.
if (!existsSync(join(root, "bench/node_modules"))) {
  step("install the benchmarks' peers (npm ci in bench/)", "npm", [
    "ci",
    "--silent",
    "--prefix",
    "bench",
  ]);
}
step("type check bench (tsc)", bin("tsc"), ["-p", "tsconfig.bench.json", "--noEmit"]);
step("type check for Deno, with JSDoc examples", deno, [
  "check",
  "--quiet",
  "--doc",
  "mod.ts",
  "src/",
  "tests/",
]);
step("type check the single file (Deno)", deno, [
  "check",
  "--quiet",
  "--config",
  "deno.json",
  "dist/lastcall.ts",
]);
if (built) step("tsd type tests against dist/", bin("tsd"), []);
if (built) {
  step("the copied single file type-checks in ordinary projects (tsc, strict)", node, [
    "scripts/single_file_tsc.mjs",
  ]);
}
step("JSDoc lint for JSR (deno doc --lint)", deno, ["doc", "--lint", "--quiet", "mod.ts"]);
step("README and docs/ code blocks type-check, and the runnable ones run", node, [
  "scripts/docs_check.mjs",
]);
step("JSDoc examples type-check (deno test --doc)", deno, [
  "test",
  "--doc",
  "--no-run",
  "--quiet",
  "mod.ts",
  "src/",
]);
if (built) {
  step("package contents (npm pack, deno publish --dry-run)", node, [
    "scripts/package_check.mjs",
  ]);
  step("install as a user would (npm tarball, copied file)", node, [
    "scripts/install_check.mjs",
  ]);
  step("publint", bin("publint"), ["--strict"]);
  step("are the types wrong (attw, ESM only)", bin("attw"), [
    "--pack",
    "--profile",
    "esm-only",
    "--quiet",
  ]);
}

// Node 20 tests what npm users import: the compiled tests, re-pointed at dist/.
if (built && compiled) pointBuildAtDist();

function runSuite(runtime) {
  return new Promise((resolve) => {
    const child = spawn(runtime.command, [...runtime.args, runtime.entry, runtime.label, filter], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let last = "";
    child.stdout.on("data", (chunk) => {
      process.stdout.write(chunk);
      last = (last + chunk).split("\n").slice(-3).join("\n");
    });
    child.on("close", (code) => {
      const counts = new RegExp(
        `^${runtime.label}: (\\d+) passed, (\\d+) failed, (\\d+) skipped`,
        "m",
      )
        .exec(last);
      resolve({ code, counts: counts?.slice(1).map(Number) });
    });
  });
}

const summary = [];

/** Adds a suite's counts to the totals; a crash or a failing exit counts as a failure. */
function tally(name, { code, counts }) {
  if (!counts) {
    console.log(`FAIL ${name}: the suite ended without its closing line (exit ${code})`);
    failed++;
    summary.push(`${name}: crashed`);
    return;
  }
  passed += counts[0];
  failed += counts[1];
  skipped += counts[2];
  if (code !== 0 && counts[1] === 0) failed++;
  summary.push(`${name}: ${counts[0]} passed, ${counts[1]} failed`);
}
for (const runtime of runtimes()) {
  if (only && !only.includes(runtime.label)) continue;
  if (!runtime.version) {
    console.log(`FAIL ${runtime.label}: missing (looked for ${runtime.command ?? "node on PATH"})`);
    summary.push(`${runtime.label}: missing`);
    failed++;
    continue;
  }
  if (runtime.label === "node20" && !(built && compiled)) {
    console.log("FAIL node20: not run, the build failed");
    failed++;
    continue;
  }
  console.log(`\n# ${runtime.label} ${runtime.version} (${runtime.command})`);
  tally(`${runtime.label} ${runtime.version}`, await runSuite(runtime));
}

// The same suite against the single file dist/lastcall.ts, on every runtime
// that runs a copied .ts file as it is (Node 22.18+ by type stripping, Deno,
// Bun; not Node 20): a copy of the tests and examples whose ../mod.ts
// re-exports that file.
const singleRoot = join(root, ".build/single");
function prepareSingleFileTests() {
  rmSync(singleRoot, { recursive: true, force: true });
  cpSync(join(root, "tests"), join(singleRoot, "tests"), {
    recursive: true,
    filter: (path) => !path.includes(`${join("tests", "e2e")}`),
  });
  // The framework apps' installs and builds stay at the root, where the
  // tests point the recipes.
  const appOutputs = /[/\\](node_modules|\.next|\.svelte-kit|\.astro|build|dist)([/\\]|$)/;
  cpSync(join(root, "examples"), join(singleRoot, "examples"), {
    recursive: true,
    filter: (path) => !appOutputs.test(path.slice(join(root, "examples").length)),
  });
  writeFileSync(join(singleRoot, "mod.ts"), "export * from \"../../dist/lastcall.ts\";\n");
}
if (built) {
  prepareSingleFileTests();
  for (const runtime of runtimes()) {
    if (runtime.label === "node20" || !runtime.version) continue;
    const label = `${runtime.label}-single-file`;
    if (only && !only.includes(label)) continue;
    console.log(`\n# ${label}: the suite against dist/lastcall.ts on ${runtime.version}`);
    tally(label, await runSuite({ ...runtime, label, entry: ".build/single/tests/run.ts" }));
  }
}

// The end-to-end rolling restarts (tests/e2e/rolling-restart), one scenario
// per front (HAProxy with checks, nginx, Caddy, a Kubernetes-style endpoint
// lag) and its control, about two minutes: backends on Node 24, Deno and Bun
// together. The long matrix (every front x runtime, several runs) is
// `npm run test:e2e -- --matrix`, not run here.
const node24 = runtimes().find((runtime) => runtime.label === "node24");
if ((!only || only.includes("e2e")) && "e2e rolling restart".includes(filter) && node24?.version) {
  console.log(`\n# e2e (tests/e2e/rolling-restart on ${node24.label}: HAProxy, nginx, Caddy)`);
  const e2e = {
    label: "e2e",
    command: node24.command,
    args: [],
    entry: "tests/e2e/rolling-restart/run.ts",
  };
  tally("e2e", await runSuite(e2e));
}

console.log(`\n${summary.join("\n")}`);
console.log(`total: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
