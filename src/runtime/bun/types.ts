// The few structural types of Bun's API that its shim uses, so the library
// needs neither @types/deno nor @types/bun (which conflict with each other
// and with @types/node in users' builds).

export interface BunSocket<Data> {
  data: Data;
  readonly remoteAddress: string;
  readonly remotePort?: number;
  write(data: Uint8Array): number;
  shutdown(halfClose?: boolean): void;
  end(): void;
  pause(): void;
  resume(): void;
  setNoDelay?(noDelay?: boolean): boolean;
  setKeepAlive?(enable?: boolean, initialDelay?: number): boolean;
}

export interface BunSocketHandler<Data> {
  open?(socket: BunSocket<Data>): void;
  data?(socket: BunSocket<Data>, data: Uint8Array): void;
  drain?(socket: BunSocket<Data>): void;
  end?(socket: BunSocket<Data>): void;
  close?(socket: BunSocket<Data>, error?: Error): void;
  error?(socket: BunSocket<Data>, error: Error): void;
  /** TLS only: the handshake is over (`success` false when it failed). */
  handshake?(socket: BunSocket<Data>, success: boolean, error: Error | null): void;
}

export interface BunTcpListener {
  readonly hostname: string;
  readonly port: number;
  stop(closeActiveConnections?: boolean): void;
}

export interface BunNamespace {
  listen<Data>(options: {
    hostname: string;
    port: number;
    allowHalfOpen?: boolean;
    tls?: { cert: string; key: string };
    socket: BunSocketHandler<Data>;
  }): BunTcpListener;
}

export interface BunServer {
  readonly hostname: string;
  readonly port: number;
  readonly pendingRequests: number;
  stop(closeActiveConnections?: boolean): Promise<void>;
  requestIP(request: Request): { address: string; port: number } | null;
  upgrade<Data>(
    request: Request,
    options?: { data?: Data; headers?: Record<string, string> },
  ): boolean;
}

export interface BunServerWebSocket<Data> {
  data: Data;
  readonly readyState: number;
  send(data: string | ArrayBufferView | ArrayBuffer): number;
  close(code?: number, reason?: string): void;
  terminate(): void;
  getBufferedAmount(): number;
}

export interface BunWebSocketHandler<Data> {
  open?(ws: BunServerWebSocket<Data>): void;
  message(ws: BunServerWebSocket<Data>, message: string | Uint8Array): void;
  close?(ws: BunServerWebSocket<Data>, code: number, reason: string): void;
}

export interface BunServe {
  serve<Data>(options: {
    hostname: string;
    port: number;
    tls?: { cert: string; key: string };
    http2?: boolean;
    fetch(
      request: Request,
      server: BunServer,
    ): Response | undefined | Promise<Response | undefined>;
    error?(error: Error): Response | Promise<Response>;
    websocket?: BunWebSocketHandler<Data>;
  }): BunServer;
}

/** The `Bun` global, typed by the interfaces above. */
export const _bun: BunNamespace & BunServe =
  (globalThis as unknown as { Bun: BunNamespace & BunServe }).Bun;
