/**
 * `[attestation_service] type = "intel_ta"`: the KBS against a fake Intel Trust Authority on a loopback port that
 * speaks ITA's v2 wire format — it records every request exactly, checks the report-data binding the way ITA does
 * (REPORT_DATA of the quote against the runtime_data it is sent), and answers PS384 tokens signed with a key whose
 * JWKS the test writes as `certs_file`.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { Writable } from 'node:stream';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import { KbsClient } from '../../src/client/kbs-client.js';
import { HttpTransport } from '../../src/client/http.js';
import type { Attester } from '../../src/client/attester.js';
import { canonicalize } from '../../src/util/jcs.js';
import { parseKbsConfig, type ItaAsSettings } from '../../src/kbs/config.js';
import { createKbs, KBS_VERSION } from '../../src/kbs/bootstrap.js';
import { buildItaRequest, itaChallengeExtraParams, ItaAttestationService, SecretString, ITA_ATTEST_AZURE_PATH, ITA_ATTEST_PATH } from '../../src/kbs/remote-as/ita.js';
import { RemoteAsError } from '../../src/kbs/remote-as/errors.js';
import { AttestationServiceError } from '../../src/as/errors.js';
import { MemoryBackend } from '../../src/storage/memory.js';
import { ConfigError } from '../../src/util/config-error.js';
import { readTestdata, testdataPresent, testdataSkip } from '../support/testdata.js';
import { makeTlsServerCert } from './support/pki.js';
import { startKbs, type TestKbs } from './support/harness.js';
import { attest, auth, call, ecTeeKey, errorType } from './support/rcar.js';


const API_KEY = 'ita-api-key-' + randomBytes(12).toString('hex');
const b64 = (b: Uint8Array | string) => Buffer.from(b).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64');
/** TD quote v4: 48-byte header, REPORT_DATA at body offset 520. */
const TDX_REPORT_DATA_OFFSET = 568;

/** Real TD quote bytes when the testdata is there (ITA gets them as is); a zero blob of the same layout otherwise. */
function tdQuoteTemplate(): Buffer {
  if (testdataPresent) return readTestdata('tdx', 'tdx_quote_4.dat');
  console.log('# KEYBROKER_TESTDATA absent: using a synthetic TD quote blob');
  return Buffer.alloc(1020);
}

/** The guest side of a tdx attester: REPORT_DATA (padded to 64) written into the quote, as the TDX module would. */
function tdxAttester(template: Buffer, eventLog?: string): Attester {
  return {
    tee: 'tdx',
    async getEvidence(reportData) {
      const q = Buffer.from(template);
      q.fill(0, TDX_REPORT_DATA_OFFSET, TDX_REPORT_DATA_OFFSET + 64);
      Buffer.from(reportData).copy(q, TDX_REPORT_DATA_OFFSET, 0, 64);
      return { quote: b64(q), cc_eventlog: eventLog ?? null };
    },
  };
}

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: any;
}

type Answer = { status: number; body: string } | 'hang' | 'reset';

/** A JWT signer like ITA's: RSA-3072, PS384, `kid` and `jku` in the header. */
class ItaSigner {
  readonly privateKey: KeyObject;
  readonly jwk: Record<string, unknown>;
  constructor(readonly kid: string) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
    this.privateKey = privateKey;
    this.jwk = { ...(publicKey.export({ format: 'jwk' }) as Record<string, unknown>), kid, alg: 'PS384', use: 'sig' };
  }
  sign(claims: Record<string, unknown>): Promise<string> {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'PS384', typ: 'JWT', kid: this.kid, jku: 'https://portal.trustauthority.intel.com/certs' })
      .setIssuer('Intel Trust Authority')
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime('5m')
      .sign(this.privateKey);
  }
}

class FakeIta {
  readonly seen: Seen[] = [];
  readonly issued: string[] = [];
  server!: Server;
  url = '';
  /** Per-request override; default: appraise as ITA would and answer a token. */
  answer: ((s: Seen) => Answer | Promise<Answer>) | undefined;
  /** Claims added to every token (e.g. policy_ids_unmatched). */
  extraClaims: Record<string, unknown> = {};
  constructor(public signer: ItaSigner) {}

