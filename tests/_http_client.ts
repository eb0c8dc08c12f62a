// HTTP requests through node:http with a keep-alive Agent, the client most
// servers meet; each result keeps the socket it used, so tests can watch it.

import http from "node:http";
import type net from "node:net";
import { waitUntil } from "./_client.ts";

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  socket: net.Socket;
}

export interface RequestOptions {
  method?: string;
  body?: string;
  headers?: Record<string, string | string[]>;
  /** Called with the response as soon as its headers arrive. */
  onResponse?: (response: http.IncomingMessage) => void;
}

export function request(
  agent: http.Agent,
  port: number,
  path: string,
  options: RequestOptions = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: "127.0.0.1",
      port,
      path,
      method: options.method ?? "GET",
      headers: options.headers,
      agent,
    }, (response) => {
      options.onResponse?.(response);
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => body += chunk);
      response.on("error", reject);
      response.on("aborted", () => reject(new Error("response aborted")));
      response.on("end", () => {
        resolve({
          status: response.statusCode!,
          headers: response.headers,
          body,
          socket: req.socket!,
        });
      });
    });
    req.on("error", (error: Error & { reusedSocket?: boolean }) => {
      // Whether the request went out on a kept-alive socket (the HTTP/1.1
      // race) or on a fresh connection.
      error.reusedSocket = req.reusedSocket;
      reject(error);
    });
    req.end(options.body);
  });
}

/** Resolves once `socket` has closed; rejects after `ms`. */
export function socketClosed(socket: net.Socket, ms = 5_000): Promise<void> {
  return waitUntil("the socket to close", () => socket.destroyed, (wake) => {
    socket.on("close", wake);
    return () => socket.off("close", wake);
  }, ms);
}
