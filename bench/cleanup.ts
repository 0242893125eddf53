/** Cleanup runs registered stops in reverse order, once. */
export class Cleanup {
  readonly #stops: (() => Promise<void>)[] = [];

  add(stop: () => Promise<void>): void {
    this.#stops.push(stop);
  }

  async run(): Promise<void> {
    while (this.#stops.length > 0) {
      const stop = this.#stops.pop()!;
      await stop().catch((error: unknown) => {
        process.stderr.write(`cleanup failed: ${String(error)}\n`);
      });
    }
  }
}
