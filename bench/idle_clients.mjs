// The client side of bench/idle_scale.ts, in its own process (the open-file
// limit would not fit both sides of 10 000 connections in one):
//   node bench/idle_clients.mjs <port> <count>
// Opens <count> keep-alive connections, completes one request on each, prints
// "ready", and holds them until the server closes them or SIGTERM arrives.

import net from "node:net";

const [port, count] = process.argv.slice(2).map(Number);

function idleConnection() {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.on("error", reject);
    socket.once("connect", () => socket.write("GET / HTTP/1.1\r\nHost: bench\r\n\r\n"));
    let received = "";
    const onData = (chunk) => {
      received += chunk;
      // "ok", sent with Content-Length or chunked (lastcall on Deno).
      if (received.includes("\r\n\r\n") && /(\r\n\r\nok|\r\n0\r\n\r\n)$/.test(received)) {
        socket.off("data", onData);
        socket.off("error", reject);
        socket.on("error", () => {});
        socket.resume();
        resolve(socket);
      }
    };
    socket.on("data", onData);
  });
}

const sockets = [];
for (let opened = 0; opened < count; opened += 250) {
  const batch = Math.min(250, count - opened);
  sockets.push(...await Promise.all(Array.from({ length: batch }, idleConnection)));
}
console.log("ready");
process.on("SIGTERM", () => process.exit(0));
