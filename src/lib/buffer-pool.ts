/**
 * A few large buffers handed out again and again. Streaming a big object through fresh buffers makes V8
 * count every byte as new external memory and run a full mark-compact each 64 MiB; reused ones do not.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly bufferSize: number,
    private readonly maxFree: number,
  ) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.bufferSize);
  }

  /** Only once nothing refers to `buffer` any more (its write has completed). */
  give(buffer: Buffer): void {
    if (this.free.length < this.maxFree && buffer.length === this.bufferSize) this.free.push(buffer);
  }
}
