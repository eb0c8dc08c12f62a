// A web Request over a node:http request, built lazily: method, url, headers
// and signal are computed on first use, and a real Request (for the body and
// everything else) only when the handler asks for it. Most handlers read the
// method, the URL and a header or two, so most requests never pay for
// Headers, URL parsing, an AbortController and a body stream.

import type http from "node:http";
import { Readable } from "node:stream";
import { _streamState } from "./stream_state.ts";

/** The request's headers, without HTTP/2's pseudo-headers (`:path` and the like). */
function toHeaders(raw: string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.charCodeAt(0) !== 0x3a) headers.append(raw[i]!, raw[i + 1]!);
  }
  return headers;
}

let realRequestOf: (request: _NodeRequest) => Request;
let nodeRequestCompleted = false;

/**
 * Makes {@linkcode _NodeRequest} answer everything else a Request has, from
 * the real one. Run when a fetch server starts, not at import: reading
 * `Request` loads Node's fetch implementation (about 40 ms and 9-13 MB),
 * which `{ server }` and TCP servers never need.
 */
export function _completeNodeRequest(): void {
  if (nodeRequestCompleted) return;
  nodeRequestCompleted = true;
  const own = new Set(Reflect.ownKeys(_NodeRequest.prototype));
  for (const key of Reflect.ownKeys(Request.prototype)) {
    if (own.has(key)) continue;
    const descriptor = Object.getOwnPropertyDescriptor(Request.prototype, key)!;
    if (descriptor.get !== undefined) {
      Object.defineProperty(_NodeRequest.prototype, key, {
        get(this: _NodeRequest) {
          return Reflect.get(realRequestOf(this), key);
        },
        configurable: true,
      });
    } else if (typeof descriptor.value === "function") {
      Object.defineProperty(_NodeRequest.prototype, key, {
        value(this: _NodeRequest, ...args: unknown[]) {
          return (descriptor.value as (...args: unknown[]) => unknown).apply(
            realRequestOf(this),
            args,
          );
        },
        configurable: true,
        writable: true,
      });
    }
  }
  Object.setPrototypeOf(_NodeRequest.prototype, Request.prototype);
}

/** A `Request` whose parts are made from `incoming` when first read. */
export class _NodeRequest {
  #incoming: http.IncomingMessage;
  #outgoing: http.ServerResponse;
  #scheme: "http" | "https";
  #url?: string;
  #headers?: Headers;
  #controller?: AbortController;
  #request?: Request;

  constructor(
    incoming: http.IncomingMessage,
    outgoing: http.ServerResponse,
    scheme: "http" | "https",
  ) {
    this.#incoming = incoming;
    this.#outgoing = outgoing;
    this.#scheme = scheme;
  }

  get method(): string {
    return this.#incoming.method ?? "GET";
  }

  get url(): string {
    if (this.#url === undefined) {
      const { headers, url } = this.#incoming;
      // HTTP/2 names the host in :authority.
      const host = headers.host ?? headers[":authority"] ?? "localhost";
      this.#url = `${this.#scheme}://${host}${url ?? "/"}`;
    }
    return this.#url;
  }

  get headers(): Headers {
    return this.#headers ??= toHeaders(this.#incoming.rawHeaders);
  }

  /**
   * Aborts when the client goes away before the response is complete: its
   * connection closes, or (HTTP/1) it half-closes, as Go's request context
   * does; a response written after that still goes out.
   */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController();
      const outgoing = this.#outgoing;
      const socket = this.#incoming.httpVersionMajor === 2 ? undefined : this.#incoming.socket;
      const onGone = () => {
        if (!outgoing.writableFinished) controller.abort();
      };
      if (_streamState(outgoing).closed || socket?.readableEnded) onGone();
      else {
        socket?.once("end", onGone);
        outgoing.once("close", () => {
          socket?.off("end", onGone);
          onGone();
        });
      }
      this.#controller = controller;
    }
    return this.#controller.signal;
  }

  static {
    realRequestOf = (request) => request.#real();
  }

  #real(): Request {
    if (this.#request === undefined) {
      const method = this.method;
      const init: RequestInit & { duplex?: "half" } = {
        method,
        headers: this.headers,
        signal: this.signal,
      };
      if (method !== "GET" && method !== "HEAD") {
        init.body = Readable.toWeb(this.#incoming) as unknown as ReadableStream<Uint8Array>;
        init.duplex = "half";
      }
      this.#request = new Request(this.url, init);
    }
    return this.#request;
  }
}
