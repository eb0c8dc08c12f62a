// The consumer-loop pattern: workers take jobs from a queue until shutdown
// begins, then stop taking new ones; the jobs already taken finish within
// the grace period (CountDown and a Deadline), and whatever is still running
// at the deadline is abandoned and reported. No server involved: the same shutdown
// for queue consumers, cron runners and batch workers.
//   node examples/worker-pool.ts  |  deno run -A examples/worker-pool.ts  |  bun examples/worker-pool.ts
// (`node` runs a .ts file from Node 22.18 on; on Node 20, compile it with tsc first.)
// JOBS=20 WORKERS=4 JOB_MS=200 GRACE_PERIOD=5000; SIGTERM or Ctrl+C to stop.

import process from "node:process";
import { CountDown, Deadline } from "../mod.ts";

const workers = Number(process.env.WORKERS ?? 4);
const jobMs = Number(process.env.JOB_MS ?? 200);
const gracePeriod = Number(process.env.GRACE_PERIOD ?? 5_000);

/** A stand-in for a real queue: jobs 1..JOBS, then it waits for more. */
const queue = Array.from({ length: Number(process.env.JOBS ?? 20) }, (_, i) => i + 1);

const stopping = new AbortController(); // aborts when shutdown begins
const inFlight = new CountDown();
let done = 0;

/** Waits ms, or less if `signal` aborts; a plain timer, so it holds the process like real I/O. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const end = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", end);
      resolve();
    };
    const timer = setTimeout(end, ms);
    signal?.addEventListener("abort", end, { once: true });
  });
}

async function work(job: number): Promise<void> {
  await pause(jobMs); // the job itself; it does not stop halfway
  done++;
  console.log(`job ${job} done`);
}

async function worker(): Promise<void> {
  while (!stopping.signal.aborted) {
    const job = queue.shift();
    // An empty queue: poll again later, or sooner if shutdown begins.
    if (job === undefined) await pause(100, stopping.signal);
    else await inFlight.track(() => work(job));
  }
}

const onSignal = async (name: string) => {
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  console.log(`${name}: taking no new jobs, ${inFlight.count} in flight`);
  stopping.abort();
  const deadline = Deadline.after(gracePeriod);
  try {
    await inFlight.wait(deadline.signal);
    deadline[Symbol.dispose]();
    await Promise.all(running);
    console.log(`worker pool down: {"graceful":true,"done":${done},"left":${queue.length}}`);
  } catch {
    // The deadline passed: abandon what still runs (a real consumer would
    // leave those jobs unacknowledged, so the queue hands them out again).
    console.log(`worker pool down: {"graceful":false,"abandoned":${inFlight.count}}`);
    process.exit(1);
  }
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

console.log(`worker pool running: ${workers} workers, ${queue.length} jobs queued`);
const running = Array.from({ length: workers }, () => worker());
