/**
 * Incoming framing: a frame ends at `\n` or NUL (the original C++ client sends `json + '\0'`);
 * a `\r` before the `\n` is dropped; blank frames are skipped.
 *
 * Why not split2: it is a Transform stream (a stream push and a 'data' event per line on the
 * hottest path), it decodes to text before splitting, and its maxLength only checks the
 * unterminated remainder, so an oversize line completed inside one chunk passes. Splitting
 * bytes and decoding only whole frames keeps UTF-8 split across chunks intact by construction
 * and lets the limit count bytes.
 */

const LF = 0x0a;
const NUL = 0x00;
const CR = 0x0d;

/** the bytes of a frame (or object) not complete yet, held across chunks, up to a limit */
class Held {
  readonly #max: number;
  #parts: Buffer[] = [];
  bytes = 0;

  constructor(max: number) {
    this.#max = max;
  }

  /** whether what is held plus `more` bytes is within the limit */
  fits(more: number): boolean {
    return this.bytes + more <= this.#max;
  }

  /** what is held followed by `tail`; holds nothing after */
  take(tail: Buffer): Buffer {
    if (this.bytes === 0) return tail;
    const all = Buffer.concat([...this.#parts, tail]);
    this.#parts = [];
    this.bytes = 0;
    return all;
  }

  /** holds `rest` for the next chunk; false when that is over the limit */
  hold(rest: Buffer): boolean {
    this.bytes += rest.length;
    this.#parts.push(rest);
    return this.bytes <= this.#max;
  }
}

export class FrameDecoder {
  readonly #held: Held;

  constructor(maxBytes: number) {
    this.#held = new Held(maxBytes);
  }

  /**
   * Feeds a chunk; calls `onFrame` for every complete non-blank frame in order (`lf`: it ended
   * at `\n`, not NUL). Returns false (and stops) when a frame exceeds the limit; the decoder is
   * then unusable.
   */
  push(chunk: Buffer, onFrame: (frame: string, lf: boolean) => void): boolean {
    let start = 0;
    let nextLf = -2;
    let nextNul = -2;
    for (;;) {
      if (nextLf !== -1 && nextLf < start) nextLf = chunk.indexOf(LF, start);
      if (nextNul !== -1 && nextNul < start) nextNul = chunk.indexOf(NUL, start);
      const end = nextLf === -1 ? nextNul : nextNul === -1 ? nextLf : Math.min(nextLf, nextNul);
      if (end === -1) break;
      if (!this.#held.fits(end - start)) return false;
      const frame = this.#held.take(chunk.subarray(start, end));
      const lf = chunk[end] === LF;
      start = end + 1;
      let len = frame.length;
      if (len > 0 && frame[len - 1] === CR) len--;
      if (len === 0) continue;
      const text = frame.toString('utf8', 0, len);
      if (text.charCodeAt(0) <= 0x20 && text.trim() === '') continue;
      onFrame(text, lf);
    }
    return start >= chunk.length || this.#held.hold(chunk.subarray(start));
  }

  /** bytes held for an unterminated frame */
  get pendingBytes(): number {
    return this.#held.bytes;
  }
}

const OPEN = 0x7b; // {
const CLOSE = 0x7d; // }
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Incoming framing from the original C++ server, which writes each JSON object with no
 * delimiter (`{...}{...}` may come in one read, or one object over several): an object ends
 * where its braces balance, braces inside strings (and escaped quotes) not counted. Bytes
 * between objects (whitespace, NUL, anything else) are skipped. It splits bytes and decodes
 * only whole objects, so UTF-8 split across chunks is intact (no byte of a multi-byte
 * character is ASCII, so none is taken for a brace or a quote).
 */
export class JsonObjectSplitter {
  readonly #held: Held;
  #depth = 0;
  #inString = false;
  #escaped = false;

  constructor(maxBytes: number) {
    this.#held = new Held(maxBytes);
  }

  /**
   * Feeds a chunk; calls `onObject` with the text of every complete object in order. Returns
   * false (and stops) when an object exceeds the limit; the splitter is then unusable.
   */
  push(chunk: Buffer, onObject: (text: string) => void): boolean {
    let start = this.#depth > 0 ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.#depth === 0) {
        if (b === OPEN) {
          this.#depth = 1;
          start = i;
        }
        continue;
      }
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (b === BACKSLASH) this.#escaped = true;
        else if (b === QUOTE) this.#inString = false;
        continue;
      }
      if (b === QUOTE) this.#inString = true;
      else if (b === OPEN) this.#depth++;
      else if (b === CLOSE && --this.#depth === 0) {
        if (!this.#held.fits(i + 1 - start)) return false;
        const bytes = this.#held.take(chunk.subarray(start, i + 1));
        start = -1;
        onObject(bytes.toString('utf8'));
      }
    }
    return start === -1 || this.#held.hold(chunk.subarray(start));
  }

  /** bytes held for an object not complete yet */
  get pendingBytes(): number {
    return this.#held.bytes;
  }
}
