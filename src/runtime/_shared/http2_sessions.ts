// HTTP/2 sessions of a node:http2 server as tracked connections: a session is
// active while it has a stream open. Closing a session sends GOAWAY (NO_ERROR):
// streams already open finish, the session closes when its last one ends,
// and the deadline destroys the rest.
//
// Where the engine still serves a stream the client opened while a first
// GOAWAY was in flight (Bun), closing is RFC 9113 §6.8's graceful shutdown in
// two steps: GOAWAY with the largest stream id, then, one PING round trip
// later (when every such stream has arrived), the graceful close, whose
// GOAWAY carries the real last stream id. Node's engine, nghttp2, ignores
// every new stream from the first GOAWAY it sends on, whatever its stream id
// (Node has no binding for nghttp2's shutdown notice, and writing the frame
// beside nghttp2 aborts the process on TLS), and Deno's node:http2 does the
// same (measured): there the first step would gain nothing and cost a PING
// wait, up to PING_ACK_WAIT_MS with Node's own client, which stops reading
// once it got a GOAWAY. So they get one GOAWAY, with the real last stream id;
// a stream that crossed it is reported unprocessed, safe to retry.

import type http2 from "node:http2";
import type { Tracker } from "../../tracker.ts";

/** The error code of a graceful GOAWAY. */
const NO_ERROR = 0;
/** The largest stream id: a GOAWAY carrying it refuses no stream yet. */
const LARGEST_STREAM_ID = 2 ** 31 - 1;
/**
 * How long the first GOAWAY waits for its PING to come back before the final
 * one is sent anyway: a round trip takes milliseconds, so this only bounds a
 * client that never answers. The deadline destroys the session sooner if it
 * passes first.
 */
const PING_ACK_WAIT_MS = 1_000;

/** What the serving needs of the sessions of one server. */
export interface Http2Sessions {
  /** GOAWAY to every session: each closes once its last stream ends. */
  goAway(): void;
  /** Destroys every session still open (the deadline passed). */
  destroyAll(): void;
}

/**
 * Starts the two-step GOAWAY on `session`, once: the final step runs when the
 * PING comes back, fails, or waited too long, whichever is first.
 */
function goAwayInTwoSteps(session: http2.ServerHttp2Session): void {
  if (session.closed || session.destroyed) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const finalStep = (): void => {
    if (timer === undefined) return; // already run
    clearTimeout(timer);
    timer = undefined;
    session.off("close", finalStep);
    // Node's graceful close: GOAWAY with the last stream it processed, then
    // the session ends behind that stream (at once when none is open).
    if (!session.destroyed) session.close();
  };
  timer = setTimeout(finalStep, PING_ACK_WAIT_MS);
  timer.unref?.();
  session.once("close", finalStep); // releases the timer
  session.goaway(NO_ERROR, LARGEST_STREAM_ID);
  // nghttp2 sends a PING ahead of a GOAWAY still queued, and writes what
  // this turn queued before the next immediate: the PING goes out behind the
  // GOAWAY, so its ack comes behind every frame the client sent before it
  // read the GOAWAY.
  setImmediate(() => {
    if (session.destroyed) return;
    if (session.ping(finalStep) === false) finalStep(); // too many PINGs unanswered
  });
}

/**
 * Tracks the sessions `server` opens from now on, in `tracker`; `twoSteps`
 * where the engine serves a stream that crossed a first GOAWAY (see above).
 */
export function _trackSessions(
  server: http2.Http2Server,
  tracker: Tracker,
  twoSteps: boolean,
): Http2Sessions {
  const sessions = new Map<http2.ServerHttp2Session, () => void>();
  server.on("session", (session: http2.ServerHttp2Session) => {
    let closing = false;
    const close = (): void => {
      if (closing) return;
      closing = true;
      if (twoSteps) goAwayInTwoSteps(session);
      else if (!session.closed && !session.destroyed) session.close();
    };
    sessions.set(session, close);
    // Closing an idle session (drain) goes the same way.
    const conn = tracker.track({ close });
    let open = 0;
    const streamClosed = (): void => {
      if (--open === 0) conn.idle();
    };
    session.on("stream", (stream: http2.ServerHttp2Stream) => {
      if (open++ === 0) conn.active();
      stream.once("close", streamClosed);
    });
    session.once("close", () => {
      sessions.delete(session);
      conn.closed();
    });
  });
  return {
    goAway: () => sessions.forEach((close) => close()),
    destroyAll: () => sessions.forEach((_close, session) => session.destroy()),
  };
}
