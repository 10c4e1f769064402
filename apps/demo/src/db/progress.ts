/** Where a long job reports how far it got. */
export interface Progress {
  /** `done` out of `total` units of the step named `label`. */
  update(label: string, done: number, total: number): void;
  /** Ends the bar (a newline on a terminal). */
  finish(message: string): void;
}

const WIDTH = 30;

/**
 * A one-line progress bar redrawn in place on a terminal; elsewhere (CI logs, pipes) one line
 * per step and quarter, so logs stay short.
 */
export function progressBar(stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY === true;
  const started = Date.now();
  let lastQuarter = new Map<string, number>();
  return {
    update(label, done, total) {
      const ratio = total === 0 ? 1 : Math.min(1, done / total);
      if (tty) {
        const filled = Math.round(ratio * WIDTH);
        const bar = `${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}`;
        const pct = `${Math.floor(ratio * 100)}`.padStart(3);
        stream.write(
          `\r  seeding [${bar}] ${pct}% ${label} ${done.toLocaleString('en')}/${total.toLocaleString('en')}\x1b[K`,
        );
        return;
      }
      const quarter = Math.floor(ratio * 4);
      if ((lastQuarter.get(label) ?? -1) < quarter) {
        lastQuarter.set(label, quarter);
        stream.write(
          `  seeding ${label}: ${done.toLocaleString('en')}/${total.toLocaleString('en')} (${Math.floor(ratio * 100)}%)\n`,
        );
      }
    },
    finish(message) {
      if (tty) stream.write('\r\x1b[K');
      lastQuarter = new Map();
      stream.write(`  ${message} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    },
  };
}

/** A progress sink that reports nothing (tests). */
export const noProgress: Progress = { update: () => {}, finish: () => {} };
