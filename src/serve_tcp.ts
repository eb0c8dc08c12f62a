// Raw TCP serving: one TcpConn per accepted socket, handed to the handler.

import type { ResolvedOptions, TcpOptions } from "./options.ts";
import type { Serving, Shim } from "./runtime/shim.ts";
import { TcpConn } from "./tcp_conn.ts";
import { _trackedServing, _trackerFor } from "./tracked_serving.ts";

/** Listens on TCP and serves each connection with `connection`. */
export async function _serveTcp(
  shim: Shim,
  options: ResolvedOptions,
  connection: TcpOptions["connection"],
  shutdown: AbortSignal,
): Promise<Serving> {
  const tracker = _trackerFor(shutdown);
  const conns = new Set<TcpConn>();
  const listener = await shim.listenTcp(options.hostname, options.port, (socket) => {
    const conn = new TcpConn(socket, tracker, shutdown, options.idleGrace);
    conns.add(conn);
    socket.closed.then(() => conns.delete(conn));
    const serve = async (): Promise<void> => {
      try {
        await connection(conn);
      } catch (error) {
        options.onError(error, { remoteAddr: conn.remoteAddr });
      }
      conn.close();
    };
    void serve();
  });
  return _trackedServing(
    listener.addr,
    tracker,
    () => listener.close(),
    () => conns.forEach((conn) => conn.destroy()),
  );
}
