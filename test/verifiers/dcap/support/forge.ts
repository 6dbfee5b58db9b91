/**
 * Test-only forge for DCAP evidence: an own root CA, PCK CA + PCK leaf with Intel's SGX extension, a TCB
 * signing cert, CRLs, QE and attestation keys, signed TCB Info / QE identity, and quotes (v3, v4, v5). Offsets
 * here are written from Intel's quote specs independently of src/verifiers/dcap/quote.ts.
 */
import { createHash, KeyObject, sign, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

const subtle = webcrypto.subtle;
const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;

export interface KeyPair {
  pub: webcrypto.CryptoKey;
  priv: webcrypto.CryptoKey;
  privObj: KeyObject;
  /** Raw uncompressed point without the 0x04 prefix (64 bytes). */
  raw64: Uint8Array;
}

export async function keyPair(): Promise<KeyPair> {
  const k = (await subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const raw = new Uint8Array(await subtle.exportKey('raw', k.publicKey));
  return { pub: k.publicKey, priv: k.privateKey, privObj: KeyObject.from(k.privateKey), raw64: raw.subarray(1) };
}

export function signRaw(kp: KeyPair, data: Uint8Array): Uint8Array {
  return new Uint8Array(sign('sha256', data, { key: kp.privObj, dsaEncoding: 'ieee-p1363' }));
}

function name(cn: string): pkijs.RelativeDistinguishedNames {
  return new pkijs.RelativeDistinguishedNames({
    typesAndValues: [
      new pkijs.AttributeTypeAndValue({ type: '2.5.4.3', value: new asn1js.Utf8String({ value: cn }) }),
    ],
  });
}

export interface Issued {
  cn: string;
  der: Uint8Array;
  pem: string;
  key: KeyPair;
  serial: Uint8Array;
}

let serialCounter = 0x1000;

export async function issue(opts: {
  cn: string;
  key: KeyPair;
  issuer?: Issued; // absent = self-signed
  ca: boolean;
  notBefore: Date;
  notAfter: Date;
  extraExtensions?: pkijs.Extension[];
}): Promise<Issued> {
  const cert = new pkijs.Certificate();
  cert.version = 2;
  const serial = new Uint8Array([0x01, (serialCounter >> 8) & 0xff, serialCounter & 0xff]);
  serialCounter++;
  cert.serialNumber = new asn1js.Integer({ valueHex: serial });
  cert.subject = name(opts.cn);
  cert.issuer = name(opts.issuer?.cn ?? opts.cn);
  cert.notBefore.value = opts.notBefore;
  cert.notAfter.value = opts.notAfter;
  await cert.subjectPublicKeyInfo.importKey(opts.key.pub);
  const bc = new pkijs.BasicConstraints({ cA: opts.ca });
  cert.extensions = [
    new pkijs.Extension({ extnID: '2.5.29.19', critical: true, extnValue: bc.toSchema().toBER(false), parsedValue: bc }),
    ...(opts.extraExtensions ?? []),
  ];
  await cert.sign((opts.issuer?.key ?? opts.key).priv, 'SHA-256');
  const der = new Uint8Array(cert.toSchema(true).toBER(false));
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return { cn: opts.cn, der, pem: `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`, key: opts.key, serial };
}

export async function makeCrl(issuer: Issued, revoked: Uint8Array[], thisUpdate: Date, nextUpdate: Date, num = 1): Promise<Uint8Array> {
  const crl = new pkijs.CertificateRevocationList();
  crl.version = 1;
  crl.issuer = name(issuer.cn);
  crl.thisUpdate = new pkijs.Time({ type: 0, value: thisUpdate });
  crl.nextUpdate = new pkijs.Time({ type: 0, value: nextUpdate });
  if (revoked.length > 0) {
    crl.revokedCertificates = revoked.map(
      (s) => new pkijs.RevokedCertificate({ userCertificate: new asn1js.Integer({ valueHex: s }), revocationDate: new pkijs.Time({ type: 0, value: thisUpdate }) }),
    );
  }
  crl.crlExtensions = new pkijs.Extensions({
    extensions: [new pkijs.Extension({ extnID: '2.5.29.20', extnValue: new asn1js.Integer({ value: num }).toBER(false) })],
  });
  await crl.sign(issuer.key.priv, 'SHA-256');
  return new Uint8Array(crl.toSchema(true).toBER(false));
}

// ----------------------------------------------------------------------------------------------------------------
// PCK SGX extension (1.2.840.113741.1.13.1)

const SGX = '1.2.840.113741.1.13.1';
const entry = (oid: string, v: asn1js.AsnType) => new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: oid }), v] });
const oct = (b: Uint8Array) => new asn1js.OctetString({ valueHex: b });

