/**
 * A bounded number of report transfers at once (scanner download streamed into a Slack upload), so
 * memory and connections stay flat however many reports people ask for; the rest wait in line,
 * first come first served.
 */
export class TransferSlots {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError("max transfers must be a positive integer");
  }

  /** Transfers running and waiting now. */
  get load(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }

  /**
   * Runs `transfer` when a slot is free. When it has to wait, `onQueued` is told how many transfers
   * are ahead of it (running and waiting) before it waits; its failure does not stop the transfer.
   */
  async run<T>(
    transfer: () => Promise<T>,
    onQueued?: (ahead: number) => unknown | Promise<unknown>,
  ): Promise<T> {
    if (this.active >= this.max) {
      const ahead = this.active + this.waiting.length;
      const turn = new Promise<void>((resolve) => this.waiting.push(resolve));
      // Telling the person is a courtesy: the transfer goes ahead whether or not that reached them.
      await Promise.resolve()
        .then(() => onQueued?.(ahead))
        .catch(() => {});
      await turn;
    } else {
      this.active++;
    }
    try {
      return await transfer();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next in line.
      if (next) next();
      else this.active--;
    }
  }
}
