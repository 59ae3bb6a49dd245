import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

/** Buffered line writer that respects backpressure: memory stays flat however much is written. */
export class LineWriter {
  private buffer: string[] = [];
  private bytes = 0;
  private readonly stream: NodeJS.WritableStream;

  constructor(target: string | NodeJS.WritableStream) {
    this.stream = typeof target === 'string' ? createWriteStream(target) : target;
  }

  async write(line: string): Promise<void> {
    this.buffer.push(line);
    this.bytes += line.length;
    if (this.bytes >= 1 << 20) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const chunk = `${this.buffer.join('\n')}\n`;
    this.buffer = [];
    this.bytes = 0;
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.stream === process.stdout) return;
    await new Promise<void>((resolve, reject) => {
      this.stream.once('error', reject);
      this.stream.end(() => resolve());
    });
  }
}
