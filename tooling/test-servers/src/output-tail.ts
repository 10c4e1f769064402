/**
 * Keeps the last lines a child process printed, so a startup failure can say why without
 * holding a server's whole log in memory. The stream must be read continuously anyway:
 * a full pipe would block the server on its next log line.
 */
export class OutputTail {
  readonly #lines: string[] = [];
  readonly #max: number;
  #partial = '';

  constructor(max = 40) {
    this.#max = max;
  }

  push(chunk: Buffer | string): void {
    const text = this.#partial + chunk.toString();
    const parts = text.split('\n');
    this.#partial = parts.pop() ?? '';
    for (const line of parts) this.#add(line);
    if (this.#partial.length > 4096) {
      this.#add(this.#partial);
      this.#partial = '';
    }
  }

  /** Appends a note of ours (not printed by the process), e.g. a spawn error. */
  note(line: string): void {
    this.#add(line);
  }

  text(): string {
    const lines = this.#partial === '' ? this.#lines : [...this.#lines, this.#partial];
    return lines.join('\n');
  }

  #add(line: string): void {
    const trimmed = line.replace(/\r$/, '');
    if (trimmed === '') return;
    this.#lines.push(trimmed);
    if (this.#lines.length > this.#max) this.#lines.shift();
  }
}

/** Formats captured output for an error message. */
export function describeOutput(tail: OutputTail): string {
  const text = tail.text();
  return text === '' ? ' (no output)' : `. Last output:\n${text}`;
}