  async start(tls?: { key: string; cert: string }, port = 0): Promise<void> {
    const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
        const s: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
        this.seen.push(s);
        const a = this.answer ? await this.answer(s) : await this.appraise(s);
        if (a === 'hang') return;
        if (a === 'reset') return req.socket.destroy();
        res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
      });
    };
    this.server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
    await new Promise<void>((r, j) => this.server.once('error', j).listen(port, '127.0.0.1', () => r()));
    const addr = this.server.address() as import('node:net').AddressInfo;
    this.url = `${tls ? 'https://localhost' : 'http://127.0.0.1'}:${addr.port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  /** What ITA does with a request, as far as a KBS can tell: binding check, then a token with its claim layout. */
  async appraise(s: Seen): Promise<Answer> {
    if (s.headers['x-api-key'] !== API_KEY) return { status: 401, body: JSON.stringify({ error: 'invalid api key' }) };
    const tdx = s.body?.tdx;
    if (!tdx) return { status: 400, body: JSON.stringify({ error: 'no tdx evidence' }) };
    const claims: Record<string, unknown> = {
      policy_ids_matched: s.body.policy_ids.map((id: string) => ({ id, version: 'v1' })),
      ...this.extraClaims,
    };
    if (s.url === ITA_ATTEST_PATH) {
      const quote = unb64(tdx.quote);
      const runtime = unb64(tdx.runtime_data);
      // ITA's rule is sha512 for TDX (the KBS selects it at /auth: itaChallengeExtraParams).
      const padded = (alg: string) => {
        const out = Buffer.alloc(64);
        createHash(alg).update(runtime).digest().copy(out);
        return out;
      };
      const reportData = quote.subarray(TDX_REPORT_DATA_OFFSET, TDX_REPORT_DATA_OFFSET + 64);
      if (!reportData.equals(padded('sha512')))
        return { status: 400, body: JSON.stringify({ error: 'report data does not match runtime data' }) };
      claims.tdx = { attester_runtime_data: JSON.parse(runtime.toString('utf8')), attester_tcb_status: 'UpToDate', tdx_mrtd: 'ab'.repeat(48) };
    } else {
      claims.tdx = { attester_user_data: JSON.parse(unb64(tdx.user_data).toString('utf8')), attester_tcb_status: 'UpToDate' };
    }
    if (s.body.nvgpu) claims.nvgpu = { gpu_nonce: s.body.nvgpu.gpu_nonce, attester_type: 'NVGPU' };
    const token = await this.signer.sign(claims);
    this.issued.push(token);
    return { status: 200, body: JSON.stringify({ token }) };
  }
}

interface Setup {
  dir: string;
  certsFile: string;
  ita: FakeIta;
  k: TestKbs;
  logs: () => string;
  admin: KbsClient;
}

function itaSection(ita: FakeIta, certsFile: string, extra: Record<string, unknown> = {}) {
  return { type: 'intel_ta', base_url: ita.url, api_key: API_KEY, certs_file: certsFile, ...extra };
}

/** Fake ITA + KBS configured for it; KBS logger and start-up log captured together. */
async function setup(t: TestContext, extra: Record<string, unknown> = {}, tokenTrust?: Record<string, unknown>): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-ita-'));
  const signer = new ItaSigner('ita-key-1');
  const certsFile = join(dir, 'ita-certs.json');
  writeFileSync(certsFile, JSON.stringify({ keys: [signer.jwk] }));
  const ita = new FakeIta(signer);
  await ita.start();
  let logText = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logText += chunk.toString();
      cb();
    },
  });
  const logger = pino({ level: 'trace' }, sink);
  const log = { info: (m: string) => logger.info(m), warn: (m: string) => logger.warn(m) };
  const k = await startKbs(
    { attestation_service: itaSection(ita, certsFile, extra), attestation_token: tokenTrust ?? { trusted_jwk_sets: [certsFile] } },
    { logger: logger as never, log },
  );
  t.after(async () => {
    await k.stop();
    await ita.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const admin = new KbsClient({ transport: new HttpTransport({ url: k.url }), adminToken: k.adminToken });
  return { dir, certsFile, ita, k, logs: () => logText, admin };
}

/** A resource policy on ITA's claims (the default policy wants EAR submodules, which ITA tokens do not have). */
const ITA_POLICY = `package policy
import rego.v1
default allow := false
allow if {
  data.plugin == "resource"
  input.iss == "Intel Trust Authority"
  input.tdx.attester_tcb_status == "UpToDate"
}
`;

test('intel_ta: full RCAR flow — tdx evidence to ITA exactly as §6.8, token verified and returned as is, resource released', async (t) => {
  const { ita, k, admin } = await setup(t, { policy_ids: ['p-1', 'p-2'] });
  const secret = Buffer.from('released through ITA \x00\xff');
  await admin.setResource('ita/one/key', secret);
  const eventLog = b64('CCEL event log bytes');
  const guest = () => new KbsClient({ transport: new HttpTransport({ url: k.url }), attesters: { primary: tdxAttester(tdQuoteTemplate(), eventLog), devices: [] } });

  // Default resource policy: an ITA token has no EAR submodules, so nothing is released (policy still evaluated).
  const g0 = guest();
  await assert.rejects(g0.getResource('ita/one/key'));
  assert.ok(ita.seen.length >= 1);

  await admin.setResourcePolicy(ITA_POLICY);
  const g = guest();
  const challenge = await g.auth();
  const token = await g.attest(challenge);
  const s = ita.seen.at(-1)!;
  // The request, exactly.
  assert.equal(s.method, 'POST');
  assert.equal(s.url, '/appraisal/v2/attest');
  assert.equal(s.headers['x-api-key'], API_KEY);
  assert.equal(s.headers['content-type'], 'application/json');
  assert.equal(s.headers.accept, 'application/json');
  assert.equal(s.headers['user-agent'], `Confidential-containers-trustee kbs/${KBS_VERSION}`);
  assert.deepEqual(Object.keys(s.body), ['policy_ids', 'policy_must_match', 'tdx']);
  assert.deepEqual(s.body.policy_ids, ['p-1', 'p-2']);
  assert.equal(s.body.policy_must_match, true);
  assert.deepEqual(Object.keys(s.body.tdx).sort(), ['event_log', 'quote', 'runtime_data']);
  assert.equal(s.body.tdx.event_log, eventLog);
  // runtime_data is the JCS text the guest hashed into REPORT_DATA (§2.2) — the fake checked the quote against it.
  const expectedRuntime = canonicalize({ 'additional-evidence': '', nonce: challenge.nonce, 'tee-pubkey': g.teeKey.publicJwk });
  assert.equal(unb64(s.body.tdx.runtime_data).toString('utf8'), expectedRuntime);
  assert.equal(unb64(s.body.tdx.quote).length, tdQuoteTemplate().length);
  // Returned to the client byte for byte as ITA issued it.
  assert.equal(token, ita.issued.at(-1));
  assert.deepEqual(await g.getResource('ita/one/key'), secret);
});

test('intel_ta: policy_must_match follows policy_ids and allow_unmatched_policy; unmatched policies in a token are refused', async (t) => {
  const a = await setup(t);
  const key = ecTeeKey();
  const run = async (s: Setup) => {
    const ch = await auth(s.k.url, { version: '0.4.0', tee: 'tdx', 'extra-params': '' });
    return attest(s.k.url, ch.cookie, await tdxBody(ch.nonce, key));
  };
  assert.equal((await run(a)).status, 200);
  assert.deepEqual([a.ita.seen[0]!.body.policy_ids, a.ita.seen[0]!.body.policy_must_match], [[], false]);

  const b = await setup(t, { policy_ids: ['only'], allow_unmatched_policy: true });
  assert.equal((await run(b)).status, 200);
  assert.deepEqual([b.ita.seen[0]!.body.policy_ids, b.ita.seen[0]!.body.policy_must_match], [['only'], false]);

  // must_match, yet ITA's token lists an unmatched policy: the KBS does not take it.
  const c = await setup(t, { policy_ids: ['strict'] });
  c.ita.extraClaims = { policy_ids_unmatched: [{ id: 'strict', version: 'v1' }] };
  const r = await run(c);
  assert.equal(r.status, 401, r.text);
  assert.equal(errorType(r), 'AttestationError');
  assert.match(r.json.detail, /does not match the Intel Trust Authority policies/);
  assert.equal(c.ita.seen[0]!.body.policy_must_match, true);
});

/** An /attest body by hand: tdx evidence bound per §2.2 with sha512, the hash the KBS selects for ITA + tdx. */
async function tdxBody(nonce: string, key: ReturnType<typeof ecTeeKey>) {
  const digest = createHash('sha512').update(canonicalize({ 'additional-evidence': '', nonce, 'tee-pubkey': key.jwk })).digest();
  return {
    'runtime-data': { nonce, 'tee-pubkey': key.jwk },
    'tee-evidence': { primary_evidence: await tdxAttester(tdQuoteTemplate()).getEvidence(digest), additional_evidence: '' },
  };
}

test('intel_ta: ITA refuses (401, 400) → KBS 401 AttestationError with ITA message trimmed, API key never echoed', async (t) => {
  const { ita, k } = await setup(t);
  const key = ecTeeKey();
  ita.answer = () => ({ status: 401, body: JSON.stringify({ error: `invalid api key ${API_KEY}` }) });
  const ch = await auth(k.url, { version: '0.4.0', tee: 'tdx', 'extra-params': '' });
  const r = await attest(k.url, ch.cookie, await tdxBody(ch.nonce, key));
  assert.equal(r.status, 401, r.text);
  assert.equal(errorType(r), 'AttestationError');
  assert.match(r.json.detail, /Intel Trust Authority refused the attestation \(HTTP 401\): invalid api key \[redacted\]/);
  assert.ok(!r.text.includes(API_KEY));

  // A long, multi-line message is cut to one short line.
  ita.answer = () => ({ status: 400, body: JSON.stringify({ error: 'quote\nrejected: ' + 'x'.repeat(5000) }) });
  const ch2 = await auth(k.url, { version: '0.4.0', tee: 'tdx', 'extra-params': '' });
  const r2 = await attest(k.url, ch2.cookie, await tdxBody(ch2.nonce, key));
  assert.equal(r2.status, 401);
  assert.match(r2.json.detail, /HTTP 400\): quote rejected: x+…$/);
  assert.ok(r2.json.detail.length < 400, `detail is ${r2.json.detail.length} chars`);

  // Evidence bound to another nonce: the (fake) ITA's binding check says no, which is an attestation failure.
  ita.answer = undefined;
  const ch3 = await auth(k.url, { version: '0.4.0', tee: 'tdx', 'extra-params': '' });
  const body = await tdxBody(ch3.nonce, key);
  body['runtime-data'] = { nonce: ch3.nonce, 'tee-pubkey': ecTeeKey().jwk };
  const r3 = await attest(k.url, ch3.cookie, body);
  assert.equal(r3.status, 401);
  assert.match(r3.json.detail, /report data does not match/);
});

test('intel_ta: ITA down, failing (5xx) or overloaded (429) → 503 AttestationServiceUnavailable, KBS stays up and recovers', async (t) => {
  const { ita, k } = await setup(t);
  const key = ecTeeKey();
  const once = async () => {
    const ch = await auth(k.url, { version: '0.4.0', tee: 'tdx', 'extra-params': '' });
    assert.equal(ch.reply.status, 200, ch.reply.text);
    return attest(k.url, ch.cookie, await tdxBody(ch.nonce, key));
  };
  for (const answer of [{ status: 500, body: '{"error":"internal"}' }, { status: 503, body: 'busy' }, { status: 429, body: '{"error":"too many requests"}' }, 'reset' as const]) {
    ita.answer = () => answer;
    const r = await once();
    assert.equal(r.status, 503, `${JSON.stringify(answer)} → ${r.status} ${r.text}`);
    assert.equal(errorType(r), 'AttestationServiceUnavailable');
    assert.equal(r.json.detail, 'attestation service unavailable');
  }
  ita.answer = undefined;
  const port = new URL(ita.url).port;
  await ita.stop();
  const down = await once();
  assert.equal(down.status, 503, down.text);
  assert.equal(errorType(down), 'AttestationServiceUnavailable');
  assert.doesNotMatch(down.text, /127\.0\.0\.1|ECONNREFUSED|:\d{4,5}/);
  assert.equal((await call(k.url, 'GET', '/healthz')).status, 200);

  // Back on the same port: the next attestation works with no restart.
  await ita.start(undefined, Number(port));
  assert.equal((await once()).status, 200);
});

test('intel_ta: no answer within the timeout → 503 (timeout option; 300 s by default)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-ita-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ita = new FakeIta(new ItaSigner('k'));
  await ita.start();
  t.after(() => ita.stop());
  ita.answer = () => 'hang';
  const warnings: string[] = [];
  const svc = new ItaAttestationService({
    baseUrl: ita.url, apiKey: new SecretString(API_KEY), certsFile: 'unused', policyIds: [], allowUnmatchedPolicy: false,
    jwks: [ita.signer.jwk as never], kbsVersion: KBS_VERSION, timeoutMs: 300, log: { warn: (m) => warnings.push(m) },
  });
  const started = Date.now();
  const evidence = await tdxAttester(tdQuoteTemplate()).getEvidence(Buffer.alloc(48));
  await assert.rejects(
    svc.evaluate([{ tee: 'tdx', evidence: evidence as never, runtimeData: { kind: 'structured', json: { nonce: 'n' } } }], ['default']),
    (e: unknown) => e instanceof RemoteAsError && e.code === 'ERR_REMOTE_AS_TIMEOUT' && e.unavailable,
  );
  assert.ok(Date.now() - started < 5_000);
  assert.match(warnings.join('\n'), /no answer within 300 ms/);
  assert.ok(!warnings.join('\n').includes(API_KEY));
});

test('intel_ta: a token not signed by a certs_file key is refused (401) and nothing is stored in the session', async (t) => {
  const { ita, k, admin } = await setup(t);
  await admin.setResource('a/b/c', Buffer.from('never'));
  await admin.setResourcePolicy(ITA_POLICY);
  const key = ecTeeKey();
  const good = ita.signer;
  for (const rogue of [new ItaSigner('ita-key-1') /* same kid, other key */, new ItaSigner('unknown-kid')]) {
    ita.signer = rogue;
    const ch = await auth(k.url, { version: '0.4.0', tee: 'tdx', 'extra-params': '' });
    const r = await attest(k.url, ch.cookie, await tdxBody(ch.nonce, key));
    assert.equal(r.status, 401, r.text);
    assert.equal(errorType(r), 'AttestationError');
    assert.match(r.json.detail, /does not verify against certs_file/);
    assert.ok(!r.text.includes(ita.issued.at(-1)!), 'the refused token is not handed out');
    // Nothing stored: the session is not attested (no token to repeat, no resource).
    const again = await attest(k.url, ch.cookie, await tdxBody(ch.nonce, key));
    assert.equal(again.status, 401);
    assert.ok(!again.text.includes(ita.issued.at(-1)!));
    const res = await call(k.url, 'GET', '/kbs/v0/resource/a/b/c', { headers: { cookie: ch.cookie } });
    assert.equal(res.status, 401, res.text);
    // Nor does the refused token work as a Bearer token.
    const bearer = await call(k.url, 'GET', '/kbs/v0/resource/a/b/c', { headers: { authorization: `Bearer ${ita.issued.at(-1)}` } });
    assert.equal(bearer.status, 401);
  }
  ita.signer = good;
  const ch = await auth(k.url, { version: '0.4.0', tee: 'tdx', 'extra-params': '' });
  assert.equal((await attest(k.url, ch.cookie, await tdxBody(ch.nonce, key))).status, 200);
});

test('intel_ta: unsupported TEE (sample) and devices other than nvidia → 401 before ITA is called', async (t) => {
  const { ita, k } = await setup(t);
  const key = ecTeeKey();
  const ch = await auth(k.url);
  const digest = createHash('sha384').update(canonicalize({ 'additional-evidence': '', nonce: ch.nonce, 'tee-pubkey': key.jwk })).digest();
  const r = await attest(k.url, ch.cookie, {
    'runtime-data': { nonce: ch.nonce, 'tee-pubkey': key.jwk },
    'tee-evidence': { primary_evidence: { svn: '1', report_data: b64(digest) }, additional_evidence: '' },
  });
  assert.equal(r.status, 401, r.text);
  assert.equal(errorType(r), 'AttestationError');
  assert.match(r.json.detail, /does not appraise TEE "sample"/);

  const ch2 = await auth(k.url, { version: '0.4.0', tee: 'tdx', 'extra-params': '' });
  const additional = JSON.stringify({ sampledevice: { svn: '2', report_data: b64(Buffer.alloc(48)) } });
  const body = await tdxBody(ch2.nonce, key);
  body['tee-evidence'].additional_evidence = additional;
  const r2 = await attest(k.url, ch2.cookie, body);
  assert.equal(r2.status, 401, r2.text);
  assert.match(r2.json.detail, /does not appraise device "sampledevice"/);

  // Malformed tdx evidence is refused here too.
  const ch3 = await auth(k.url, { version: '0.4.0', tee: 'tdx', 'extra-params': '' });
  const body3 = await tdxBody(ch3.nonce, key);
  (body3['tee-evidence'].primary_evidence as Record<string, unknown>).quote = 'not base64!';
  const r3 = await attest(k.url, ch3.cookie, body3);
  assert.equal(r3.status, 401);
  assert.match(r3.json.detail, /"quote" must be a non-empty base64 string/);
  assert.equal(ita.seen.length, 0, 'ITA was never called');
});

test('intel_ta: the API key never appears in any log line or response', async (t) => {
  const { ita, k, admin, logs } = await setup(t);
  await admin.setResource('a/b/c', Buffer.from('x'));
  await admin.setResourcePolicy(ITA_POLICY);
  const key = ecTeeKey();
  const bodies: string[] = [];
  const attempt = async () => {
    const ch = await auth(k.url, { version: '0.4.0', tee: 'tdx', 'extra-params': '' });
    const r = await attest(k.url, ch.cookie, await tdxBody(ch.nonce, key));
    bodies.push(r.text, (await call(k.url, 'GET', '/kbs/v0/resource/a/b/c', { headers: { cookie: ch.cookie } })).text);
    return r;
  };
  assert.equal((await attempt()).status, 200);
  // ITA echoing the key back, in a verdict and in an outage.
  ita.answer = () => ({ status: 403, body: `{"error":"key ${API_KEY} is not allowed"}` });
  assert.equal((await attempt()).status, 401);
  ita.answer = () => ({ status: 502, body: `upstream said ${API_KEY}` });
  assert.equal((await attempt()).status, 503);
  ita.answer = () => ({ status: 302, body: API_KEY });
  assert.equal((await attempt()).status, 503);
  // The admin endpoints ITA has no counterpart for: a clear refusal.
  const pol = await call(k.url, 'POST', '/kbs/v0/attestation-policy', {
    body: JSON.stringify({ policy_id: 'p', policy: Buffer.from('package policy\n').toString('base64url') }),
    headers: { authorization: `Bearer ${k.adminToken}`, 'content-type': 'application/json' },
  });
  assert.equal(pol.status, 401);
  assert.match(pol.json.detail, /managed in Intel Trust Authority/);
  bodies.push(pol.text);
  assert.ok(logs().includes('Intel Trust Authority'), 'the KBS logged ITA events');
  assert.ok(logs().includes('HTTP 502'));
  assert.ok(ita.seen.every((s) => s.headers['x-api-key'] === API_KEY), 'the key was sent to ITA');
  for (const b of bodies) assert.ok(!b.includes(API_KEY), `response leaks the API key: ${b.slice(0, 80)}`);
  assert.ok(!logs().includes(API_KEY), 'log leaks the API key');
  // Nor does the parsed config, however it is printed.
  const cfg = k.kbs.config;
  assert.ok(!JSON.stringify(cfg).includes(API_KEY));
  assert.ok(!inspect(cfg, { depth: 10 }).includes(API_KEY));
  assert.ok(!`${(cfg.attestationService as ItaAsSettings).apiKey}`.includes(API_KEY));
});

test('intel_ta config: keys, defaults, alias, warnings; errors name the key and never show the API key', () => {
  const base = { type: 'IntelTA', base_url: 'https://api.trustauthority.intel.com/', api_key: API_KEY, certs_file: 'https://portal.trustauthority.intel.com' };
  const c = parseKbsConfig({ attestation_service: base }, {});
  const s = c.attestationService as ItaAsSettings;
  assert.deepEqual(
    [s.type, s.baseUrl, s.certsFile, s.policyIds, s.allowUnmatchedPolicy, s.timeoutMin, s.apiKey.reveal()],
    ['intel_ta', 'https://api.trustauthority.intel.com', 'https://portal.trustauthority.intel.com', [], false, 5, API_KEY],
  );
  assert.deepEqual(c.warnings, []);
  const full = parseKbsConfig({ attestation_service: { ...base, type: 'intel_ta', policy_ids: ['a', 'b'], allow_unmatched_policy: true, timeout: 9 } }, {}).attestationService as ItaAsSettings;
  assert.deepEqual([full.policyIds, full.allowUnmatchedPolicy, full.timeoutMin], [['a', 'b'], true, 9]);

  // http:// on loopback: allowed and warned about; anywhere else refused.
  for (const host of ['127.0.0.1:8080', 'localhost', '[::1]:9']) {
    const w = parseKbsConfig({ attestation_service: { ...base, base_url: `http://${host}` } }, {});
    assert.match(w.warnings.join('\n'), /attestation_service\.base_url .* plain http:\/\/: the ITA API key and the evidence travel unencrypted/);
  }
  const err = (over: Record<string, unknown>, drop?: string) => {
    const raw: Record<string, unknown> = { ...base, ...over };
    if (drop) delete raw[drop];
    try {
      parseKbsConfig({ attestation_service: raw }, {});
    } catch (e) {
      assert.ok(e instanceof ConfigError, String(e));
      assert.ok(!e.message.includes(API_KEY), `error shows the API key: ${e.message}`);
      return e;
    }
    assert.fail(`accepted ${JSON.stringify({ ...over, drop })}`);
  };
  const cases: Array<[Record<string, unknown>, string | undefined, string, RegExp]> = [
    [{}, 'api_key', 'attestation_service.api_key', /required/],
    [{ api_key: '' }, undefined, 'attestation_service.api_key', /must not be empty/],
    [{ api_key: `${API_KEY}\r\nx-evil: 1` }, undefined, 'attestation_service.api_key', /printable ASCII/],
    [{ api_key: 42 }, undefined, 'attestation_service.api_key', /expected a string/],
    [{}, 'base_url', 'attestation_service.base_url', /required/],
    [{ base_url: 'example.io' }, undefined, 'attestation_service.base_url', /is not a URL/],
    [{ base_url: 'http://api.trustauthority.intel.com' }, undefined, 'attestation_service.base_url', /only allowed for loopback/],
    [{ base_url: 'http://10.0.0.1:8080' }, undefined, 'attestation_service.base_url', /only allowed for loopback/],
    [{ base_url: 'ftp://x.example' }, undefined, 'attestation_service.base_url', /https:\/\//],
    [{ base_url: `https://user:${API_KEY}@x.example` }, undefined, 'attestation_service.base_url', /credentials/],
    [{ base_url: 'https://x.example/?a=1' }, undefined, 'attestation_service.base_url', /query/],
    [{}, 'certs_file', 'attestation_service.certs_file', /required/],
    [{ certs_file: 'http://portal.example/certs' }, undefined, 'attestation_service.certs_file', /local path, a file:\/\/ URL or an https:\/\//],
    [{ policy_ids: 'one' }, undefined, 'attestation_service.policy_ids', /array of strings/],
    [{ policy_ids: [''] }, undefined, 'attestation_service.policy_ids[0]', /must not be empty/],
    [{ allow_unmatched_policy: 'yes' }, undefined, 'attestation_service.allow_unmatched_policy', /boolean/],
    [{ as_addr: 'http://127.0.0.1:50004' }, undefined, 'attestation_service.as_addr', /unknown key/],
  ];
  for (const [over, drop, key, msg] of cases) {
    const e = err(over, drop);
    assert.equal(e.key, key, e.message);
    assert.match(e.message, msg);
  }
});

