// Timers that never keep a process alive, and that accept any delay.
//
// This is the one place the core looks at a runtime global: `unref()` is a
// method of the timer object on Node and Bun, while Deno hands out numbers and
// offers `Deno.unrefTimer`. Both are feature-detected, so the core still runs
// wherever `setTimeout` does (a browser included).

/** The longest delay one platform timer accepts (2^31 - 1 ms, about 24.8 days). */
export const MAX_TIMER_DELAY: number = 2 ** 31 - 1;

interface UnrefableTimer {
  unref(): unknown;
}

interface DenoTimers {
  unrefTimer(id: number): void;
}

function unrefTimer(id: unknown): void {
  if (typeof id === "object" && id !== null && "unref" in id) {
    (id as UnrefableTimer).unref();
    return;
  }
  const deno = (globalThis as { Deno?: DenoTimers }).Deno;
  if (typeof id === "number" && typeof deno?.unrefTimer === "function") deno.unrefTimer(id);
}

/**
 * Calls `callback` once the wall clock reaches `time` (epoch ms), chaining
 * platform timers for delays longer than one timer allows. The pending timer
 * never keeps the process alive.
 *
 * @returns a function that cancels the call; calling it again does nothing.
 */
export function _callAt(time: number, callback: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const schedule = (): void => {
    const delay = time - Date.now();
    if (delay <= 0) {
      timer = undefined;
      callback();
      return;
    }
    timer = setTimeout(schedule, Math.min(delay, MAX_TIMER_DELAY));
    unrefTimer(timer);
  };
  schedule();
  return () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
}
