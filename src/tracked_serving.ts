// The drain of every serving mode that sees its connections (raw TCP on all
// runtimes, HTTP on Node): a Tracker, plus the connections that closed by
// themselves during drainDelay, which count as drained.

import type { Addr, DrainCounts, Serving } from "./runtime/shim.ts";
import { Tracker } from "./tracker.ts";

/** A Tracker for a server whose shutdown begins when `shutdown` aborts. */
export function _trackerFor(shutdown: AbortSignal): Tracker & { closedDuringDelay: number } {
  const tracker = Object.assign(
    new Tracker({
      onStateChange: (_conn, _from, to) => {
        if (to === "closed" && shutdown.aborted && !tracker.draining) tracker.closedDuringDelay++;
      },
    }),
    { closedDuringDelay: 0 },
  );
  return tracker;
}

/**
 * A Serving that drains through `tracker`, which cuts every tracked socket
 * when the deadline passes; `destroyAll` also cuts those it no longer tracks.
 */
export function _trackedServing(
  addr: Addr,
  tracker: Tracker & { closedDuringDelay: number },
  closeListener: () => void,
  destroyAll?: () => void,
): Serving {
  return {
    addr,
    closeListener,
    async drain(signal: AbortSignal): Promise<DrainCounts> {
      const onForce = (): void => destroyAll?.();
      signal.addEventListener("abort", onForce, { once: true });
      if (signal.aborted) onForce();
      try {
        const { closedIdle, drained, forced } = await tracker.shutdown(signal);
        return { closedIdle, drained: drained + tracker.closedDuringDelay, forced };
      } finally {
        signal.removeEventListener("abort", onForce);
      }
    },
  };
}
