/**
 * Admits at most `size` calls at once to an engine with that many execution slots (GPU backends), in arrival
 * order; the rest wait here, on the JavaScript side, where waiting costs no thread. (Waiting inside the addon
 * would hold a libuv pool thread, and enough of those could starve the very call that would free a slot.)
 * A size of 0 admits everything (the CPU backend).
 * @internal
 */
export class SlotGate {
  readonly #size: number;
  #inUse = 0;
  readonly #waiting: Array<{ grant: () => void; fail: (error: unknown) => void }> = [];
  #closedWith: unknown;

  constructor(size: number) {
    this.#size = size;
  }

  /** Calls holding a slot now, and calls waiting for one. */
  get stats() {
    return { inUse: this.#inUse, waiting: this.#waiting.length };
  }

  /**
   * Resolves when the call may run; call the returned function once when the engine no longer holds anything
   * for it. Rejects with `signal.reason` wrapped by `onAbort` if the signal fires first, or with the close error.
   */
  acquire(signal: AbortSignal | undefined, onAbort: () => unknown): Promise<() => void> {
    if (this.#closedWith !== undefined) return Promise.reject(this.#closedWith);
    const release = this.#releaser();
    if (this.#size === 0) return Promise.resolve(release);
    if (this.#inUse < this.#size) {
      this.#inUse++;
      return Promise.resolve(release);
    }
    if (signal?.aborted) return Promise.reject(onAbort());
    return new Promise((resolve, reject) => {
      const entry = {
        grant: () => {
          signal?.removeEventListener('abort', abort);
          this.#inUse++;
          resolve(release);
        },
        fail: (error: unknown) => {
          signal?.removeEventListener('abort', abort);
          reject(error);
        },
      };
      const abort = () => {
        const i = this.#waiting.indexOf(entry);
        if (i >= 0) this.#waiting.splice(i, 1);
        entry.fail(onAbort());
      };
      signal?.addEventListener('abort', abort, { once: true });
      this.#waiting.push(entry);
    });
  }

  /** Rejects every waiting call, and every later acquire, with `error`. */
  close(error: unknown): void {
    this.#closedWith = error;
    for (const entry of this.#waiting.splice(0)) entry.fail(error);
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (this.#size === 0) return;
      this.#inUse--;
      this.#waiting.shift()?.grant();
    };
  }
}
