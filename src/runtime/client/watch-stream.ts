/**
 * A watch response is a stream of JSON objects, one per line, cut into chunks wherever the network
 * cut them: a chunk may hold half an event, several events, or the middle of a multi-byte character.
 * `WatchLineSplitter` turns decoded text chunks back into whole lines (the response stream decodes
 * UTF-8 itself, across chunk boundaries).
 */
export class WatchLineSplitter {
  #buffered = '';

  /** Feeds a chunk; returns the complete, non-blank lines it finished. */
  push(chunk: string): string[] {
    this.#buffered += chunk;
    const lines: string[] = [];
    let newline = this.#buffered.indexOf('\n');
    let start = 0;
    while (newline >= 0) {
      const line = this.#buffered.slice(start, newline);
      if (line.trim() !== '') lines.push(line);
      start = newline + 1;
      newline = this.#buffered.indexOf('\n', start);
    }
    this.#buffered = this.#buffered.slice(start);
    return lines;
  }

  /** What is left when the stream ends: a last line without a newline, if any. */
  end(): string[] {
    const rest = this.#buffered;
    this.#buffered = '';
    return rest.trim() === '' ? [] : [rest];
  }
}
