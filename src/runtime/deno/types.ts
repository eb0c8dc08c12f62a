// The few structural types of Deno's API that its shim uses, so the library
// needs neither @types/deno nor @types/bun (which conflict with each other
// and with @types/node in users' builds).

export interface DenoNetAddr {
  transport: string;
  hostname: string;
  port: number;
}

export interface DenoConn {
  readonly remoteAddr: DenoNetAddr;
  read(buffer: Uint8Array): Promise<number | null>;
  write(data: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
  setNoDelay(noDelay?: boolean): void;
  setKeepAlive(keepAlive?: boolean): void;
}

/** A TLS connection: its handshake runs on the first read or write, or when asked. */
export interface DenoTlsConn extends DenoConn {
  handshake(): Promise<unknown>;
}

export interface DenoListener extends AsyncIterable<DenoConn> {
  readonly addr: DenoNetAddr;
  accept(): Promise<DenoConn>;
  close(): void;
}

export interface DenoNamespace {
  listen(options: { hostname?: string; port: number; transport?: "tcp" }): DenoListener;
  listenTls(options: { hostname?: string; port: number; cert: string; key: string }): DenoListener;
  addSignalListener(signal: string, handler: () => void): void;
  removeSignalListener(signal: string, handler: () => void): void;
  upgradeWebSocket(
    request: Request,
    options?: { protocol?: string; idleTimeout?: number },
  ): { socket: WebSocket; response: Response };
}

export interface DenoServeHandlerInfo {
  remoteAddr: DenoNetAddr;
  completed?: Promise<void>;
}

export interface DenoHttpServer {
  readonly addr: DenoNetAddr;
  readonly finished: Promise<void>;
  shutdown(): Promise<void>;
  unref(): void;
}

export interface DenoServeOptions {
  hostname?: string;
  port: number;
  cert?: string;
  key?: string;
  onListen?: (addr: DenoNetAddr) => void;
  onError?: (error: unknown) => Response | Promise<Response>;
}

export interface DenoServe {
  serve(
    options: DenoServeOptions,
    handler: (request: Request, info: DenoServeHandlerInfo) => Response | Promise<Response>,
  ): DenoHttpServer;
}

/** The `Deno` global, typed by the interfaces above. */
export const _deno: DenoNamespace & DenoServe =
  (globalThis as unknown as { Deno: DenoNamespace & DenoServe }).Deno;
