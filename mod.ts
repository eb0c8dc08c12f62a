/**
 * lastcall: graceful Close and Shutdown for HTTP and raw TCP servers on Node,
 * Deno and Bun, after Go's `net/http`.
 *
 * @module
 */
export { CountDown } from "./src/count_down.ts";
export { Deadline, type DeadlineOptions } from "./src/deadline.ts";
export { serveAndShutdown } from "./src/serve.ts";
export {
  type ConnState,
  type ShutdownResult,
  type TrackedConn,
  Tracker,
  type TrackerOptions,
} from "./src/tracker.ts";
export type {
  BaseOptions,
  Conn,
  ErrorContext,
  HttpOptions,
  NodeServerLike,
  NodeServerOptions,
  RequestInfo,
  Server,
  TcpOptions,
  TlsCertificate,
  WebSocketUpgrade,
  WebSocketUpgradeOptions,
} from "./src/types.ts";
