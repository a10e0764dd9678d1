/**
 * A few large buffers handed out again and again. Streaming a big object through fresh buffers makes V8
 * count every byte as new external memory and run a full mark-compact each 64 MiB; reused ones do not. A pool
 * not drawn from for a while lets its buffers go, so that an idle server does not keep them resident.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];
  private drawn = false;
  private idleCheck: NodeJS.Timeout | null = null;

  constructor(
    readonly bufferSize: number,
    private readonly maxFree: number,
    private readonly idleMs = 10_000,
  ) {}

  take(): Buffer {
    this.drawn = true;
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.bufferSize);
  }

  /** Only once nothing refers to `buffer` any more (its write has completed). */
  give(buffer: Buffer): void {
    if (this.free.length >= this.maxFree || buffer.length !== this.bufferSize) return;
    this.free.push(buffer);
    this.idleCheck ??= setInterval(() => this.releaseIfIdle(), this.idleMs).unref();
  }

  /** Buffers kept for reuse (for tests). */
  get kept(): number {
    return this.free.length;
  }

  private releaseIfIdle(): void {
    if (this.drawn) {
      this.drawn = false;
      return;
    }
    this.free.length = 0;
    if (this.idleCheck) clearInterval(this.idleCheck);
    this.idleCheck = null;
  }
}
