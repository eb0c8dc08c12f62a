// npm run build: emits dist/ (ESM and .d.ts) with tsc and the single-file
// copy dist/lastcall.ts, then checks that the
// npm and JSR manifests export the same entry points and carry one version.

import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { root } from "./runtimes.mjs";

rmSync(join(root, "dist"), { recursive: true, force: true });
execFileSync(join(root, "node_modules/.bin/tsc"), ["-p", "tsconfig.json"], {
  cwd: root,
  stdio: "inherit",
});

// The one-file copy of the library, dist/lastcall.ts (committed: it is what users copy).
execFileSync(process.execPath, [join(root, "scripts/single_file.mjs")], { stdio: "inherit" });

const npm = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const jsr = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
const problems = [];
const npmExports = Object.keys(npm.exports ?? {}).sort();
const jsrExports = Object.keys(jsr.exports ?? {}).sort();
if (JSON.stringify(npmExports) !== JSON.stringify(jsrExports)) {
  problems.push(
    `export lists differ: package.json has ${npmExports.join(", ")}; deno.json has ${
      jsrExports.join(", ")
    }`,
  );
}
for (const key of jsrExports) {
  const source = jsr.exports[key].replace(/^\.\//, "").replace(/\.ts$/, "");
  const target = npm.exports[key];
  if (!target) continue;
  const conditions = Object.keys(target);
  if (conditions[0] !== "types" || conditions.at(-1) !== "default") {
    problems.push(`package.json exports["${key}"] must list "types" first and "default" last`);
  }
  if (target.types !== `./dist/${source}.d.ts` || target.default !== `./dist/${source}.js`) {
    problems.push(`package.json exports["${key}"] does not point at the build of ${source}.ts`);
  }
}
if (npm.version !== jsr.version) {
  problems.push(`versions differ: package.json ${npm.version}, deno.json ${jsr.version}`);
}
if (problems.length > 0) {
  console.error(`Manifest check failed:\n- ${problems.join("\n- ")}`);
  process.exit(1);
}
console.log(
  `build: dist/ and dist/lastcall.ts emitted; manifests agree on ${npmExports.join(", ")}`,
);
