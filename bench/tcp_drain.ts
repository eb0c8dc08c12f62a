// Drain latency of raw TCP serving: 10 commands in flight that finish at
// staggered times (1..10 ms); the delay from the last reply written to
// shutdown() resolving, over many shutdowns. Prints one JSON line.
//   <runtime> bench/tcp_drain.ts [shutdowns=50]

import net from "node:net";
import process from "node:process";
import { Deadline, serveAndShutdown } from "../mod.ts";
import { summary, untilAborted } from "./_util.ts";

const rounds = Number(process.argv[2] ?? 50);
const delays: number[] = [];

for (let round = 0; round < rounds; round++) {
  let lastReply = 0;
  let started = 0;
  let allStarted!: () => void;
  const ready = new Promise<void>((resolve) => allStarted = resolve);
  const server = await serveAndShutdown({
    hostname: "127.0.0.1",
    signals: false,
    async connection(conn) {
      for await (const chunk of conn) {
        const ms = Number(new TextDecoder().decode(chunk));
        if (++started === 10) allStarted();
        await ready; // every command is in flight before the first one finishes
        await untilAborted(Deadline.after(ms).signal);
        await conn.write("+OK\r\n");
        lastReply = performance.now();
      }
    },
  });
  const clients = Array.from({ length: 10 }, (_, i) => {
    const socket = net.connect(server.addr.port, "127.0.0.1");
    socket.on("connect", () => socket.write(String(i + 1)));
    socket.on("error", () => {});
    socket.resume(); // read (and drop) replies, so the server's FIN is seen
    return socket;
  });
  await ready;
  const result = await server.shutdown(10_000);
  delays.push(performance.now() - lastReply);
  if (process.env.DEBUG && performance.now() - lastReply > 50) console.error(round, result);
  clients.forEach((socket) => socket.destroy());
}

console.log(JSON.stringify({ bench: "tcp_drain", rounds, ...summary(delays) }));
