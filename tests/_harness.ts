// A small portable test harness: the same test files run unchanged on Node,
// Deno and Bun, one test after another, and each runtime prints one closing
// line `<runtime>: N passed, N failed, N skipped`.

import process from "node:process";
import { fileURLToPath } from "node:url";

export type Runtime = "node" | "deno" | "bun";

/** The runtime these tests are running on. */
export const runtime: Runtime = "Deno" in globalThis
  ? "deno"
  : "Bun" in globalThis
  ? "bun"
  : "node";

/** What a test can ask of the harness. */
export interface TestContext {
  /** Runs `fn` after the test, pass or fail, latest first. */
  cleanup(fn: () => unknown): void;
}

export interface TestOptions {
  /** A reason to skip this test, printed in the output; false runs it. */
  skip?: string | false;
  /** Fails the test when it runs longer, in ms; default 30 s. */
  timeout?: number;
}

interface RegisteredTest {
  name: string;
  fn: (t: TestContext) => unknown;
  options: TestOptions;
}

const registered: RegisteredTest[] = [];

/** Registers a test; tests run in the order they are registered. */
export function test(
  name: string,
  fn: (t: TestContext) => unknown,
  options: TestOptions = {},
): void {
  registered.push({ name, fn, options });
}

/** How to start a script file on the runtime running the tests. */
export function runtimeCommand(file: string): [string, string[]] {
  if (runtime === "deno") return [process.execPath, ["run", "-A", file]];
  return [process.execPath, [file]];
}

/**
 * The path of a file under tests/fixtures, as runnable here: the TypeScript
 * source, or the compiled JavaScript when the tests themselves were compiled.
 */
export function fixture(name: string): string {
  const extension = import.meta.url.endsWith(".js") ? ".js" : ".ts";
  return fileURLToPath(new URL(`./fixtures/${name}${extension}`, import.meta.url));
}

/** The path of an example, as runnable here (see {@linkcode fixture}). */
export function example(name: string): string {
  const extension = import.meta.url.endsWith(".js") ? ".js" : ".ts";
  return fileURLToPath(new URL(`../examples/${name}${extension}`, import.meta.url));
}

async function runOne(entry: RegisteredTest): Promise<void> {
  const cleanups: Array<() => unknown> = [];
  const timeout = entry.options.timeout ?? 30_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      entry.fn({ cleanup: (fn) => cleanups.push(fn) }),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`test timed out after ${timeout} ms`)),
          timeout,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    for (const fn of cleanups.reverse()) await fn();
  }
}

/** Runs every registered test whose name contains `filter` (or one of its `|`-separated parts), and reports. */
export async function runAll(
  label: string,
  filter = "",
): Promise<{ passed: number; failed: number; skipped: number }> {
  let passed = 0, failed = 0, skipped = 0;
  for (const entry of registered) {
    if (!filter.split("|").some((part) => entry.name.includes(part))) continue;
    if (entry.options.skip) {
      skipped++;
      console.log(`skip ${entry.name}: ${entry.options.skip}`);
      continue;
    }
    const started = performance.now();
    try {
      await runOne(entry);
      passed++;
      console.log(`ok   ${entry.name} (${Math.round(performance.now() - started)} ms)`);
    } catch (error) {
      failed++;
      console.log(`FAIL ${entry.name} (${Math.round(performance.now() - started)} ms)`);
      console.log(String((error as Error)?.stack ?? error).replace(/^/gm, "     "));
    }
  }
  console.log(`${label}: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  return { passed, failed, skipped };
}
