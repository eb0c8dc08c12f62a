// Type tests against the built declarations npm users get (dist/mod.d.ts).
import { expectAssignable, expectError, expectType } from "tsd";
import { CountDown, Deadline } from "../dist/mod.js";

const deadline = Deadline.after(1_000);
expectType<Deadline>(Deadline.after(1_000, { signal: new AbortController().signal }));
expectType<Deadline>(Deadline.at(Date.now()));
expectType<Deadline>(Deadline.at(new Date()));
expectType<AbortSignal>(deadline.signal);
expectType<number>(deadline.time);
expectType<number>(deadline.remaining());
expectType<boolean>(deadline.expired);
expectAssignable<Disposable>(deadline);
expectError(Deadline.after("10"));
expectError(Deadline.at("2026-01-01"));
expectError(Deadline.after(10, { signal: "x" }));
expectError(deadline.time = 1);

const pending = new CountDown();
expectType<CountDown>(new CountDown(2));
expectType<number>(pending.count);
expectType<void>(pending.add());
expectType<void>(pending.add(-1));
expectType<void>(pending.done());
expectType<Promise<void>>(pending.wait());
expectType<Promise<void>>(pending.wait(deadline.signal));
expectType<Promise<string>>(pending.track(Promise.resolve("x")));
expectType<Promise<number>>(pending.track(async () => 1));
expectError(pending.add("1"));
expectError(pending.wait("signal"));
expectError(pending.count = 1);
