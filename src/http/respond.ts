import type { ServerResponse } from 'node:http';

/** A JSON response with its length; for HEAD, the same headers and no body. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headOnly = res.req.method === 'HEAD'): void {
  const text = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': text.length });
  res.end(headOnly ? undefined : text);
}