test('intel_ta start-up: certs_file is loaded (missing → error naming the key); a warning when trusted_jwk_sets lacks it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-ita-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const signer = new ItaSigner('kid-1');
  const certs = join(dir, 'certs.json');
  writeFileSync(certs, JSON.stringify({ keys: [signer.jwk] }));
  const other = join(dir, 'other.json');
  writeFileSync(other, JSON.stringify({ keys: [new ItaSigner('kid-2').jwk] }));
  const cfg = (certsFile: string, jwkSets: string[]) =>
    parseKbsConfig({ data_dir: dir, attestation_service: { type: 'intel_ta', base_url: 'https://ita.example', api_key: API_KEY, certs_file: certsFile }, attestation_token: { trusted_jwk_sets: jwkSets } }, {});
  const start = async (c: ReturnType<typeof cfg>) => {
    const lines: string[] = [];
    const kbs = await createKbs(c, { storage: new MemoryBackend(), log: { info: (m) => lines.push(m), warn: (m) => lines.push(`WARN ${m}`) } });
    await kbs.close();
    return lines.join('\n');
  };
  await assert.rejects(start(cfg(join(dir, 'missing.json'), [certs])), (e: unknown) => e instanceof ConfigError && e.key === 'attestation_service.certs_file' && /ENOENT/.test(e.message));
  writeFileSync(join(dir, 'nokid.json'), JSON.stringify({ keys: [{ ...signer.jwk, kid: undefined }] }));
  await assert.rejects(start(cfg(join(dir, 'nokid.json'), [certs])), (e: unknown) => e instanceof ConfigError && e.key === 'attestation_service.certs_file' && /no key with a "kid"/.test(e.message));
  const ok = await start(cfg(`file://${certs}`, [`file://${certs}`]));
  assert.match(ok, /attestation service: Intel Trust Authority at https:\/\/ita\.example/);
  assert.doesNotMatch(ok, /WARN/);
  assert.ok(!ok.includes(API_KEY));
  const warned = await start(cfg(certs, [other]));
  assert.match(warned, /WARN attestation_service\.certs_file .* is not listed in attestation_token\.trusted_jwk_sets/);
});

