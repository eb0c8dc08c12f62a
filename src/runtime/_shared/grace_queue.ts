// The connections draining leaves open for the rest of their idle grace, each
// until its own time: one timer for all of them, however many (10,000 idle
// connections must not cost 10,000 timers), fired at the earliest time due.
// The timer never keeps the process alive: the open sockets do, and once
// they are gone nothing is left to wait for.

import { _callAt } from "../../_timer.ts";

interface Due<T> {
  readonly item: T;
  readonly until: number;
}

/** Calls `expire` with each item once its time (epoch ms) has come, in time order, from one timer. */
export class GraceQueue<T> {
  readonly #expire: (item: T) => void;
  #due: Due<T>[] = [];
  /** The first item not yet expired. */
  #next = 0;
  /** False once an item was added out of time order; sorted again when the timer fires. */
  #sorted = true;
  #cancelTimer: (() => void) | undefined;
  #timerAt = Infinity;

  constructor(expire: (item: T) => void) {
    this.#expire = expire;
  }

  /** Expires `item` at `until`. */
  add(item: T, until: number): void {
    const due = this.#due;
    const last = due[due.length - 1];
    if (last !== undefined && until < last.until) this.#sorted = false;
    due.push({ item, until });
    if (until < this.#timerAt) this.#schedule(until);
  }

  /** Takes every item not yet expired, none of them expired (the deadline closes them). */
  takeAll(): T[] {
    this.#cancelTimer?.();
    this.#timerAt = Infinity;
    const rest = this.#due.slice(this.#next).map((due) => due.item);
    this.#due = [];
    this.#next = 0;
    return rest;
  }

  #schedule(at: number): void {
    this.#cancelTimer?.();
    this.#timerAt = at;
    this.#cancelTimer = _callAt(at, this.#fire);
  }

  readonly #fire = (): void => {
    this.#timerAt = Infinity;
    if (!this.#sorted) {
      this.#due = this.#due.slice(this.#next).sort((a, b) => a.until - b.until);
      this.#next = 0;
      this.#sorted = true;
    }
    const due = this.#due;
    const now = Date.now();
    while (this.#next < due.length && due[this.#next]!.until <= now) {
      this.#expire(due[this.#next++]!.item);
    }
    if (this.#next < due.length) this.#schedule(due[this.#next]!.until);
    else {
      this.#due = [];
      this.#next = 0;
    }
  };
}
