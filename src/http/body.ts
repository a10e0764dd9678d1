import type { IncomingMessage } from 'node:http';

export class BodyTooLargeError extends Error {}
export class InvalidJsonError extends Error {}

/** Reads a small request body (JSON APIs only; object bodies always stream). */
export async function readSmallBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new BodyTooLargeError(`Body larger than ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLargeError(`Body larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export async function readJson(req: IncomingMessage, limit = 64 * 1024): Promise<unknown> {
  const text = (await readSmallBody(req, limit)).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InvalidJsonError('Request body is not valid JSON');
  }
}

export function isJsonContentType(req: IncomingMessage): boolean {
  const type = req.headers['content-type'] ?? '';
  return /^application\/json\s*(;|$)/i.test(type);
}
