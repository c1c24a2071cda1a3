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

export class FrameDecoder {
  readonly #maxBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /**
   * Feeds a chunk; calls `onFrame` for every complete non-blank frame in order. Returns false
   * (and stops) when a frame exceeds the limit; the decoder is then unusable.
   */
  push(chunk: Buffer, onFrame: (frame: string) => void): boolean {
    let start = 0;
    let nextLf = -2;
    let nextNul = -2;
    for (;;) {
      if (nextLf !== -1 && nextLf < start) nextLf = chunk.indexOf(LF, start);
      if (nextNul !== -1 && nextNul < start) nextNul = chunk.indexOf(NUL, start);
      const end = nextLf === -1 ? nextNul : nextNul === -1 ? nextLf : Math.min(nextLf, nextNul);
      if (end === -1) break;
      if (this.#pendingBytes + end - start > this.#maxBytes) return false;
      let frame = chunk.subarray(start, end);
      if (this.#pendingBytes > 0) {
        frame = Buffer.concat([...this.#pending, frame]);
        this.#pending = [];
        this.#pendingBytes = 0;
      }
      start = end + 1;
      let len = frame.length;
      if (len > 0 && frame[len - 1] === CR) len--;
      if (len === 0) continue;
      const text = frame.toString('utf8', 0, len);
      if (text.charCodeAt(0) <= 0x20 && text.trim() === '') continue;
      onFrame(text);
    }
    if (start < chunk.length) {
      this.#pendingBytes += chunk.length - start;
      if (this.#pendingBytes > this.#maxBytes) return false;
      this.#pending.push(chunk.subarray(start));
    }
    return true;
  }

  /** bytes held for an unterminated frame */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }
}
