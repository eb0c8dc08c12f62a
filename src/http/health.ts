// The health path: 200 while the server is ready, 503 from the moment
// shutdown begins, for GET and HEAD. Every HTTP mode answers it before the
// app: the fetch handler here, node:http servers in their shim.

import type { HealthAnswer, HealthCheck } from "../shim.ts";

const READY: HealthAnswer = { status: 200, body: "ok\n" };
const DRAINING: HealthAnswer = { status: 503, body: "draining\n" };

/** The path of a request URL, absolute or relative; never throws. */
function pathOf(url: string): string {
  const start = url.charCodeAt(0) === 47 ? 0 : url.indexOf("/", url.indexOf("://") + 3);
  if (start === -1) return "/";
  const end = url.slice(start).search(/[?#]/);
  return end === -1 ? url.slice(start) : url.slice(start, start + end);
}

/** Answers `path` (compared raw, without decoding) for a server whose shutdown begins when `shutdown` aborts. */
export function _healthCheck(path: string, shutdown: AbortSignal): HealthCheck {
  return (method, url) => {
    if (method !== "GET" && method !== "HEAD") return undefined;
    // Cheap test first: most requests are not for the health path.
    if (!url.includes(path) || pathOf(url) !== path) return undefined;
    return shutdown.aborted ? DRAINING : READY;
  };
}
