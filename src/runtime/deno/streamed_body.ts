// Telling a streamed response body from a static one on Deno, without reading
// `response.body`: reading it turns a string or bytes body into a stream and
// takes the response off Deno.serve's fast path (about 20 % of hello-world
// throughput). Deno 2.9 keeps a Response's inner response under an own symbol
// described "response"; its `body` is null for a string or bytes body, and
// holds the ReadableStream in `streamOrStatic` for a stream (a Blob or
// FormData body is a stream there too). These are internals: they are probed
// once, and where the probe finds something else the caller falls back to
// what lastcall did before it looked.

/** The part of Deno's inner response this reads. */
interface InnerResponse {
  body?: { streamOrStatic?: unknown } | null;
}

/** A Response seen through its own symbol-keyed properties. */
type ResponseInternals = Record<symbol, InnerResponse | undefined>;

/** The symbol under which Deno keeps a Response's inner response, or undefined where it is not found. */
function findInnerResponseKey(): symbol | undefined {
  try {
    const staticBody = new Response("probe") as unknown as ResponseInternals;
    const streamBody = new Response(new ReadableStream()) as unknown as ResponseInternals;
    const key = Object.getOwnPropertySymbols(staticBody).find((symbol) =>
      symbol.description === "response"
    );
    if (key === undefined || staticBody[key]?.body !== null) return undefined;
    return streamBody[key]?.body?.streamOrStatic instanceof ReadableStream ? key : undefined;
  } catch {
    return undefined;
  }
}

/** Tells whether a response's body is a stream; made once per server. */
export type StreamedBodyTest = (response: Response) => boolean;

/**
 * The test for streamed bodies on this runtime, by Deno's internals; undefined
 * where the probe does not find them.
 */
export function _streamedBodyTest(): StreamedBodyTest | undefined {
  const key = findInnerResponseKey();
  if (key === undefined) return undefined;
  return (response) => {
    const body = (response as unknown as ResponseInternals)[key]?.body;
    return body != null && body.streamOrStatic instanceof ReadableStream;
  };
}
