// HTTP/2 sessions of a node:http2 server as tracked connections: a session is
// active while it has a stream open. Draining sends every session GOAWAY
// (NO_ERROR) through Node's own graceful close, so the streams already open
// finish, new ones are refused by the protocol, and each session closes when
// its last stream ends; the deadline destroys the rest.

import type http2 from "node:http2";
import type { Tracker } from "../../tracker.ts";

/** What the serving needs of the sessions of one server. */
export interface Http2Sessions {
  /** GOAWAY to every session: each closes as soon as its last stream ends. */
  goAway(): void;
  /** Destroys every session still open (the deadline passed). */
  destroyAll(): void;
}

/** Tracks the sessions `server` opens from now on, in `tracker`. */
export function _trackSessions(server: http2.Http2Server, tracker: Tracker): Http2Sessions {
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    // Closing an idle session (drain) is Node's graceful close: GOAWAY, then FIN.
    const conn = tracker.track({ close: () => session.close() });
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
    goAway: () => sessions.forEach((session) => session.close()),
    destroyAll: () => sessions.forEach((session) => session.destroy()),
  };
}
