// A Server-Sent Events stream that ends itself when shutdown begins. Next
// compiles its routes apart from the server's own modules, so the custom
// server (examples/next.ts) hands them lastcall's `server.signal` through
// globalThis.serverShutdown.
export default function events(_request, response) {
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });
  response.write("data: hello\n\n");
  const shutdown = globalThis.serverShutdown;
  const end = () => response.end("event: bye\ndata: server going away\n\n");
  if (shutdown.aborted) return end();
  shutdown.addEventListener("abort", end, { once: true });
  response.on("close", () => shutdown.removeEventListener("abort", end));
}
