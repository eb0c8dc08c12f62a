// What each registry would receive, checked before anyone publishes:
// npm gets only dist/, README, LICENSE (and package.json); JSR gets only
// mod.ts, src/, README, docs/, LICENSE, CHANGELOG (and deno.json), with no slow types;
// CHANGELOG.md has an entry for the manifests' version.

import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { root } from "./runtimes.mjs";

const problems = [];
const [npmPack] = JSON.parse(
  execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  }),
);
for (const { path } of npmPack.files) {
  if (!/^(dist\/.+|README\.md|LICENSE|package\.json)$/.test(path)) {
    problems.push(`npm package would contain ${path}`);
  }
}

// deno publish reports on stderr.
const dryRun = spawnSync(
  join(root, "node_modules/.bin/deno"),
  ["publish", "--dry-run", "--allow-dirty"],
  { cwd: root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } },
);
const jsr = `${dryRun.stdout}${dryRun.stderr}`;
const jsrFiles = [...jsr.matchAll(/file:\/\/\/\S+/g)].map((m) =>
  m[0].slice(`file://${root}/`.length)
);
for (const path of jsrFiles) {
  if (
    !/^(mod\.ts|src\/.+\.ts|README\.md|docs\/[\w-]+\.md|LICENSE|CHANGELOG\.md|deno\.json)$/.test(
      path,
    )
  ) {
    problems.push(`JSR package would contain ${path}`);
  }
}
if (dryRun.status !== 0 || !jsr.includes("Success")) {
  problems.push(`deno publish --dry-run failed:\n${jsr}`);
}

const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
if (!readFileSync(join(root, "CHANGELOG.md"), "utf8").includes(`## ${version}`)) {
  problems.push(`CHANGELOG.md has no "## ${version}" entry`);
}

if (problems.length > 0) {
  console.error(`Package check failed:\n- ${problems.join("\n- ")}`);
  process.exit(1);
}
console.log(
  `packages: npm ${npmPack.files.length} files (dist/, README, LICENSE), JSR ${jsrFiles.length} files, no slow types`,
);
