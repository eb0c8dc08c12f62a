// The whole library as one self-contained TypeScript file, dist/lastcall.ts,
// for users who copy a file rather than install a package. Made from src/ by
// concatenation, no bundler: every module in reading order (core, contract,
// modes, serving, then each runtime's folder together), relative
// imports dropped, node: imports merged at the top, and `export` kept only on
// what mod.ts exports. Runs unchanged on Node 22.18+ (type stripping), Deno
// and Bun. Fails when two modules declare the same top-level name.
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

const CONTRACT = new Set(["src/types.ts", "src/shim.ts"]);
const SERVING = new Set(["src/options.ts", "src/serve.ts"]);
/** The parts of src/ in reading order (DESIGN.md, Architecture), each a test of a path. */
const PARTS = [
  ["core", (path) => /^src\/[^/]+\.ts$/.test(path) && !CONTRACT.has(path) && !SERVING.has(path)],
  ["contract", (path) => CONTRACT.has(path)],
  ["modes", (path) => /^src\/(tcp|http)\//.test(path)],
  ["serving", (path) => SERVING.has(path)],
  ["runtimes", (path) => path.startsWith("src/runtime/")],
];
/** Within the runtimes, each folder together: what they share first. */
const RUNTIME_FOLDERS = ["_shared", "node", "deno", "bun"];

function rank(path) {
  const part = PARTS.findIndex(([, test]) => test(path));
  if (part === -1) throw new Error(`${path} is on no part of the layout`);
  const folder = RUNTIME_FOLDERS.indexOf(path.split("/")[2]);
  return part * 10 + Math.max(folder, 0);
}

/** The top-level names a module declares. */
function declaredNames(text) {
  const names = [];
  const declaration =
    /^(?:export\s+)?(?:declare\s+)?(?:async\s+)?(?:function\*?|const|let|var|class|abstract class|interface|type|enum)\s+([A-Za-z_$][\w$]*)/gm;
  for (const match of text.matchAll(declaration)) names.push(match[1]);
  return names;
}

/**
 * mod.ts's exported names, and the modules in reading order: by part (core,
 * contract, modes, serving, then each runtime folder together) and, within a
 * part, every static import before its importer. Fails on a top-level name
 * declared in two modules, since the single file shares one scope.
 */
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
  const modules = new Map(); // file -> { file, text, imports }
  const visit = (file) => {
    if (modules.has(file)) return;
    const text = readFileSync(file, "utf8");
    const module = { file, text, path: relative(root, file), imports: [] };
    modules.set(file, module);
    for (const match of text.matchAll(IMPORT)) {
      if (match[1].startsWith(".")) module.imports.push(join(dirname(file), match[1]));
    }
    for (const dependency of dependencies(file, text)) visit(dependency);
  };
  for (const dependency of dependencies(entry, modText)) visit(dependency);
  const pending = [...modules.values()].sort((a, b) =>
    rank(a.path) - rank(b.path) || a.path.localeCompare(b.path)
  );
  const ordered = [];
  const placed = new Set();
  const place = (module) => {
    if (placed.has(module.file)) return;
    placed.add(module.file);
    for (const file of module.imports) {
      const dependency = modules.get(file);
      if (rank(dependency.path) === rank(module.path)) place(dependency);
    }
    ordered.push(module);
  };
  pending.forEach(place);
  const declaredIn = new Map();
  for (const { path, text } of ordered) {
    for (const name of declaredNames(text)) {
      if (declaredIn.has(name)) {
        throw new Error(
          `top-level name clash: '${name}' is declared in both ${
            declaredIn.get(name)
          } and ${path}; `
            + "the single file shares one scope, so rename one",
        );
      }
      declaredIn.set(name, path);
    }
  }
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
