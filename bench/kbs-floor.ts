/**
 * The floor under bench/kbs.ts: the least a Node.js server can do per RCAR flow. A bare node:http server speaking
 * just enough of the protocol for the real guest client (bench/kbs-client-worker.ts): /auth answers a random nonce and
 * a session cookie; /attest parses the body and signs an ES256 token over the tee-pubkey; /resource verifies that
 * token and encrypts the secret to the tee-pubkey with the KBS's own JWE code. No framework, no policy, no
 * evidence check, no storage layer: it is NOT a KBS (never serve it), only the measure of what node's HTTP stack
 * and the unavoidable cryptography cost together on this machine, so the KBS's own overhead can be read off.
 */
import http from 'node:http';
import Fastify from 'fastify';
import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { encryptToTeeKey } from '../src/kbs/jwe.js';

export interface FloorServer {
  url: string;
  close(): Promise<void>;
}

export async function startFloorServer(secret: Buffer, opts: { fastify?: boolean } = {}): Promise<FloorServer> {
  const signer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT' })).toString('base64url');
  const sessions = new Map<string, { nonce: string; token?: string }>();
  const p1363 = { dsaEncoding: 'ieee-p1363' as const };
  const json = (res: http.ServerResponse, status: number, body: unknown, cookie?: string) => {
    const text = JSON.stringify(body);
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) };
    if (cookie) headers['set-cookie'] = `kbs-session-id=${cookie}`;
    res.writeHead(status, headers).end(text);
  };
  const sessionOf = (req: http.IncomingMessage) => /kbs-session-id=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
  const handle = (req: http.IncomingMessage, res: http.ServerResponse, chunks: Buffer[]) => {
      try {
        const url = req.url ?? '';
        if (req.method === 'POST' && url === '/kbs/v0/auth') {
          JSON.parse(Buffer.concat(chunks).toString('utf8'));
          const id = randomBytes(16).toString('hex');
          const nonce = randomBytes(32).toString('base64');
          sessions.set(id, { nonce });
          json(res, 200, { nonce, 'extra-params': '' }, id);
        } else if (req.method === 'POST' && url === '/kbs/v0/attest') {
          const s = sessions.get(sessionOf(req) ?? '');
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { 'runtime-data': { nonce: string; 'tee-pubkey': unknown } };
          if (!s || body['runtime-data'].nonce !== s.nonce) return json(res, 401, { type: 'InvalidNonce' });
          const claims = { 'tee-pubkey': body['runtime-data']['tee-pubkey'], exp: Math.floor(Date.now() / 1000) + 300 };
          const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
          s.token = `${input}.${sign('sha256', Buffer.from(input), { key: signer.privateKey, ...p1363 }).toString('base64url')}`;
          json(res, 200, { token: s.token });
        } else if (req.method === 'GET' && url.startsWith('/kbs/v0/resource/')) {
          const token = sessions.get(sessionOf(req) ?? '')?.token;
          if (!token) return json(res, 401, { type: 'TokenNotFound' });
          const dot = token.lastIndexOf('.');
          const ok = verify('sha256', Buffer.from(token.slice(0, dot)), { key: signer.publicKey, ...p1363 }, Buffer.from(token.slice(dot + 1), 'base64url'));
          if (!ok) return json(res, 401, { type: 'TokenVerifierError' });
          const claims = JSON.parse(Buffer.from(token.slice(token.indexOf('.') + 1, dot), 'base64url').toString('utf8')) as { 'tee-pubkey': unknown };
          encryptToTeeKey(claims['tee-pubkey'], secret).then(
            (jwe) => json(res, 200, jwe),
            () => json(res, 500, { type: 'JWE' }),
          );
        } else json(res, 404, {});
      } catch {
        json(res, 400, {});
      }
  };
  if (opts.fastify) {
    // The same handler behind fastify: routing, hooks-free request/reply objects, buffer body parser.
    const app = Fastify({ logger: false });
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    app.route({
      method: ['GET', 'POST'],
      url: '/kbs/v0/*',
      handler: (req, reply) => {
        reply.hijack();
        handle(req.raw, reply.raw, req.body ? [req.body as Buffer] : []);
      },
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
  }
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, chunks));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
