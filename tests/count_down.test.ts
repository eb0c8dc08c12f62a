import assert from "node:assert/strict";
import { CountDown, Deadline } from "../mod.ts";
import { test } from "./_harness.ts";

/** Counts the abort listeners a signal holds, by watching add and remove. */
function watchListeners(signal: AbortSignal): () => number {
  let listeners = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((...args: Parameters<typeof add>) => {
    listeners++;
    add(...args);
  }) as typeof add;
  signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
    listeners--;
    remove(...args);
  }) as typeof remove;
  return () => listeners;
}

test("CountDown starts at 0 or at a given count", () => {
  assert.equal(new CountDown().count, 0);
  assert.equal(new CountDown(3).count, 3);
});

test("CountDown rejects a negative, fractional or non-number count", () => {
  assert.throws(() => new CountDown(-1), RangeError);
  assert.throws(() => new CountDown(-1), /'count' must be >= 0: received -1/);
  assert.throws(() => new CountDown(1.5), /'count' must be a whole number: received 1.5/);
  assert.throws(() => new CountDown(NaN), RangeError);
  assert.throws(() => new CountDown("2" as unknown as number), TypeError);
  assert.throws(() => new CountDown().add(0.5), RangeError);
  assert.throws(() => new CountDown().add("1" as unknown as number), /'delta' must be a number/);
});

test("CountDown.wait() at zero resolves at once", async () => {
  const pending = new CountDown();
  let resolved = false;
  const waiting = pending.wait().then(() => resolved = true);
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(resolved, true);
  await waiting;
});

test("CountDown resolves every waiter when the count reaches zero", async () => {
  const pending = new CountDown(2);
  const order: string[] = [];
  const waiters = [1, 2, 3].map((n) => pending.wait().then(() => order.push(`w${n}`)));
  const withSignal = pending.wait(new AbortController().signal).then(() => order.push("ws"));
  pending.done();
  await Promise.resolve();
  assert.deepEqual(order, [], "not at one");
  pending.done();
  await Promise.all([...waiters, withSignal]);
  assert.deepEqual(order.sort(), ["w1", "w2", "w3", "ws"]);
  // A later round works the same way.
  pending.add(1);
  let again = false;
  const next = pending.wait().then(() => again = true);
  await Promise.resolve();
  assert.equal(again, false);
  pending.done();
  await next;
});

test("CountDown going below zero throws RangeError and leaves the count unchanged", () => {
  const pending = new CountDown(1);
  assert.throws(() => pending.add(-2), /must stay >= 0: current value is 1/);
  assert.equal(pending.count, 1);
  pending.done();
  assert.throws(() => pending.done(), RangeError);
  assert.equal(pending.count, 0);
});

test("CountDown.wait(signal) rejects with signal.reason at once when already aborted", async () => {
  const reason = new Error("gone");
  await assert.rejects(new CountDown(1).wait(AbortSignal.abort(reason)), (e) => e === reason);
  // Even at zero, an aborted signal wins: the caller asked to stop waiting.
  await assert.rejects(new CountDown(0).wait(AbortSignal.abort(reason)), (e) => e === reason);
});

test("CountDown.wait(signal) rejects with the reason when it aborts later", async () => {
  const pending = new CountDown(1);
  const deadline = Deadline.after(10);
  const reason = await pending.wait(deadline.signal).then(() => "resolved", (e) => e);
  assert.equal((reason as Error).name, "TimeoutError");
  assert.equal(pending.count, 1, "abandoning a wait leaves the count");
});

test("CountDown.wait(signal) removes its listener when it resolves", async () => {
  const controller = new AbortController();
  const listeners = watchListeners(controller.signal);
  const pending = new CountDown(1);
  const waiting = pending.wait(controller.signal);
  assert.equal(listeners(), 1);
  pending.done();
  await waiting;
  assert.equal(listeners(), 0);
});

test("CountDown.track counts a promise and passes its value through", async () => {
  const pending = new CountDown();
  let finish!: (value: string) => void;
  const tracked = pending.track(new Promise<string>((resolve) => finish = resolve));
  assert.equal(pending.count, 1);
  finish("value");
  assert.equal(await tracked, "value");
  assert.equal(pending.count, 0);
});

test("CountDown.track counts a function's promise and passes rejections through", async () => {
  const pending = new CountDown();
  const failure = new Error("work failed");
  const tracked = pending.track(async () => {
    throw failure;
  });
  assert.equal(pending.count, 1);
  await assert.rejects(tracked, (e) => e === failure);
  assert.equal(pending.count, 0);
  const thrown = pending.track(
    (() => {
      throw failure;
    }) as () => Promise<never>,
  );
  await assert.rejects(thrown, (e) => e === failure);
  assert.equal(pending.count, 0);
});

test("CountDown.track settles after the count went down", async () => {
  const pending = new CountDown();
  const tracked = pending.track(Promise.resolve(1)).then(() => pending.count);
  assert.equal(await tracked, 0);
  await pending.wait();
});