export interface PckParams {
  fmspc: Uint8Array;
  pceId?: Uint8Array;
  sgxComps: number[];
  pceSvn: number;
  platformInstanceId?: Uint8Array;
}

export function sgxExtension(p: PckParams): pkijs.Extension {
  const tcb = new asn1js.Sequence({
    value: [
      ...p.sgxComps.map((svn, i) => entry(`${SGX}.2.${i + 1}`, new asn1js.Integer({ value: svn }))),
      entry(`${SGX}.2.17`, new asn1js.Integer({ value: p.pceSvn })),
      entry(`${SGX}.2.18`, oct(new Uint8Array(p.sgxComps))), // CPUSVN = the 16 component bytes, as in real PCKs
    ],
  });
  const items: asn1js.AsnType[] = [
    entry(`${SGX}.1`, oct(new Uint8Array(16).fill(0xab))),
    entry(`${SGX}.2`, tcb),
    entry(`${SGX}.3`, oct(p.pceId ?? new Uint8Array(2))),
    entry(`${SGX}.4`, oct(p.fmspc)),
    entry(`${SGX}.5`, new asn1js.Enumerated({ value: 1 })),
  ];
  if (p.platformInstanceId) items.push(entry(`${SGX}.6`, oct(p.platformInstanceId)));
  items.push(
    entry(
      `${SGX}.7`,
      new asn1js.Sequence({
        value: [
          entry(`${SGX}.7.1`, new asn1js.Boolean({ value: false })),
          entry(`${SGX}.7.2`, new asn1js.Boolean({ value: true })),
          entry(`${SGX}.7.3`, new asn1js.Boolean({ value: false })),
        ],
      }),
    ),
  );
  return new pkijs.Extension({ extnID: SGX, critical: false, extnValue: new asn1js.Sequence({ value: items }).toBER(false) });
}

// ----------------------------------------------------------------------------------------------------------------
// A whole test PKI

export const T0 = new Date('2025-01-01T00:00:00Z');
export const T_END = new Date('2030-01-01T00:00:00Z');
export const NOW = new Date('2025-06-15T00:00:00Z');

export interface Pki {
  root: Issued;
  pckCa: Issued;
  pck: Issued;
  tcbSigner: Issued;
  rootSha256: string;
  pckCrl: Uint8Array;
  rootCrl: Uint8Array;
}

export async function makePki(opts: { pck?: Partial<PckParams>; revokePck?: boolean; revokePckCa?: boolean; crlNextUpdate?: Date } = {}): Promise<Pki> {
  const root = await issue({ cn: 'Test SGX Root CA', key: await keyPair(), ca: true, notBefore: T0, notAfter: T_END });
  const pckCa = await issue({ cn: 'Intel SGX PCK Platform CA', key: await keyPair(), issuer: root, ca: true, notBefore: T0, notAfter: T_END });
  const params: PckParams = {
    fmspc: Buffer.from('00a06d080000', 'hex'),
    sgxComps: [2, 2, 7, 7, 4, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0],
    pceSvn: 13,
    platformInstanceId: Buffer.from('00112233445566778899aabbccddeeff', 'hex'),
    ...opts.pck,
  };
  const pck = await issue({
    cn: 'Intel SGX PCK Certificate',
    key: await keyPair(),
    issuer: pckCa,
    ca: false,
    notBefore: T0,
    notAfter: T_END,
    extraExtensions: [sgxExtension(params)],
  });
  const tcbSigner = await issue({ cn: 'Intel SGX TCB Signing', key: await keyPair(), issuer: root, ca: false, notBefore: T0, notAfter: T_END });
  const next = opts.crlNextUpdate ?? new Date('2025-07-01T00:00:00Z');
  const pckCrl = await makeCrl(pckCa, opts.revokePck ? [pck.serial] : [], new Date('2025-06-01T00:00:00Z'), next, 3);
  const rootCrl = await makeCrl(root, opts.revokePckCa ? [pckCa.serial] : [], new Date('2025-06-01T00:00:00Z'), next, 2);
  return { root, pckCa, pck, tcbSigner, rootSha256: createHash('sha256').update(root.der).digest('hex'), pckCrl, rootCrl };
}

