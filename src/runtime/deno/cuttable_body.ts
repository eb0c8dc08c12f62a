// A response whose body can be cut: for Deno, where nothing else can end a
// streaming response that is still running at the shutdown deadline.

/** The response, re-wrapped so that calling `cut()` errors its body stream. */
export function _cuttable(response: Response): { response: Response; cut: () => void } {
  const body = response.body;
  if (body === null) return { response, cut: () => {} };
  const reader = body.getReader();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    async pull(c) {
      const { done, value } = await reader.read();
      if (done) c.close();
      else c.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  const cut = (): void => {
    try {
      controller.error(new Error("The response was cut at the shutdown deadline"));
    } catch {
      // Already closed or errored.
    }
    reader.cancel().catch(() => {});
  };
  const { status, statusText, headers } = response;
  return { response: new Response(stream, { status, statusText, headers }), cut };
}
