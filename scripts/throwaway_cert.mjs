// A self-signed certificate for localhost made with openssl in `dir`, for
// the documentation runs and the benchmarks (the tests make a CA of their
// own in tests/_tls.ts). Returns the paths; nothing is committed.

import { spawnSync } from "node:child_process";
import { join } from "node:path";

/** Writes cert.pem and key.pem into `dir` (one day, P-256) and returns their paths. */
export function throwawayCertificate(dir) {
  spawnSync("openssl", [
    ..."req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes".split(" "),
    ..."-keyout key.pem -out cert.pem -days 1 -subj /CN=localhost".split(" "),
  ], { cwd: dir, stdio: "ignore" });
  return { certFile: join(dir, "cert.pem"), keyFile: join(dir, "key.pem") };
}