// ----------------------------------------------------------------------------------------------------------------
// Collateral

export const QE_MRSIGNER = Buffer.alloc(32, 0x5a);

export interface TcbInfoParams {
  id?: 'TDX' | 'SGX';
  fmspc?: string;
  issueDate?: string;
  nextUpdate?: string;
  levels?: unknown[];
  tdxModuleIdentities?: unknown[];
  tdxModule?: unknown;
}

const comps = (svns: number[]) => svns.map((svn) => ({ svn }));
const z16 = (head: number[]) => [...head, ...new Array(16 - head.length).fill(0)];

export function tdxLevel(sgx: number[], pcesvn: number, tdx: number[], status: string, advisoryIDs?: string[]): unknown {
  return {
    tcb: { sgxtcbcomponents: comps(z16(sgx)), pcesvn, tdxtcbcomponents: comps(z16(tdx)) },
    tcbDate: '2024-03-13T00:00:00Z',
    tcbStatus: status,
    ...(advisoryIDs ? { advisoryIDs } : {}),
  };
}

export function sgxLevel(sgx: number[], pcesvn: number, status: string, advisoryIDs?: string[]): unknown {
  return { tcb: { sgxtcbcomponents: comps(z16(sgx)), pcesvn }, tcbDate: '2024-03-13T00:00:00Z', tcbStatus: status, ...(advisoryIDs ? { advisoryIDs } : {}) };
}

export function tcbInfoObject(p: TcbInfoParams = {}): Record<string, unknown> {
  const id = p.id ?? 'TDX';
  const o: Record<string, unknown> = {
    id,
    version: 3,
    issueDate: p.issueDate ?? '2025-06-01T00:00:00Z',
    nextUpdate: p.nextUpdate ?? '2025-07-01T00:00:00Z',
    fmspc: p.fmspc ?? '00A06D080000',
    pceId: '0000',
    tcbType: 0,
    tcbEvaluationDataNumber: 17,
  };
  if (id === 'TDX') {
    o.tdxModule = p.tdxModule ?? { mrsigner: '00'.repeat(48), attributes: '0000000000000000', attributesMask: 'FFFFFFFFFFFFFFFF' };
    o.tdxModuleIdentities = p.tdxModuleIdentities ?? [
      {
        id: 'TDX_03',
        mrsigner: '00'.repeat(48),
        attributes: '0000000000000000',
        attributesMask: 'FFFFFFFFFFFFFFFF',
        tcbLevels: [
          { tcb: { isvsvn: 3 }, tcbDate: '2024-03-13T00:00:00Z', tcbStatus: 'UpToDate' },
          { tcb: { isvsvn: 1 }, tcbDate: '2023-03-13T00:00:00Z', tcbStatus: 'OutOfDate', advisoryIDs: ['INTEL-SA-MODULE'] },
        ],
      },
    ];
  }
  o.tcbLevels =
    p.levels ??
    (id === 'TDX'
      ? [tdxLevel([2, 2, 7, 7, 4, 1, 0, 2], 13, [5, 0, 2], 'UpToDate'), tdxLevel([2, 2, 7, 7, 4, 1, 0, 2], 5, [5, 0, 2], 'OutOfDate', ['INTEL-SA-00001'])]
      : [sgxLevel([2, 2, 7, 7, 4, 1, 0, 2], 13, 'UpToDate'), sgxLevel([2, 2, 7, 7, 4, 1, 0, 2], 5, 'OutOfDate', ['INTEL-SA-00001'])]);
  return o;
}

export function qeIdentityObject(p: { id?: 'TD_QE' | 'QE'; issueDate?: string; nextUpdate?: string; levels?: unknown[] } = {}): Record<string, unknown> {
  return {
    id: p.id ?? 'TD_QE',
    version: 2,
    issueDate: p.issueDate ?? '2025-06-01T00:00:00Z',
    nextUpdate: p.nextUpdate ?? '2025-07-01T00:00:00Z',
    tcbEvaluationDataNumber: 17,
    miscselect: '00000000',
    miscselectMask: 'FFFFFFFF',
    attributes: '11000000000000000000000000000000',
    attributesMask: 'FBFFFFFFFFFFFFFF0000000000000000',
    mrsigner: QE_MRSIGNER.toString('hex').toUpperCase(),
    isvprodid: 2,
    tcbLevels: p.levels ?? [
      { tcb: { isvsvn: 4 }, tcbDate: '2024-03-13T00:00:00Z', tcbStatus: 'UpToDate' },
      { tcb: { isvsvn: 2 }, tcbDate: '2023-03-13T00:00:00Z', tcbStatus: 'OutOfDate', advisoryIDs: ['INTEL-SA-QE'] },
    ],
  };
}

