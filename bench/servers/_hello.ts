// What every hello server of the benchmarks shares: where it listens, which
// runtime it is on, and the same hello answer as a fetch handler and as a
// node:http(2) one.

/** The loopback address every benchmark server listens on. */
export const hostname = "127.0.0.1";

/** The runtime this runs on. */
export const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

/** The hello answer as a fetch handler. */
export const hello = (): Response => new Response("hello world\n");

/** The same answer, with the same content type, as a node:http or node:http2 handler. */
export function nodeHello(
  _request: unknown,
  response: { setHeader(name: string, value: string): unknown; end(body: string): unknown },
): void {
  response.setHeader("content-type", "text/plain;charset=UTF-8");
  response.end("hello world\n");
}

/** The runtime's globals, untyped (Deno and Bun are not in Node's types). */
// deno-lint-ignore no-explicit-any
export const globals = globalThis as any;
