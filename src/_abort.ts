// Waiting on signals, for the shutdown sequence and the runtime shims.

import { Deadline } from "./deadline.ts";

/** Resolves once `signal` has aborted (at once if it already has). */
export function _untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
}

/** Waits for `work`, but at most `ms`: for a native shutdown that might not end. */
export async function _atMost(work: Promise<unknown> | undefined, ms: number): Promise<void> {
  // No `using` declaration: Node 22 cannot parse one.
  const bound = Deadline.after(ms);
  try {
    await Promise.race([work, _untilAborted(bound.signal)]);
  } finally {
    bound[Symbol.dispose]();
  }
}