/** Intel's response body: `{"<member>":<text>,"signature":"<hex r‖s over text>"}`. `signedText` overrides what is signed. */
export function signedBody(member: string, text: string, signer: Issued, signedText: string = text): string {
  const sig = Buffer.from(signRaw(signer.key, Buffer.from(signedText, 'utf8'))).toString('hex');
  return `{"${member}":${text},"signature":"${sig}"}`;
}

/** A PCS-client-tool collateral file, built as text so the embedded signed members keep their exact bytes. */
export function collateralFile(p: {
  fmspc: string;
  tee: 'tdx' | 'sgx';
  tcbInfoBody: string;
  qeIdentityBody: string;
  tcbChainPem: string;
  qeChainPem: string;
  pckCrl?: Uint8Array;
  rootCrl?: Uint8Array;
}): string {
  const enc = (s: string) => JSON.stringify(encodeURIComponent(s));
  const hexs = (b?: Uint8Array) => JSON.stringify(b ? Buffer.from(b).toString('hex') : '');
  return (
    `{"collaterals":{"tcbinfos":[{"fmspc":${JSON.stringify(p.fmspc)},"${p.tee}_tcbinfo":${p.tcbInfoBody}}],` +
    `"pckcacrl":{"processorCrl":"","platformCrl":${hexs(p.pckCrl)}},` +
    `"${p.tee === 'tdx' ? 'tdqeidentity' : 'qeidentity'}":${p.qeIdentityBody},` +
    `"certificates":{"TCB-Info-Issuer-Chain":${enc(p.tcbChainPem)},"SGX-Enclave-Identity-Issuer-Chain":${enc(p.qeChainPem)},` +
    `"SGX-PCK-Certificate-Issuer-Chain":{"PROCESSOR":"","PLATFORM":""}},` +
    `"rootcacrl":${hexs(p.rootCrl)}}}`
  );
}

// ----------------------------------------------------------------------------------------------------------------
// Quotes

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

export interface QeReportParams {
  mrSigner?: Buffer;
  isvProdId?: number;
  isvSvn?: number;
  attributes?: Buffer;
  miscSelect?: number;
  /** Override the report data (default binds the attestation key). */
  reportData?: Buffer;
}

/** SGX report body: cpu_svn 0, misc 16, attributes 48, mr_enclave 64, mr_signer 128, config_id 192, isv_prod_id 256, isv_svn 258, report_data 320. */
export function sgxReport(p: { mrEnclave?: Buffer; mrSigner?: Buffer; attributes?: Buffer; miscSelect?: number; configId?: Buffer; isvProdId?: number; isvSvn?: number; reportData?: Buffer }): Buffer {
  const b = Buffer.alloc(384);
  b.writeUInt32LE(p.miscSelect ?? 0, 16);
  (p.attributes ?? Buffer.from('11000000000000000700000000000000', 'hex')).copy(b, 48);
  (p.mrEnclave ?? Buffer.alloc(32, 0xe1)).copy(b, 64);
  (p.mrSigner ?? Buffer.alloc(32, 0xe2)).copy(b, 128);
  (p.configId ?? Buffer.alloc(64)).copy(b, 192);
  b.writeUInt16LE(p.isvProdId ?? 0, 256);
  b.writeUInt16LE(p.isvSvn ?? 0, 258);
  (p.reportData ?? Buffer.alloc(64)).copy(b, 320);
  return b;
}

export interface TdBodyParams {
  teeTcbSvn?: Buffer;
  mrSignerSeam?: Buffer;
  seamAttributes?: Buffer;
  tdAttributes?: Buffer;
  mrTd?: Buffer;
  mrConfigId?: Buffer;
  rtmr?: Buffer[];
  reportData?: Buffer;
  teeTcbSvn2?: Buffer;
  mrServiceTd?: Buffer;
}

