// Test-only AMD-shaped PKI: our own ARK/ASK/ASVK (RSASSA-PSS SHA-384, salt 48), VCEKs/VLEKs with AMD's TCB, hwID and
// product-name extensions, CRLs signed by the ARK, and P-384-signed SNP reports. Nothing here is AMD's.
import { webcrypto, KeyObject, sign as cryptoSign, createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import 'reflect-metadata'; // @peculiar/x509 needs Reflect metadata
import * as x509 from '@peculiar/x509';
import * as asn1js from 'asn1js';
import { serializeReport, encodeTcb, SIGNED_LENGTH, type AttestationReport, type Generation, type TcbVersion } from '../../../src/verifiers/snp/layout.js';
import { AMD_OID, derToPem } from '../../../src/verifiers/snp/certs.js';

x509.cryptoProvider.set(webcrypto as never);
const subtle = webcrypto.subtle;
export const PSS = { name: 'RSA-PSS', hash: 'SHA-384', saltLength: 48 } as const;

const rsaKeys = () => subtle.generateKey({ name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-384' }, true, ['sign', 'verify']) as Promise<webcrypto.CryptoKeyPair>;
const ecKeys = () => subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify']) as Promise<webcrypto.CryptoKeyPair>;

const der = (c: x509.X509Certificate | x509.X509Crl) => new Uint8Array(c.rawData);
const int = (n: number) => new Uint8Array(new asn1js.Integer({ value: n }).toBER());
const ia5 = (s: string) => new Uint8Array(new asn1js.IA5String({ value: s }).toBER());
const octets = (b: Uint8Array) => new Uint8Array(new asn1js.OctetString({ valueHex: b }).toBER());

const NB = new Date('2020-01-01T00:00:00Z');
const NA = new Date('2040-01-01T00:00:00Z');

export interface Ca { key: webcrypto.CryptoKeyPair; cert: x509.X509Certificate; der: Uint8Array }

export interface AmdPki {
  gen: Generation;
  ark: Ca;
  ask: Ca;
  asvk: Ca;
  /** The ARK's SHA-256, to inject as the pin. */
  arkSha256: string;
}

export async function makePki(gen: Generation): Promise<AmdPki> {
  const arkKey = await rsaKeys();
  const arkName = `CN=ARK-${gen}, O=Test Not AMD`;
  const arkCert = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '01', name: arkName, notBefore: NB, notAfter: NA, keys: arkKey, signingAlgorithm: PSS });
  const sub = async (cn: string, serial: string): Promise<Ca> => {
    const key = await rsaKeys();
    const cert = await x509.X509CertificateGenerator.create({ serialNumber: serial, subject: `CN=${cn}, O=Test Not AMD`, issuer: arkCert.subject, notBefore: NB, notAfter: NA, publicKey: key.publicKey, signingKey: arkKey.privateKey, signingAlgorithm: PSS });
    return { key, cert, der: der(cert) };
  };
  const ark = { key: arkKey, cert: arkCert, der: der(arkCert) };
  return { gen, ark, ask: await sub(`SEV-${gen}`, '0100'), asvk: await sub(`SEV-VLEK-${gen}`, '0200'), arkSha256: createHash('sha256').update(ark.der).digest('hex') };
}

export interface VekOptions {
  kind?: 'vcek' | 'vlek';
  tcb: TcbVersion;
  hwid?: Uint8Array;
  hwidEncoding?: 'raw' | 'octet';
  product?: string;
  /** Signing CA; defaults to ASK for a VCEK and ASVK for a VLEK. */
  issuer?: Ca;
  notBefore?: Date;
  notAfter?: Date;
  /** Override the signature algorithm (to test parameter checks). */
  signingAlgorithm?: { name: string; hash: string; saltLength: number };
}

export interface Vek { der: Uint8Array; signingKey: KeyObject }

export async function makeVek(pki: AmdPki, o: VekOptions): Promise<Vek> {
  const kind = o.kind ?? 'vcek';
  const key = await ecKeys();
  const exts: x509.Extension[] = [
    new x509.Extension(AMD_OID.structVersion, false, int(0)),
    new x509.Extension(AMD_OID.productName, false, ia5(o.product ?? pki.gen)),
    new x509.Extension(AMD_OID.blSpl, false, int(o.tcb.bootloader)),
    new x509.Extension(AMD_OID.teeSpl, false, int(o.tcb.tee)),
    new x509.Extension(AMD_OID.snpSpl, false, int(o.tcb.snp)),
    new x509.Extension(AMD_OID.ucodeSpl, false, int(o.tcb.microcode)),
  ];
  if (o.tcb.fmc !== undefined) exts.push(new x509.Extension(AMD_OID.fmcSpl, false, int(o.tcb.fmc)));
  if (kind === 'vcek' && o.hwid) exts.push(new x509.Extension(AMD_OID.hwid, false, o.hwidEncoding === 'octet' ? octets(o.hwid) : o.hwid));
  const issuer = o.issuer ?? (kind === 'vcek' ? pki.ask : pki.asvk);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '00', // AMD VCEKs/VLEKs have serial 0
    subject: `CN=${kind === 'vcek' ? 'SEV-VCEK' : 'SEV-VLEK'}, O=Test Not AMD`,
    issuer: issuer.cert.subject,
    notBefore: o.notBefore ?? new Date('2024-01-01T00:00:00Z'),
    notAfter: o.notAfter ?? new Date('2031-01-01T00:00:00Z'),
    publicKey: key.publicKey,
    signingKey: issuer.key.privateKey,
    signingAlgorithm: o.signingAlgorithm ?? PSS,
    extensions: exts,
  });
  return { der: der(cert), signingKey: KeyObject.from(key.privateKey) };
}

