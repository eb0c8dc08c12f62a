// Helpers shared by the benchmarks.

/** Resolves once `signal` has aborted (at once if it already has). */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
}

/** p50, p99 and max of `samples` (ms), rounded to µs. */
export function summary(samples: number[]): { p50_ms: number; p99_ms: number; max_ms: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const pick = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const round = (ms: number) => Math.round(ms * 1_000) / 1_000;
  return { p50_ms: round(pick(0.5)), p99_ms: round(pick(0.99)), max_ms: round(sorted.at(-1)!) };
}
