// Raw TCP serving: one TcpConn per accepted socket, handed to the handler.

import { _trackedServing, _trackerFor, type RawSocket, type Serving, type Shim } from "../shim.ts";
import type { ResolvedOptions } from "../types.ts";
import { TcpConn } from "./conn.ts";

/** Listens on TCP and serves each connection with the `connection` handler. */
export async function _serveTcp(
  shim: Shim,
  options: ResolvedOptions & { mode: "connection" },
  shutdown: AbortSignal,
): Promise<Serving> {
  const { hostname, port, tls, connection } = options;
  const tracker = _trackerFor(shutdown);
  const conns = new Set<TcpConn>();
  const accept = (socket: RawSocket): void => {
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
  };
  const listener = await shim.listenTcp({ hostname, port, tls, accept });
  let listenerClosed: Promise<void> | void;
  const serving = _trackedServing(
    listener.addr,
    tracker,
    () => listenerClosed = listener.close(),
    () => conns.forEach((conn) => conn.destroy()),
  );
  return {
    ...serving,
    // Done only once the port is free to bind again.
    async drain(signal: AbortSignal) {
      const [counts] = await Promise.all([serving.drain(signal), listenerClosed]);
      return counts;
    },
  };
}
