// A hello server over TLS for the TLS benchmark:
//   <runtime> bench/servers/tls.ts <impl> <cert file> <key file>
//   bare      the runtime's own TLS server, HTTP/2 and HTTP/1.1 by ALPN:
//             http2.createSecureServer({ allowHTTP1 }), Deno.serve or Bun.serve
//   lastcall  the same behind lastcall: { server } on Node, fetch + tls on Deno and Bun
//   fetch     (Node) lastcall's fetch adapter with tls
// Prints "listening <port>" once it accepts connections; SIGTERM ends it.

import { readFileSync } from "node:fs";
import http2 from "node:http2";
import process from "node:process";
import { serveAndShutdown } from "../../mod.ts";
import { globals, hello, hostname, nodeHello, runtime } from "./_hello.ts";

const [impl = "bare", certFile = "", keyFile = ""] = process.argv.slice(2);
const cert = readFileSync(certFile, "utf8");
const key = readFileSync(keyFile, "utf8");
let close: () => unknown;
let listening: number;
if (impl === "bare" && runtime === "deno") {
  const server = globals.Deno.serve({ hostname, port: 0, cert, key, onListen() {} }, hello);
  listening = server.addr.port;
  close = () => server.shutdown();
} else if (impl === "bare" && runtime === "bun") {
  const server = globals.Bun.serve({
    hostname,
    port: 0,
    tls: { cert, key },
    http2: true,
    fetch: hello,
  });
  listening = server.port;
  close = () => server.stop();
} else if (impl === "bare") {
  const server = http2.createSecureServer({ cert, key, allowHTTP1: true }, nodeHello);
  await new Promise<void>((resolve) => server.listen(0, hostname, resolve));
  listening = (server.address() as { port: number }).port;
  close = () => server.close();
} else {
  const server = impl === "lastcall" && runtime === "node"
    ? await serveAndShutdown({
      server: http2.createSecureServer({ cert, key, allowHTTP1: true }, nodeHello),
      hostname,
      signals: false,
    })
    : await serveAndShutdown({ fetch: hello, tls: { cert, key }, hostname, signals: false });
  listening = server.addr.port;
  close = () => server.shutdown(1_000);
}
process.on("SIGTERM", async () => {
  await close();
  process.exit(0);
});
console.log(`listening ${listening}`);