test('intel_ta: https:// to ITA checks the server certificate (test CA via the extraCaPem option only)', async (t) => {
  const tls = await makeTlsServerCert();
  const ita = new FakeIta(new ItaSigner('tls-kid'));
  await ita.start({ key: tls.keyPem, cert: tls.certPem });
  t.after(() => ita.stop());
  const svc = (extraCaPem?: string) =>
    new ItaAttestationService({
      baseUrl: ita.url, apiKey: new SecretString(API_KEY), certsFile: 'unused', policyIds: [], allowUnmatchedPolicy: false,
      jwks: [ita.signer.jwk as never], kbsVersion: KBS_VERSION, timeoutMs: 5_000, ...(extraCaPem ? { extraCaPem } : {}),
    });
  const digest = createHash('sha512').update(canonicalize({ nonce: 'n' })).digest();
  const req = [{ tee: 'tdx', evidence: (await tdxAttester(tdQuoteTemplate()).getEvidence(digest)) as never, runtimeData: { kind: 'structured' as const, json: { nonce: 'n' } } }];
  const token = await svc(tls.caPem).evaluate(req, ['default']);
  assert.equal(token, ita.issued.at(-1));
  // Node's roots alone do not include the test CA: no connection, which is an outage (503), not a verdict.
  const before = ita.seen.length;
  await assert.rejects(svc().evaluate(req, ['default']), (e: unknown) => e instanceof RemoteAsError && e.unavailable);
  assert.equal(ita.seen.length, before, 'nothing (and no API key) reached the untrusted server');
});

