/**
 * lastcall: graceful Close and Shutdown for HTTP and raw TCP servers on Node,
 * Deno and Bun, after Go's `net/http`.
 *
 * @module
 */
export { CountDown } from "./src/count_down.ts";
export { Deadline, type DeadlineOptions } from "./src/deadline.ts";
export type {
  BaseOptions,
  ErrorContext,
  HttpOptions,
  NodeServerOptions,
  RequestInfo,
  TcpOptions,
} from "./src/options.ts";
export { serveAndShutdown, type Server } from "./src/serve.ts";
export type { Conn } from "./src/tcp_conn.ts";
export {
  type ConnState,
  type ShutdownResult,
  type TrackedConn,
  Tracker,
  type TrackerOptions,
} from "./src/tracker.ts";
