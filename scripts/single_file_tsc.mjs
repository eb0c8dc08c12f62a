// The copied dist/lastcall.ts must type-check in an ordinary project: tsc
// --init's strict defaults (noUncheckedIndexedAccess,
// exactOptionalPropertyTypes, verbatimModuleSyntax) with Node's types, with
// and without the DOM libraries, and with the newest @types/node as well as
// the oldest we support (they disagree on node:http2's listeners). Each
// variant is a small project in .build/single-tsc/ holding a copy of the file.

import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { root } from "./runtimes.mjs";

const variants = {
  "node types only": ["esnext"],
  "DOM without DOM.Iterable": ["esnext", "dom"],
  "DOM and DOM.Iterable": ["esnext", "dom", "dom.iterable"],
  "newest Node types, DOM and DOM.Iterable": ["esnext", "dom", "dom.iterable"],
};
const base = join(root, ".build/single-tsc");
rmSync(base, { recursive: true, force: true });
let failed = 0;
for (const [name, lib] of Object.entries(variants)) {
  const dir = join(base, name.replaceAll(/\W+/g, "-"));
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(root, "dist/lastcall.ts"), join(dir, "lastcall.ts"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  const compilerOptions = {
    module: "nodenext",
    target: "esnext",
    lib,
    types: ["node"],
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    verbatimModuleSyntax: true,
    isolatedModules: true,
    noUncheckedSideEffectImports: true,
    moduleDetection: "force",
    skipLibCheck: true,
    noEmit: true,
  };
  if (name.startsWith("newest")) {
    // @types/node-latest is @types/node at its newest, under another name.
    mkdirSync(join(dir, "types"));
    symlinkSync(join(root, "node_modules/@types/node-latest"), join(dir, "types/node"));
    compilerOptions.typeRoots = [join(dir, "types")];
  }
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({ compilerOptions, files: ["lastcall.ts"] }, null, 2),
  );
  try {
    execFileSync(join(root, "node_modules/.bin/tsc"), ["-p", dir], { stdio: "inherit" });
    console.log(`single file type-checks: ${name}`);
  } catch {
    console.error(`single file fails tsc: ${name} (${dir})`);
    failed++;
  }
}
process.exit(failed > 0 ? 1 : 0);
