// Process signals through node:process, which Node and Bun both provide.

import process from "node:process";

/** Calls `handler` on each delivery of `signal`; returns the remover. */
export function _onProcessSignal(signal: string, handler: () => void): () => void {
  process.on(signal as NodeJS.Signals, handler);
  return () => void process.off(signal as NodeJS.Signals, handler);
}

/** The names of the other `process.on(signal)` listeners, besides `own`. */
export function _otherProcessSignalListeners(signal: string, own: () => void): string[] {
  return process.listeners(signal as NodeJS.Signals)
    .filter((listener) => listener !== own)
    .map((listener) => listener.name === "" ? "an anonymous function" : `${listener.name}()`);
}