test('intel_ta mapping: nvidia devices become nvgpu (gpu_nonce from sha512 of the device runtime data), others refused', { skip: testdataSkip('nvidia') }, () => {
  const report = readTestdata('nvidia', 'hopperAttestationReport.txt').toString('utf8').trim();
  const chain = b64(readTestdata('nvidia', 'hopper_cert_chain_case1.txt'));
  const teeKey = ecTeeKey().jwk;
  const deviceRd = { nonce: 'abc', 'tee-pubkey': teeKey };
  const device = (arch: string) => ({
    tee: 'nvidia',
    evidence: { device_evidence_list: [{ arch, uuid: 'GPU-1', evidence: report, certificate: chain }] },
    runtimeData: { kind: 'structured' as const, json: deviceRd },
  });
  const primary = { tee: 'sgx', evidence: { quote: b64(Buffer.alloc(100, 1)) }, runtimeData: { kind: 'structured' as const, json: { nonce: 'abc' } } };
  const { path, body } = buildItaRequest([primary, device('Hopper')], { policyIds: ['p'], allowUnmatchedPolicy: false });
  assert.equal(path, ITA_ATTEST_PATH);
  assert.deepEqual(Object.keys(body), ['policy_ids', 'policy_must_match', 'sgx', 'nvgpu']);
  assert.equal(body.sgx!.quote, b64(Buffer.alloc(100, 1)));
  const gpuNonce = createHash('sha512').update(canonicalize(deviceRd)).digest().subarray(0, 32).toString('hex');
  assert.deepEqual(body.nvgpu, { gpu_nonce: gpuNonce, arch: 'HOPPER', evidence_list: [{ evidence: b64(report), certificate: chain }] });
  assert.throws(() => buildItaRequest([primary, device('Ampere')], { policyIds: [], allowUnmatchedPolicy: false }), /Hopper or Blackwell/);
  assert.throws(
    () => buildItaRequest([{ ...primary, tee: 'snp' }], { policyIds: [], allowUnmatchedPolicy: false }),
    (e: unknown) => e instanceof AttestationServiceError && e.code === 'ERR_AS_UNKNOWN_TEE',
  );
});