export async function makeCrl(pki: AmdPki, o: { revokedSerials?: string[]; thisUpdate?: Date; nextUpdate?: Date; signer?: webcrypto.CryptoKey }): Promise<Uint8Array> {
  const crl = await x509.X509CrlGenerator.create({
    issuer: pki.ark.cert.subject,
    thisUpdate: o.thisUpdate ?? new Date('2025-05-01T00:00:00Z'),
    nextUpdate: o.nextUpdate ?? new Date('2025-07-01T00:00:00Z'),
    entries: (o.revokedSerials ?? []).map((s) => ({ serialNumber: s, revocationDate: new Date('2025-01-01T00:00:00Z') })),
    signingAlgorithm: PSS,
    signingKey: o.signer ?? pki.ark.key.privateKey,
  });
  return der(crl);
}

/** A report template; tests override fields. */
export function reportFields(gen: Generation, tcb: TcbVersion, over: Partial<AttestationReport> = {}): AttestationReport {
  const raw = encodeTcb(tcb, gen);
  const cpuid = gen === 'Milan' ? { family: 0x19, model: 0x01, stepping: 1 } : gen === 'Genoa' ? { family: 0x19, model: 0x11, stepping: 1 } : { family: 0x1a, model: 0x02, stepping: 0 };
  return {
    version: 3, guestSvn: 1, policy: 0x30000n, familyId: new Uint8Array(16), imageId: new Uint8Array(16), vmpl: 0, sigAlgo: 1,
    currentTcb: raw, platformInfo: 1n, keyInfo: 0, reportData: new Uint8Array(64), measurement: new Uint8Array(48).fill(0xaa),
    hostData: new Uint8Array(32), idKeyDigest: new Uint8Array(48), authorKeyDigest: new Uint8Array(48), reportId: new Uint8Array(32).fill(7),
    reportIdMa: new Uint8Array(32).fill(0xff), reportedTcb: raw, cpuid, chipId: new Uint8Array(64).fill(0x5c), committedTcb: raw,
    currentVersion: { major: 1, minor: 55, build: 40 }, committedVersion: { major: 1, minor: 55, build: 40 }, launchTcb: raw,
    launchMitVector: null, currentMitVector: null, signatureR: new Uint8Array(72), signatureS: new Uint8Array(72), ...over,
  };
}

/** Serializes and signs with ECDSA P-384; r and s written little-endian into 72-byte fields. */
export function signReport(fields: AttestationReport, key: KeyObject): Uint8Array {
  const bytes = serializeReport(fields);
  const sig = cryptoSign('sha384', bytes.subarray(0, SIGNED_LENGTH), { key, dsaEncoding: 'ieee-p1363' });
  const r = Uint8Array.from(sig.subarray(0, 48)).reverse();
  const s = Uint8Array.from(sig.subarray(48, 96)).reverse();
  bytes.set(r, 0x2a0);
  bytes.fill(0, 0x2a0 + 48, 0x2a0 + 72);
  bytes.set(s, 0x2e8);
  bytes.fill(0, 0x2e8 + 48, 0x2e8 + 72);
  return bytes;
}

/** A trust_anchors_dir holding `{gen}_ask_ark_asvk.pem` (and optional CRLs). */
export function anchorsDir(pkis: AmdPki[], crls: Record<string, Uint8Array> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'snp-anchors-'));
  for (const p of pkis) writeFileSync(join(dir, `${p.gen.toLowerCase()}_ask_ark_asvk.pem`), [p.ask.der, p.ark.der, p.asvk.der].map((d) => derToPem(d)).join(''));
  for (const [name, d] of Object.entries(crls)) writeFileSync(join(dir, name), d);
  return dir;
}

export function evidenceOf(report: Uint8Array, certs: [string, Uint8Array][]) {
  return { attestation_report: Buffer.from(report).toString('base64'), cert_chain: certs.map(([t, d]) => ({ cert_type: t, data: [...d] })) };
}
