// The whole library as one self-contained TypeScript file, dist/lastcall.ts,
// for users who copy a file rather than install a package. Made from src/ by
// concatenation, no bundler: every module in dependency order, relative
// imports dropped, node: imports merged at the top, and `export` kept only on
// what mod.ts exports. Runs unchanged on Node 22.18+ (type stripping), Deno
// and Bun.
//   node scripts/single_file.mjs          writes dist/lastcall.ts
//   node scripts/single_file.mjs --check  fails when dist/lastcall.ts is out of date

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const singleFilePath = join(root, "dist/lastcall.ts");

const IMPORT = /^import\s[\s\S]*?from\s+"([^"]+)";\n/gm;
const RE_EXPORT = /^export\s[\s\S]*?from\s+"([^"]+)";\n/gm;
const DYNAMIC_IMPORT = /\(await import\("(\.[^"]+)"\)\)\.(\w+)/g;

/** Relative module paths that `file` imports, statically or dynamically. */
function dependencies(file, text) {
  const found = [];
  for (const match of text.matchAll(IMPORT)) found.push(match[1]);
  for (const match of text.matchAll(RE_EXPORT)) found.push(match[1]);
  for (const match of text.matchAll(DYNAMIC_IMPORT)) found.push(match[1]);
  return found.filter((path) => path.startsWith(".")).map((path) => join(dirname(file), path));
}

/** mod.ts's exported names, and the modules in dependency order (dependencies first). */
function collect() {
  const entry = join(root, "mod.ts");
  const modText = readFileSync(entry, "utf8");
  const publicNames = new Set();
  for (const match of modText.matchAll(/^export\s+(?:type\s+)?\{([^}]*)\}/gm)) {
    for (const name of match[1].split(",")) {
      const bare = name.trim().replace(/^type\s+/, "");
      if (bare) publicNames.add(bare);
    }
  }
  const ordered = [];
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    for (const dependency of dependencies(file, text)) visit(dependency);
    if (file !== entry) ordered.push({ file, text });
  };
  visit(entry);
  const moduleDoc = /^\/\*\*[\s\S]*?@module[\s\S]*?\*\/\n/.exec(modText)?.[0] ?? "";
  return { publicNames, ordered, moduleDoc };
}

/** The single file's text. */
export function singleFile() {
  const { publicNames, ordered, moduleDoc } = collect();
  const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const valueImports = new Map(); // statement -> true, for node: builtins
  const typeImports = new Map(); // "node:x" -> statement
  const bodies = [];
  for (const { file, text } of ordered) {
    let body = text.replace(IMPORT, (statement, specifier) => {
      if (specifier.startsWith(".")) return "";
      if (/^import\s+type\s/.test(statement)) typeImports.set(specifier, statement);
      else valueImports.set(statement, specifier);
      return "";
    });
    body = body.replace(DYNAMIC_IMPORT, (_match, _path, name) => name);
    body = body.replace(
      /^export\s+((?:async\s+)?function|const|let|class|abstract class|interface|type)\s+(\w+)/gm,
      (declaration, kind, name) => publicNames.has(name) ? declaration : `${kind} ${name}`,
    );
    bodies.push(`// ---- ${relative(root, file)} ----\n\n${body.trim()}\n`);
  }
  // A type-only import of a builtin that is also imported for values is covered by it.
  const valueSpecifiers = new Set(valueImports.values());
  const imports = [
    ...valueImports.keys(),
    ...[...typeImports].filter(([specifier]) => !valueSpecifiers.has(specifier)).map(([, s]) => s),
  ].map((statement) => statement.trim()).sort();
  return [
    `// lastcall ${version}: the whole library in one file, generated from src/ by`,
    "// scripts/single_file.mjs; do not edit. MIT License. https://jsr.io/@lastcall/lastcall",
    "",
    moduleDoc.trim(),
    "",
    ...imports,
    "",
    bodies.join("\n"),
  ].join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = singleFile();
  if (process.argv.includes("--check")) {
    const current = existsSync(singleFilePath) ? readFileSync(singleFilePath, "utf8") : "";
    if (current !== text) {
      console.error(
        "dist/lastcall.ts is out of date with src/: run `npm run build` and commit it",
      );
      process.exit(1);
    }
    console.log("dist/lastcall.ts is up to date");
  } else {
    mkdirSync(dirname(singleFilePath), { recursive: true });
    writeFileSync(singleFilePath, text);
  }
}
