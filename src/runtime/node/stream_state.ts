// Where a node:http response keeps its stream state. Node's HTTP/2
// compatibility API (Http2ServerResponse) lacks some of ServerResponse's
// members; its stream has them.

import type http from "node:http";

/** The stream state of a response, where Node keeps it: HTTP/2 responses have it on their stream. */
interface StreamState {
  readonly destroyed: boolean;
  readonly closed: boolean;
  readonly writableNeedDrain: boolean;
}

/** A response's stream state: its own (HTTP/1) or its HTTP/2 stream's (Node's compatibility API). */
export function _streamState(outgoing: http.ServerResponse): StreamState {
  return (outgoing as { stream?: StreamState }).stream ?? outgoing;
}