/** TD report body 1.0 (584 B) or 1.5 (648 B): tee_tcb_svn 0, mr_seam 16, mrsigner_seam 64, seam_attr 112, td_attr 120, xfam 128, mr_td 136, mr_config_id 184, mr_owner 232, mr_owner_config 280, rtmr 328.., report_data 520, tee_tcb_svn2 584, mr_servicetd 600. */
export function tdBody(p: TdBodyParams, tdx15: boolean): Buffer {
  const b = Buffer.alloc(tdx15 ? 648 : 584);
  (p.teeTcbSvn ?? Buffer.from('05030200000000000000000000000000', 'hex')).copy(b, 0);
  Buffer.alloc(48, 0x5e).copy(b, 16);
  (p.mrSignerSeam ?? Buffer.alloc(48)).copy(b, 64);
  (p.seamAttributes ?? Buffer.alloc(8)).copy(b, 112);
  (p.tdAttributes ?? Buffer.from('0000001000000000', 'hex')).copy(b, 120);
  Buffer.from('e702060000000000', 'hex').copy(b, 128);
  (p.mrTd ?? Buffer.alloc(48, 0x7d)).copy(b, 136);
  (p.mrConfigId ?? Buffer.alloc(48)).copy(b, 184);
  const rt = p.rtmr ?? [Buffer.alloc(48, 0xa0), Buffer.alloc(48, 0xa1), Buffer.alloc(48, 0xa2), Buffer.alloc(48, 0xa3)];
  rt.forEach((r, i) => r.copy(b, 328 + 48 * i));
  (p.reportData ?? Buffer.alloc(64, 0x42)).copy(b, 520);
  if (tdx15) {
    (p.teeTcbSvn2 ?? Buffer.from('05030200000000000000000000000000', 'hex')).copy(b, 584);
    (p.mrServiceTd ?? Buffer.alloc(48, 0x55)).copy(b, 600);
  }
  return b;
}

export interface QuoteParams {
  version: 3 | 4 | 5;
  pki: Pki;
  body: Buffer;
  /** v5 body type; default 3 for 648-byte bodies, 2 otherwise. */
  bodyType?: number;
  qe?: QeReportParams;
  attestationKey?: KeyPair;
  /** Sign the quote with this key instead of the attestation key. */
  quoteSigner?: KeyPair;
  /** Chain PEM to embed (default PCK ‖ PCK CA ‖ root). */
  chainPem?: string;
}

export async function makeQuote(p: QuoteParams): Promise<Buffer> {
  const ak = p.attestationKey ?? (await keyPair());
  const header = Buffer.alloc(48);
  header.writeUInt16LE(p.version, 0);
  header.writeUInt16LE(2, 2);
  if (p.version !== 3) header.writeUInt32LE(0x81, 4);
  else {
    header.writeUInt16LE(7, 8); // qe_svn
    header.writeUInt16LE(13, 10); // pce_svn
  }
  Buffer.from('939a7233f79c4ca9940a0db3957f0607', 'hex').copy(header, 12);
  const bodyPart =
    p.version === 5 ? Buffer.concat([u16(p.bodyType ?? (p.body.length === 648 ? 3 : 2)), u32(p.body.length), p.body]) : p.body;
  const signed = Buffer.concat([header, bodyPart]);
  const qeAuth = Buffer.alloc(32, 0x0a);
  const binding = Buffer.concat([createHash('sha256').update(ak.raw64).update(qeAuth).digest(), Buffer.alloc(32)]);
  const qe = p.qe ?? {};
  const qeReport = sgxReport({
    mrSigner: qe.mrSigner ?? QE_MRSIGNER,
    isvProdId: qe.isvProdId ?? 2,
    isvSvn: qe.isvSvn ?? 7,
    attributes: qe.attributes ?? Buffer.from('11000000000000000700000000000000', 'hex'),
    miscSelect: qe.miscSelect ?? 0,
    reportData: qe.reportData ?? binding,
  });
  const qeSig = signRaw(p.pki.pck.key, qeReport);
  const chain = Buffer.from(p.chainPem ?? p.pki.pck.pem + p.pki.pckCa.pem + p.pki.root.pem, 'latin1');
  const type5 = Buffer.concat([u16(5), u32(chain.length), chain]);
  const qeBlock = Buffer.concat([qeReport, qeSig, u16(qeAuth.length), qeAuth, type5]);
  const quoteSig = signRaw(p.quoteSigner ?? ak, signed);
  const sigData =
    p.version === 3
      ? Buffer.concat([quoteSig, ak.raw64, qeBlock])
      : Buffer.concat([quoteSig, ak.raw64, u16(6), u32(qeBlock.length), qeBlock]);
  return Buffer.concat([signed, u32(sigData.length), sigData]);
}
