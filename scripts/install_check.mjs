// The first minutes of a user, outside this repository: the npm tarball
// installed into an empty project and imported as "lastcall" on Node 20, and
// dist/lastcall.ts copied alone into an empty directory and run on Node 24
// (Deno and Bun run the whole suite against that file). Each serves one
// request and shuts down gracefully.

import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root, runtimes } from "./runtimes.mjs";

const smoke = (from) =>
  `import { CountDown, Deadline, serveAndShutdown, Tracker } from "${from}";
const server = await serveAndShutdown({
  hostname: "127.0.0.1",
  port: 0,
  signals: false,
  fetch: () => new Response("hello"),
});
const body = await (await fetch(\`http://127.0.0.1:\${server.addr.port}/\`)).text();
const result = await server.shutdown(Deadline.after(1_000).signal);
if (body !== "hello" || !result.graceful) throw new Error(JSON.stringify({ body, result }));
if (typeof CountDown !== "function" || typeof Tracker !== "function") throw new Error("exports");
console.log("ok");
`;

const work = mkdtempSync(join(tmpdir(), "lastcall-install-"));
try {
  // npm: pack, install the tarball into an empty project, import by name.
  const tarball = execFileSync("npm", ["pack", "--silent", "--pack-destination", work], {
    cwd: root,
    encoding: "utf8",
  }).trim().split("\n").at(-1);
  const project = join(work, "project");
  execFileSync("mkdir", ["-p", project]);
  writeFileSync(
    join(project, "package.json"),
    "{ \"name\": \"try-lastcall\", \"type\": \"module\" }\n",
  );
  execFileSync("npm", ["install", "--silent", "--no-audit", "--no-fund", join(work, tarball)], {
    cwd: project,
  });
  writeFileSync(join(project, "index.js"), smoke("lastcall"));
  const node20 = runtimes().find((r) => r.label === "node20").command;
  const npmOut = execFileSync(node20, ["index.js"], { cwd: project, encoding: "utf8" });

  // One copied file, run by Node 24's type stripping.
  const copied = join(work, "copied");
  execFileSync("mkdir", ["-p", copied]);
  copyFileSync(join(root, "dist/lastcall.ts"), join(copied, "lastcall.ts"));
  writeFileSync(join(copied, "main.ts"), smoke("./lastcall.ts"));
  const node24 = runtimes().find((r) => r.label === "node24").command;
  const copyOut = execFileSync(node24, ["main.ts"], { cwd: copied, encoding: "utf8" });

  if (npmOut.trim() !== "ok" || copyOut.trim() !== "ok") {
    throw new Error(`unexpected output: npm ${npmOut}; copied file ${copyOut}`);
  }
  console.log("install: npm tarball on Node 20 and the copied dist/lastcall.ts on Node 24 work");
} finally {
  rmSync(work, { recursive: true, force: true });
}
