// Endpoints written against web standards (a context with `url` and
// `request` in, a Response out), shared by the SvelteKit and Astro apps
// (examples/sveltekit-app, examples/astro-app), whose routes re-export them.

/** Work that takes `ms` milliseconds (default 1 s). */
export async function slow({ url, request }) {
  await new Promise((resolve) => {
    const work = setTimeout(resolve, Number(url.searchParams.get("ms") ?? 1_000));
    request.signal.addEventListener("abort", () => clearTimeout(work)); // the client left, or the deadline cut it
  });
  return new Response("slow work done\n");
}

/**
 * A Server-Sent Events stream that ends itself when shutdown begins. The
 * frameworks bundle routes apart from the server's own modules, so the
 * custom servers (examples/sveltekit.ts, examples/astro.ts) hand them
 * lastcall's `server.signal` through globalThis.serverShutdown.
 */
export function events() {
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
