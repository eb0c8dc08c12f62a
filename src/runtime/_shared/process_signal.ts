// Process signals through node:process, which Node and Bun both provide.

import process from "node:process";

/** Calls `handler` on each delivery of `signal`; returns the remover. */
export function _onProcessSignal(signal: string, handler: () => void): () => void {
  process.on(signal as NodeJS.Signals, handler);
  return () => void process.off(signal as NodeJS.Signals, handler);
}
