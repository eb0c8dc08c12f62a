// Every TypeScript block in README.md and docs/*.md, checked as a user would
// paste it: each is a whole module importing "lastcall", and must type-check
// (deno check, with Node's and the web's types). A block preceded by
// `<!-- run -->` must also run to exit 0 by itself on Node 24, Deno and Bun;
// one preceded by `<!-- run: sigterm -->` is a server: once it prints
// "listening", SIGTERM must bring it down to exit 0 by itself. Runtime labels
// in the marker (`<!-- run: sigterm node24 bun -->`) limit where it runs.
// Ports are replaced by 0 for the run, so the blocks never collide.

import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { root, runtimes } from "./runtimes.mjs";
import { throwawayCertificate } from "./throwaway_cert.mjs";

const BOUND_MS = 15_000;
const out = join(root, ".build/docs");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const sources = [
  "README.md",
  ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`),
];
const blocks = [];
for (const source of sources) {
  const text = readFileSync(join(root, source), "utf8");
  const pattern = /(?:<!--\s*run(?::([\w ]+))?\s*-->\s*\n\s*)?```ts\n([\s\S]*?)```/g;
  let index = 0;
  for (const match of text.matchAll(pattern)) {
    const line = text.slice(0, match.index).split("\n").length;
    const words = match[0].startsWith("<!--") ? (match[1] ?? "").trim().split(/\s+/) : undefined;
    const mode = words && (words.includes("sigterm") ? "sigterm" : "exit");
    const on = words?.filter((word) => word && word !== "sigterm");
    const file = join(out, `${source.replace(/\W+/g, "_")}_${++index}.ts`);
    const mod = relative(out, join(root, "mod.ts"));
    writeFileSync(file, match[2].replaceAll(/from "lastcall"/g, `from "${mod}"`));
    blocks.push({ where: `${source}:${line}`, file, mode, on: on?.length ? on : undefined });
  }
}

let failed = 0;
const checked = spawnSync(
  join(root, "node_modules/.bin/deno"),
  ["check", "--quiet", "--config", join(root, "deno.json"), ...blocks.map((b) => b.file)],
  { cwd: root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } },
);
if (checked.status !== 0) {
  failed++;
  let report = `${checked.stdout}${checked.stderr}`;
  for (const block of blocks) report = report.replaceAll(block.file, block.where);
  console.error(`documentation blocks do not type-check:\n${report}`);
} else {
  console.log(`${blocks.length} documentation blocks type-check`);
}

/** Runs one block on one runtime; resolves with what went wrong, or undefined. */
// A throwaway certificate for the TLS blocks (TLS_CERT, TLS_KEY), made here.
const tlsDir = join(out, "tls");
mkdirSync(tlsDir, { recursive: true });
const { certFile, keyFile } = throwawayCertificate(tlsDir);
const runEnv = {
  ...process.env,
  TLS_CERT: certFile,
  TLS_KEY: keyFile,
};

function run(block, runtime) {
  const file = block.file.replace(/\.ts$/, ".run.ts");
  writeFileSync(file, readFileSync(block.file, "utf8").replaceAll(/port: \d+/g, "port: 0"));
  const args = runtime.label === "deno" ? ["run", "-A", file] : [file];
  const child = spawn(runtime.command, args, {
    cwd: root,
    env: runEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise((resolve) => {
    const bound = setTimeout(() => {
      child.kill("SIGKILL");
      resolve(`did not exit within ${BOUND_MS} ms`);
    }, BOUND_MS);
    child.stdout.on("data", (chunk) => {
      output += chunk;
      if (block.mode === "sigterm" && /listening/.test(output) && !child.signalled) {
        child.signalled = true;
        child.kill("SIGTERM");
      }
    });
    child.stderr.on("data", (chunk) => output += chunk);
    child.on("close", (code) => {
      clearTimeout(bound);
      if (block.mode === "sigterm" && !child.signalled) resolve(`never printed "listening"`);
      else resolve(code === 0 ? undefined : `exit ${code}`);
    });
  }).then((problem) => problem && `${problem}\n${output.trim()}`);
}

const runners = runtimes().filter((r) => ["node24", "deno", "bun"].includes(r.label) && r.version);
let ran = 0;
for (const block of blocks.filter((b) => b.mode !== undefined)) {
  for (const runtime of runners.filter((r) => !block.on || block.on.includes(r.label))) {
    const problem = await run(block, runtime);
    ran++;
    if (problem) {
      failed++;
      console.error(`${block.where} on ${runtime.label}: ${problem}`);
    }
  }
}
console.log(`${ran} runs of the runnable blocks (${runners.map((r) => r.label).join(", ")})`);
process.exit(failed > 0 ? 1 : 0);
