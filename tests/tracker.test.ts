import fc from "fast-check";
import assert from "node:assert/strict";
import { type ConnState, type ShutdownResult, type TrackedConn, Tracker } from "../mod.ts";
import { test } from "./_harness.ts";

/** A socket stand-in that records close() calls; the test reports closed itself. */
function fakeSocket() {
  return {
    closes: 0,
    close() {
      this.closes++;
    },
  };
}

/** Lets pending promise callbacks run. */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

function settled<T>(promise: Promise<T>): { done: boolean; value?: T } {
  const state: { done: boolean; value?: T } = { done: false };
  promise.then((value) => {
    state.done = true;
    state.value = value;
  });
  return state;
}

test("Tracker tracks connections through new, active, idle and closed", () => {
  const changes: string[] = [];
  const tracker = new Tracker({
    onStateChange: (_conn, from, to) => changes.push(`${from}->${to}`),
  });
  const conn = tracker.track(fakeSocket());
  assert.equal(conn.state, "new");
  assert.equal(tracker.size, 1);
  assert.equal(tracker.count("new"), 1);
  conn.active();
  assert.equal(tracker.count("active"), 1);
  conn.idle();
  conn.idle(); // no change, no event
  assert.equal(tracker.count("idle"), 1);
  conn.closed();
  conn.active(); // after closed: ignored
  assert.equal(conn.state, "closed");
  assert.equal(tracker.size, 0);
  assert.equal(tracker.count("closed"), 0);
  assert.deepEqual(changes, ["new->active", "active->idle", "idle->closed"]);
});

test("Tracker rejects an onStateChange that is not a function", () => {
  assert.throws(
    () => new Tracker({ onStateChange: 1 as unknown as () => void }),
    (e: Error) => e instanceof TypeError && /'onStateChange'.*1/.test(e.message),
  );
});

test("Tracker.closeIdle closes new and idle connections, not active ones", () => {
  const tracker = new Tracker();
  const sockets = [fakeSocket(), fakeSocket(), fakeSocket()];
  const [fresh, idle, busy] = sockets.map((socket) => tracker.track(socket));
  idle.active();
  idle.idle();
  busy.active();
  assert.equal(tracker.closeIdle(), 2);
  assert.deepEqual(sockets.map((s) => s.closes), [1, 1, 0]);
  assert.equal(tracker.draining, false);
  fresh.closed();
  idle.closed();
  assert.equal(tracker.size, 1);
});

test("Tracker.close closes every tracked connection", () => {
  const tracker = new Tracker();
  const sockets = [fakeSocket(), fakeSocket()];
  const conns = sockets.map((socket) => tracker.track(socket));
  conns[0].active();
  assert.equal(tracker.close(), 2);
  assert.deepEqual(sockets.map((s) => s.closes), [1, 1]);
});

test("Tracker.shutdown with nothing tracked resolves at once, graceful", async () => {
  const tracker = new Tracker();
  const result = await tracker.shutdown();
  assert.equal(tracker.draining, true);
  assert.deepEqual({ ...result, ms: 0 }, {
    graceful: true,
    closedIdle: 0,
    drained: 0,
    forced: 0,
    ms: 0,
  });
});

test("Tracker.shutdown closes idle at once, active ones as they turn idle, event driven", async () => {
  const tracker = new Tracker();
  const idleSocket = fakeSocket(), busySocket = fakeSocket();
  const idle = tracker.track(idleSocket);
  const busy = tracker.track(busySocket);
  busy.active();
  const state = settled(tracker.shutdown());
  assert.equal(idleSocket.closes, 1, "idle closed when draining starts");
  assert.equal(busySocket.closes, 0, "active left to finish");
  idle.closed();
  busy.active(); // still busy: a second command in the same connection
  await flush();
  assert.equal(state.done, false);
  busy.idle(); // the reply is written: this very transition closes it
  assert.equal(busySocket.closes, 1);
  await flush();
  assert.equal(state.done, false, "waits for the socket to report closed");
  busy.closed();
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(state.done, true, "resolves in the turn the last one closes");
  assert.equal(state.value!.closedIdle, 1);
  assert.equal(state.value!.drained, 1);
  assert.equal(state.value!.forced, 0);
  assert.equal(state.value!.graceful, true);
});

test("Tracker.shutdown forces every remaining connection when its signal aborts", async () => {
  const tracker = new Tracker();
  const sockets = [fakeSocket(), fakeSocket(), fakeSocket()];
  const conns = sockets.map((socket) => tracker.track(socket));
  conns[0].active();
  conns[1].active();
  conns[2].active();
  conns[2].idle(); // closed by draining, still lingering at the deadline
  const controller = new AbortController();
  const state = settled(tracker.shutdown(controller.signal));
  conns[2].idle();
  await flush();
  assert.equal(state.done, false);
  controller.abort();
  await flush();
  assert.equal(state.done, true, "resolves at once, without waiting for the sockets");
  assert.deepEqual(sockets.map((s) => s.closes), [1, 1, 2]);
  assert.deepEqual({ ...state.value!, ms: 0 }, {
    graceful: false,
    closedIdle: 1,
    drained: 0,
    forced: 2,
    ms: 0,
  });
  conns.forEach((conn) => conn.closed()); // late reports change nothing
  assert.equal(state.value!.forced, 2);
});