test('intel_ta: az-tdx-vtpm goes to /appraisal/v2/attest/azure with the HCL var-data and our runtime data as user_data', { skip: testdataSkip('az-tdx-vtpm') }, async (t) => {
  const evidence = JSON.parse(readTestdata('az-tdx-vtpm', 'evidence-v1.json').toString('utf8'));
  const tdQuote = readTestdata('az-tdx-vtpm', 'td-quote.bin');
  const { ita, k, admin } = await setup(t);
  await admin.setResource('az/tdx/key', Buffer.from('azure'));
  await admin.setResourcePolicy(ITA_POLICY);
  const key = ecTeeKey();
  const ch = await auth(k.url, { version: '0.4.0', tee: 'az-tdx-vtpm', 'extra-params': '' });
  const r = await attest(k.url, ch.cookie, { 'runtime-data': { nonce: ch.nonce, 'tee-pubkey': key.jwk }, 'tee-evidence': { primary_evidence: evidence, additional_evidence: '' } });
  assert.equal(r.status, 200, r.text);
  const s = ita.seen.at(-1)!;
  assert.equal(s.url, ITA_ATTEST_AZURE_PATH);
  assert.deepEqual(Object.keys(s.body), ['policy_ids', 'policy_must_match', 'tdx']);
  assert.ok(unb64(s.body.tdx.quote).equals(tdQuote));
  // The HCL variable data is what the TD quote's REPORT_DATA[0..32] is the SHA-256 of.
  const varData = unb64(s.body.tdx.runtime_data);
  assert.ok(createHash('sha256').update(varData).digest().equals(tdQuote.subarray(TDX_REPORT_DATA_OFFSET, TDX_REPORT_DATA_OFFSET + 32)));
  assert.match(varData.toString('utf8'), /HCLAkPub/);
  assert.equal(unb64(s.body.tdx.user_data).toString('utf8'), canonicalize({ 'additional-evidence': '', nonce: ch.nonce, 'tee-pubkey': key.jwk }));
  // The KBS finds the TEE key at /tdx/attester_user_data/tee-pubkey and releases the resource.
  const res = await call(k.url, 'GET', '/kbs/v0/resource/az/tdx/key', { headers: { cookie: ch.cookie } });
  assert.equal(res.status, 200, res.text);
  assert.ok(res.json.ciphertext);
});

