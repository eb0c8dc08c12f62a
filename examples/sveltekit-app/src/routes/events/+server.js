// A Server-Sent Events stream that ends itself when shutdown begins. The
// build bundles routes apart from the server's own modules, so the custom
// server (examples/sveltekit.ts) hands them lastcall's `server.signal`
// through globalThis.serverShutdown.
export function GET() {
  const shutdown = globalThis.serverShutdown;
  const encoder = new TextEncoder();
  let end = () => {};
  const body = new ReadableStream({
    start(controller) {
      controller.enqueue(encoder.encode("data: hello\n\n"));
      end = () => {
        controller.enqueue(encoder.encode("event: bye\ndata: server going away\n\n"));
        controller.close();
      };
      if (shutdown.aborted) end();
      else shutdown.addEventListener("abort", end, { once: true });
    },
    cancel: () => shutdown.removeEventListener("abort", end),
  });
  return new Response(body, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-store" },
  });
}
