// A response whose body passes through lastcall: so that the deadline can cut
// it (Deno, where nothing else ends a response still streaming), or so that
// serving learns when it is over (Bun, which does not say).

/** What a wrapped body offers. */
export interface WrappedBody {
  response: Response;
  /** Errors the body, so the client sees the response incomplete, and cancels its source. */
  cut: () => void;
}

/**
 * The response, re-wrapped; `onEnd` runs once when its body is over: read to
 * the end, cancelled (the client left), failed or cut.
 */
export function _wrapBody(response: Response, onEnd: () => void = () => {}): WrappedBody {
  const body = response.body;
  if (body === null) {
    onEnd();
    return { response, cut: () => {} };
  }
  const reader = body.getReader();
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    onEnd();
  };
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    async pull(c) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          c.close();
          end();
        } else c.enqueue(value);
      } catch (error) {
        end();
        throw error;
      }
    },
    cancel(reason) {
      end();
      return reader.cancel(reason);
    },
  });
  const cut = (): void => {
    end();
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
