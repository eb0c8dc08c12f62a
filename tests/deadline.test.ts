import assert from "node:assert/strict";
import { Deadline } from "../mod.ts";
import { fixture, test } from "./_harness.ts";
import { runToExit } from "./_process.ts";

function aborted(signal: AbortSignal): Promise<unknown> {
  if (signal.aborted) return Promise.resolve(signal.reason);
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(signal.reason), { once: true })
  );
}

test("Deadline.after(0) and negative delays are already expired", () => {
  for (const ms of [0, -1, -Infinity]) {
    const deadline = Deadline.after(ms);
    assert.equal(deadline.signal.aborted, true, `after(${ms}) aborted`);
    assert.equal(deadline.expired, true);
    assert.equal(deadline.remaining(), 0);
    assert.equal((deadline.signal.reason as Error).name, "TimeoutError");
  }
});

test("Deadline.after(ms) aborts with a TimeoutError once ms have passed", async () => {
  const started = Date.now();
  const deadline = Deadline.after(30);
  assert.equal(deadline.expired, false);
  assert.ok(deadline.remaining() > 0 && deadline.remaining() <= 30);
  assert.ok(Math.abs(deadline.time - (started + 30)) <= 5);
  const reason = await aborted(deadline.signal);
  assert.ok(reason instanceof DOMException || reason instanceof Error);
  assert.equal((reason as Error).name, "TimeoutError");
  assert.ok(Date.now() >= deadline.time, "not before its time");
  assert.equal(deadline.expired, true);
  assert.equal(deadline.remaining(), 0);
});

test("Deadline.after(Infinity) never aborts and sets no timer", () => {
  const deadline = Deadline.after(Infinity);
  assert.equal(deadline.time, Infinity);
  assert.equal(deadline.remaining(), Infinity);
  assert.equal(deadline.expired, false);
  assert.equal(deadline.signal.aborted, false);
  const infiniteAt = Deadline.at(Infinity);
  assert.equal(infiniteAt.remaining(), Infinity);
});

test("Deadline.after(Infinity) does not keep a process alive or start a timer", async () => {
  const result = await runToExit(fixture("hold_deadline"), ["Infinity"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /holding remaining=Infinity timers=0/);
});

test("Deadline rejects bad input with TypeError or RangeError naming the value", () => {
  const bad = (fn: () => unknown, type: ErrorConstructor, text: RegExp) =>
    assert.throws(fn, (error: Error) => error instanceof type && text.test(error.message));
  bad(() => Deadline.after(NaN), RangeError, /'ms'.*NaN/);
  bad(() => Deadline.after("10" as unknown as number), TypeError, /'ms'.*string 10/);
  bad(() => Deadline.after(undefined as unknown as number), TypeError, /'ms'.*undefined/);
  bad(() => Deadline.at(NaN), RangeError, /'time'.*NaN/);
  bad(() => Deadline.at(new Date("nope")), RangeError, /'time'.*Invalid Date/);
  bad(() => Deadline.at("2026-01-01" as unknown as number), TypeError, /'time'.*2026-01-01/);
  bad(
    () => Deadline.after(10, { signal: "x" as unknown as AbortSignal }),
    TypeError,
    /'options.signal'.*x/,
  );
});

test("Deadline.at accepts epoch ms and Dates, past ones already expired", async () => {
  const past = Deadline.at(new Date(Date.now() - 1_000));
  assert.equal(past.signal.aborted, true);
  assert.equal((past.signal.reason as Error).name, "TimeoutError");
  const soon = Date.now() + 20;
  const deadline = Deadline.at(soon);
  assert.equal(deadline.time, soon);
  await aborted(deadline.signal);
  assert.ok(Date.now() >= soon);
});

test("Deadline aborts with an already aborted parent's own reason", () => {
  const reason = new Error("parent gone");
  const deadline = Deadline.after(60_000, { signal: AbortSignal.abort(reason) });
  assert.equal(deadline.signal.aborted, true);
  assert.equal(deadline.signal.reason, reason);
  assert.equal(deadline.remaining(), 0);
  assert.equal(deadline.expired, true);
});

test("Deadline aborts with a parent's own reason when the parent aborts first", async () => {
  const parent = new AbortController();
  const deadline = Deadline.at(Date.now() + 60_000, { signal: parent.signal });
  const reason = { why: "any value is passed through" };
  parent.abort(reason);
  assert.equal(await aborted(deadline.signal), reason);
  // Its own timer is gone: the process is not held, and it never aborts again.
  assert.equal(deadline.signal.reason, reason);
});

test("Deadline keeps its own TimeoutError when its time comes before the parent", async () => {
  const parent = new AbortController();
  let parentListeners = 0;
  const add = parent.signal.addEventListener.bind(parent.signal);
  const remove = parent.signal.removeEventListener.bind(parent.signal);
  parent.signal.addEventListener = ((...args: Parameters<typeof add>) => {
    parentListeners++;
    add(...args);
  }) as typeof add;
  parent.signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
    parentListeners--;
    remove(...args);
  }) as typeof remove;
  const deadline = Deadline.after(10, { signal: parent.signal });
  assert.equal(parentListeners, 1);
  const reason = await aborted(deadline.signal);
  assert.equal((reason as Error).name, "TimeoutError");
  assert.equal(parentListeners, 0, "the parent listener is removed when the deadline fires");
  parent.abort(new Error("late"));
  assert.equal(deadline.signal.reason, reason);
});

