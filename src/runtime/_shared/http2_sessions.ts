// HTTP/2 sessions of a node:http2 server as tracked connections: a session is
// active while it has a stream open. Closing a session is RFC 9113 §6.8's
// graceful shutdown in two steps: GOAWAY (NO_ERROR) with the largest stream
// id, so the client opens no new stream but one already on its way is still
// served; then, one PING round trip later (when every such stream has
// arrived), Node's own graceful close, whose GOAWAY carries the real last
// stream id. Streams already open finish, the session closes when its last
// one ends, and the deadline destroys the rest.
//
// Node's engine, nghttp2, ignores every new stream from the first GOAWAY it
// sends on, whatever that GOAWAY's stream id (Node has no binding for
// nghttp2's shutdown notice, and writing the frame beside nghttp2 aborts the
// process on TLS). So on Node the first step tells clients to stop and the
// second reports a stream opened in between as unprocessed (safe to retry);
// Bun's engine serves it.

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
  /** The two-step GOAWAY to every session: each closes once its last stream ends. */
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

/** Tracks the sessions `server` opens from now on, in `tracker`. */
export function _trackSessions(server: http2.Http2Server, tracker: Tracker): Http2Sessions {
  const sessions = new Map<http2.ServerHttp2Session, () => void>();
  server.on("session", (session: http2.ServerHttp2Session) => {
    let closing = false;
    const close = (): void => {
      if (closing) return;
      closing = true;
      goAwayInTwoSteps(session);
    };
    sessions.set(session, close);
    // Closing an idle session (drain) goes the same two steps.
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
