/** A chunk: a run of consecutive manifest rows, addressed by byte range, the unit of work. */
export interface Chunk {
  readonly index: number;
  /** Byte offset of the chunk's first row in the manifest object. */
  readonly start: number;
  /** Byte offset one past the chunk's last row (exclusive). */
  readonly end: number;
  /** 1-based manifest line of the chunk's first row. */
  readonly firstLine: number;
  /** Number of task rows in the chunk. */
  readonly count: number;
}