test("[Symbol.dispose] releases the timer and parent listener and does not abort", async () => {
  const parent = new AbortController();
  const deadline = Deadline.after(20, { signal: parent.signal });
  deadline[Symbol.dispose]();
  deadline[Symbol.dispose](); // twice is harmless
  parent.abort(new Error("after dispose"));
  // Wait past the deadline's time on an independent deadline: it must not abort.
  await aborted(Deadline.after(60).signal);
  assert.equal(deadline.signal.aborted, false);
  assert.equal(deadline.expired, true, "its time has still passed");
});

// Written as a string: Node 22 cannot parse a `using` declaration, and this
// file must load there.
const disposeByUsing = (() => {
  try {
    return new Function(
      "Deadline",
      "{ using deadline = Deadline.after(20); return deadline.signal; }",
    ) as (
      deadline: typeof Deadline,
    ) => AbortSignal;
  } catch {
    return undefined;
  }
})();

test("`using` disposes a deadline at the end of its block", async () => {
  const signal = disposeByUsing!(Deadline);
  await aborted(Deadline.after(60).signal);
  assert.equal(signal.aborted, false);
}, { skip: !disposeByUsing && "this runtime cannot parse `using` declarations (Node 22)" });

test("a pending Deadline does not keep a process alive", async () => {
  const result = await runToExit(fixture("hold_deadline"), ["60000"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /holding remaining=\d+ timers=1/);
  const remaining = Number(/remaining=(\d+)/.exec(result.stdout)![1]);
  assert.ok(remaining > 50_000, `the deadline was pending (${remaining} ms left)`);
});

test("a Deadline beyond one platform timer's range stays pending and exact", async (t) => {
  // Platform timers given more than 2^31-1 ms fire almost at once (Node clamps
  // to 1 ms), so the deadline must chain timers of at most that length.
  const delays: number[] = [];
  const platformSetTimeout = globalThis.setTimeout;
  globalThis.setTimeout = ((callback: () => void, ms?: number) => {
    delays.push(ms ?? 0);
    return platformSetTimeout(callback, ms);
  }) as typeof platformSetTimeout;
  t.cleanup(() => globalThis.setTimeout = platformSetTimeout);
  const sixtyDays = 60 * 24 * 3_600_000;
  const deadline = Deadline.after(sixtyDays);
  globalThis.setTimeout = platformSetTimeout;
  assert.deepEqual(delays, [2 ** 31 - 1]);
  await aborted(Deadline.after(20).signal);
  assert.equal(deadline.signal.aborted, false);
  assert.ok(deadline.remaining() > sixtyDays - 1_000);
  deadline[Symbol.dispose]();
});