test('intel_ta hash negotiation (for /auth): tdx → sha512, sgx and az-tdx-vtpm → sha256, none listed → legacy ""', () => {
  const all = { 'supported-hash-algorithms': ['SHA256', 'sha384', 'sha512'] };
  assert.deepEqual(itaChallengeExtraParams('tdx', all), { 'selected-hash-algorithm': 'sha512' });
  assert.deepEqual(itaChallengeExtraParams('sgx', all), { 'selected-hash-algorithm': 'sha256' });
  assert.deepEqual(itaChallengeExtraParams('az-tdx-vtpm', all), { 'selected-hash-algorithm': 'sha256' });
  assert.equal(itaChallengeExtraParams('tdx', ''), '');
  assert.equal(itaChallengeExtraParams('tdx', {}), '');
  assert.throws(() => itaChallengeExtraParams('tdx', { 'supported-hash-algorithms': ['sha384'] }), /needs sha512 for tdx/);
  assert.throws(() => itaChallengeExtraParams('sgx', { 'supported-hash-algorithms': [] }), /no hash algorithm/);
  assert.throws(() => itaChallengeExtraParams('tdx', { 'supported-hash-algorithms': 'sha512' }), /must be an array/);
  assert.throws(() => itaChallengeExtraParams('snp', all), (e: unknown) => e instanceof AttestationServiceError && e.code === 'ERR_AS_UNKNOWN_TEE');
});

test('intel_ta: /auth selects the hash ITA needs (tdx → sha512, sgx → sha256) and refuses a client that cannot do it', async (t) => {
  const { ita, k } = await setup(t);
  const all = { 'supported-hash-algorithms': ['sha256', 'sha384', 'sha512'] };
  const tdx = await auth(k.url, { version: '0.4.0', tee: 'tdx', 'extra-params': all });
  assert.equal(tdx.reply.status, 200, tdx.reply.text);
  assert.deepEqual(tdx.reply.json['extra-params'], { 'selected-hash-algorithm': 'sha512' });
  const sgx = await auth(k.url, { version: '0.4.0', tee: 'sgx', 'extra-params': all });
  assert.deepEqual(sgx.reply.json['extra-params'], { 'selected-hash-algorithm': 'sha256' });
  const weak = await auth(k.url, { version: '0.4.0', tee: 'tdx', 'extra-params': { 'supported-hash-algorithms': ['sha384'] } });
  assert.equal(weak.reply.status, 401, weak.reply.text);
  assert.equal(errorType(weak.reply), 'AttestationError');
  assert.equal(weak.setCookie, '', 'no session for a refused /auth');
  assert.equal(ita.seen.length, 0, 'ITA is not called at /auth');
});