test("Tracker.shutdown with an aborted signal closes everything at once", async () => {
  const tracker = new Tracker();
  const busy = tracker.track(fakeSocket());
  busy.active();
  tracker.track(fakeSocket());
  const result = await tracker.shutdown(AbortSignal.abort());
  assert.equal(result.closedIdle, 1);
  assert.equal(result.forced, 1);
  assert.equal(result.graceful, false);
});

test("Tracker.shutdown calls share one result, and a later call's signal can force", async () => {
  const tracker = new Tracker();
  const busy = tracker.track(fakeSocket());
  busy.active();
  const first = tracker.shutdown();
  const controller = new AbortController();
  const second = tracker.shutdown(controller.signal);
  assert.equal(first, second);
  controller.abort();
  const [a, b] = await Promise.all([first, second]);
  assert.equal(a, b);
  assert.equal(a.forced, 1);
  assert.equal(await tracker.shutdown(), a);
});

test("Tracker.close during a shutdown forces the rest", async () => {
  const tracker = new Tracker();
  tracker.track(fakeSocket()).active();
  const pending = tracker.shutdown();
  assert.equal(tracker.close(), 1);
  assert.equal((await pending).forced, 1);
});

test("Tracker: hijacked connections leave the registry and the counts", async () => {
  const tracker = new Tracker();
  const socket = fakeSocket();
  const upgraded = tracker.track(socket);
  upgraded.active();
  const pending = tracker.shutdown();
  upgraded.hijack();
  assert.equal(upgraded.state, "hijacked");
  const result = await pending;
  assert.equal(socket.closes, 0);
  assert.equal(result.closedIdle + result.drained + result.forced, 0);
});

test("Tracker: a connection tracked while draining is closed at once and counted", async () => {
  const tracker = new Tracker();
  tracker.track(fakeSocket()).active();
  const pending = tracker.shutdown(AbortSignal.timeout(5_000));
  const socket = fakeSocket();
  const late = tracker.track(socket);
  assert.equal(socket.closes, 1);
  late.closed();
  tracker.close();
  const result = await pending;
  assert.equal(result.closedIdle, 1);
  assert.equal(result.forced, 1);
});

test("Tracker: an idle-closed connection that still gets a request counts as drained", async () => {
  const tracker = new Tracker();
  const socket = fakeSocket();
  const conn = tracker.track(socket);
  const pending = tracker.shutdown();
  conn.active(); // its request raced the close
  conn.idle();
  conn.closed();
  const result = await pending;
  assert.equal(result.drained, 1);
  assert.equal(result.closedIdle, 0);
});

// Random interleavings of everything a server and its peers can do.
type Op =
  | { kind: "track" }
  | { kind: "active" | "idle" | "closed" | "hijack"; index: number }
  | { kind: "shutdown" }
  | { kind: "abort" }
  | { kind: "close" };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  fc.constant<Op>({ kind: "track" }),
  fc.record({
    kind: fc.constantFrom("active" as const, "idle" as const, "closed" as const, "hijack" as const),
    index: fc.nat(15),
  }),
  fc.constant<Op>({ kind: "shutdown" }),
  fc.constant<Op>({ kind: "abort" }),
  fc.constant<Op>({ kind: "close" }),
);

test("Tracker: random interleavings keep counts exact and drain event driven", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArbitrary, { maxLength: 60 }), async (ops) => {
      const tracker = new Tracker();
      const conns: Array<{ conn: TrackedConn; socket: ReturnType<typeof fakeSocket> }> = [];
      const controller = new AbortController();
      let shutdown: { done: boolean; value?: ShutdownResult } | undefined;
      let counted = 0; // connections the result must account for
      let forcedAllowed = false;
      for (const op of ops) {
        if (op.kind === "track") {
          const socket = fakeSocket();
          conns.push({ conn: tracker.track(socket), socket });
          if (shutdown && !shutdown.done) counted++;
        } else if (op.kind === "shutdown") {
          if (!shutdown) counted = tracker.size;
          if (controller.signal.aborted) forcedAllowed = true;
          shutdown = settled(tracker.shutdown(controller.signal));
        } else if (op.kind === "abort") {
          if (shutdown && !shutdown.done && tracker.size > 0) forcedAllowed = true;
          controller.abort();
        } else if (op.kind === "close") {
          if (shutdown && !shutdown.done && tracker.size > 0) forcedAllowed = true;
          tracker.close();
        } else if (conns.length > 0) {
          const { conn } = conns[op.index % conns.length];
          const before: ConnState = conn.state;
          conn[op.kind]();
          const live = before !== "closed" && before !== "hijacked";
          if (op.kind === "hijack" && live && shutdown && !shutdown.done) counted--;
        }
        await flush();
        if (shutdown === undefined) continue;
        // Event driven: resolved exactly when nothing is left or it was forced.
        if (!shutdown.done) {
          assert.ok(tracker.size > 0, "a drained tracker must have resolved");
          assert.equal(controller.signal.aborted, false);
          for (const { conn, socket } of conns) {
            if (conn.state === "new" || conn.state === "idle") {
              assert.ok(socket.closes > 0, "no new or idle connection is left open while draining");
            }
          }
        } else {
          const result = shutdown.value!;
          assert.equal(result.closedIdle + result.drained + result.forced, counted, "exact counts");
          assert.equal(result.graceful, result.forced === 0);
          if (!forcedAllowed) assert.equal(result.forced, 0);
        }
      }
    }),
    { numRuns: 400 },
  );
});
