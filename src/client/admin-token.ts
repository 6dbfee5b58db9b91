/**
 * Admin credentials on the client side:
 * - `resolveAdminToken`: where the bearer token for admin calls comes from (contract with the KBS engineer):
 *   `--admin-token-file`, else env `KBS_ADMIN_TOKEN_FILE`, else `$KBS_DATA_DIR/admin-token`, else
 *   `./kbs-data/admin-token`, else Trustee's `./kbs/config/docker-compose/admin-token`, else
 *   `~/.trustee/admin-token`, else anonymous. A file named explicitly (flag or env) must exist; the others are
 *   probed.
 * - `generateAdminCredentials` / `writeAdminCredentials`: `kbs-client keygen`, an Ed25519 key pair and an EdDSA
 *   token (claims `iss`, `aud`, `role`, `iat`, `exp`, as Trustee's test tokens, specs/trustee.md §6.2).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { SignJWT } from 'jose';
import { KbsClientError, reason } from './errors.js';

export interface AdminTokenSource {
  /** Value of `--admin-token-file`, if given. */
  flag?: string;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Home directory (`os.homedir()`), if known. */
  home?: string;
}

export interface ResolvedAdminToken {
  token: string;
  file: string;
}

export function adminTokenCandidates(src: AdminTokenSource): { file: string; explicit: boolean }[] {
  const out: { file: string; explicit: boolean }[] = [];
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(src.cwd, p));
  if (src.flag !== undefined) return [{ file: abs(src.flag), explicit: true }];
  if (src.env.KBS_ADMIN_TOKEN_FILE) return [{ file: abs(src.env.KBS_ADMIN_TOKEN_FILE), explicit: true }];
  if (src.env.KBS_DATA_DIR) out.push({ file: join(abs(src.env.KBS_DATA_DIR), 'admin-token'), explicit: false });
  out.push({ file: abs('kbs-data/admin-token'), explicit: false });
  out.push({ file: abs('kbs/config/docker-compose/admin-token'), explicit: false });
  if (src.home) out.push({ file: join(src.home, '.trustee', 'admin-token'), explicit: false });
  return out;
}

/** `undefined` means anonymous (no Authorization header). */
export function resolveAdminToken(src: AdminTokenSource): ResolvedAdminToken | undefined {
  for (const { file, explicit } of adminTokenCandidates(src)) {
    if (!explicit && !existsSync(file)) continue;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new KbsClientError('input', 'ERR_INPUT', `cannot read admin token file ${file}: ${reason(e)}`);
    }
    const token = text.trim();
    if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(token)) {
      throw new KbsClientError('input', 'ERR_INPUT', `admin token file ${file} does not hold a compact JWT`);
    }
    return { token, file };
  }
  return undefined;
}

export interface AdminKeygenOptions {
  issuer: string;
  audience: string;
  role: string;
  days: number;
  now: Date;
}

export interface AdminCredentials {
  privateKeyPem: string;
  publicKeyPem: string;
  token: string;
}

export async function generateAdminCredentials(opts: AdminKeygenOptions): Promise<AdminCredentials> {
  if (!Number.isInteger(opts.days) || opts.days < 1 || opts.days > 3650) {
    throw new KbsClientError('input', 'ERR_INPUT', '--days must be an integer from 1 to 3650');
  }
  for (const [name, v] of [['issuer', opts.issuer], ['audience', opts.audience], ['role', opts.role]] as const) {
    if (v.length === 0) throw new KbsClientError('input', 'ERR_INPUT', `--${name} must not be empty`);
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const iat = Math.floor(opts.now.getTime() / 1000);
  const token = await new SignJWT({ role: opts.role })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
    .setIssuer(opts.issuer)
    .setAudience(opts.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + opts.days * 86400)
    .sign(privateKey);
  return {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    token,
  };
}

export const ADMIN_FILES = { privateKey: 'admin-key.pem', publicKey: 'admin-key.pub.pem', token: 'admin-token' } as const;

export interface WrittenAdminFiles {
  privateKey: string;
  publicKey: string;
  token: string;
}

/**
 * Writes the three files into `dir`. Refuses to replace existing files unless `overwrite`; all files are written
 * to temporaries first and renamed at the end, so a failure leaves no partial set behind.
 */
export function writeAdminCredentials(dir: string, creds: AdminCredentials, overwrite: boolean): WrittenAdminFiles {
  const paths: WrittenAdminFiles = {
    privateKey: join(dir, ADMIN_FILES.privateKey),
    publicKey: join(dir, ADMIN_FILES.publicKey),
    token: join(dir, ADMIN_FILES.token),
  };
  if (!existsSync(dir)) throw new KbsClientError('input', 'ERR_INPUT', `output directory ${dir} does not exist`);
  if (!overwrite) {
    for (const p of Object.values(paths)) {
      if (existsSync(p)) throw new KbsClientError('keygen', 'ERR_KEYGEN', `${p} already exists (use --force to replace it)`);
    }
  }
  const plan: [string, string, number][] = [
    [paths.privateKey, creds.privateKeyPem, 0o600],
    [paths.publicKey, creds.publicKeyPem, 0o644],
    [paths.token, creds.token + '\n', 0o600],
  ];
  const suffix = `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const temps: string[] = [];
  try {
    for (const [p, content, mode] of plan) {
      const tmp = p + suffix;
      writeFileSync(tmp, content, { mode, flag: 'wx' });
      temps.push(tmp);
    }
    for (const [p] of plan) renameSync(p + suffix, p);
  } catch (e) {
    for (const t of temps) {
      try {
        unlinkSync(t);
      } catch {
        /* already renamed or gone */
      }
    }
    throw new KbsClientError('keygen', 'ERR_KEYGEN', `cannot write admin credentials to ${dir}: ${reason(e)}`);
  }
  return paths;
}

/** The KBS `[admin]` section that trusts the generated key (Trustee's format, specs/trustee.md §6.2). */
export function adminConfigSnippet(opts: { issuer: string; audience: string; role: string; publicKeyPath: string }): string {
  const q = (s: string) => JSON.stringify(s); // JSON string escapes are valid TOML basic strings
  return [
    '[admin]',
    'authorization_mode = "AuthenticatedAuthorization"',
    '',
    '[admin.authentication.bearer_jwt]',
    'identity_providers = [',
    `    { issuer = ${q(opts.issuer)}, audience = ${q(opts.audience)}, public_key_uri = ${q(opts.publicKeyPath)} },`,
    ']',
    '',
    '[admin.authorization.regex_acl]',
    `acls = [{ role = ${q(opts.role)}, allowed_endpoints = "^/kbs/.+$" }]`,
    '',
  ].join('\n');
}
