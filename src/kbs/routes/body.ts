import type { FastifyRequest } from 'fastify';

/** The raw request body (every content type is parsed as bytes in server.ts); empty when none was sent. */
export function bodyBytes(req: FastifyRequest): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}
