// The Helm chart (deploy/helm/keybroker). There is no `helm` binary here, so: Chart.yaml and values.yaml parse,
// every `.Values.x.y` a template uses exists in values.yaml, template blocks are balanced, every `include` has a
// `define`, and the KBS config the chart renders — through a tiny interpreter for the few template forms the
// ConfigMap uses — is accepted by the KBS config loader in the chart's main scenarios.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parse as parseToml } from 'smol-toml';
import { parseKbsConfig } from '../../src/kbs/config.js';
import { parseAsConfig } from '../../src/as/config.js';
import { repoRoot } from '../support/testdata.js';
import { CHART_DIR, listFiles } from './support.js';

type Values = Record<string, unknown>;

const chart = parseYaml(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
const values = parseYaml(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as Values;
const templateFiles = listFiles(join(CHART_DIR, 'templates'), ['.yaml', '.tpl', '.txt']);
const templates = new Map(templateFiles.map((f) => [basename(f), readFileSync(f, 'utf8')]));

/** The `{{ … }}` actions of a template, comments dropped, trim markers removed. */
function actions(text: string): string[] {
  return [...text.matchAll(/\{\{(-?)([\s\S]*?)(-?)\}\}/g)].map((m) => m[2]!.trim()).filter((a) => !a.startsWith('/*'));
}

function lookup(v: unknown, path: string[]): { found: boolean; value: unknown } {
  let cur = v;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, p)) return { found: false, value: undefined };
    cur = (cur as Values)[p];
  }
  return { found: true, value: cur };
}

test('Chart.yaml: apiVersion v2, name keybroker, appVersion = package.json version', () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  assert.equal(chart.apiVersion, 'v2');
  assert.equal(chart.name, 'keybroker');
  assert.equal(chart.type, 'application');
  assert.match(String(chart.version), /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
  assert.equal(chart.appVersion, pkg.version);
});

test('values.yaml parses and its defaults are a valid single-instance setup', () => {
  assert.equal(values.replicaCount, 1);
  assert.equal(lookup(values, ['storage', 'type']).value, 'localFs');
  assert.equal(lookup(values, ['sessions', 'type']).value, '');
  assert.equal(lookup(values, ['kbs', 'port']).value, 8080);
  // Secrets have no defaults.
  for (const p of ['admin.publicKey', 'tokenSigner.privateKey', 'storage.postgres.bundled.password', 'sessions.redis.bundled.password'])
    assert.equal(lookup(values, p.split('.')).value, '', p);
  assert.equal(lookup(values, ['securityContext', 'readOnlyRootFilesystem']).value, true);
  assert.equal(lookup(values, ['podSecurityContext', 'runAsNonRoot']).value, true);
});

test('every .Values.x.y referenced in a template exists in values.yaml', () => {
  let count = 0;
  for (const [name, text] of templates) {
    for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
      count++;
      const path = m[1]!.slice(1).split('.');
      assert.ok(lookup(values, path).found, `${name}: .Values.${path.join('.')} is not in values.yaml`);
    }
  }
  assert.ok(count > 50, `found ${count} references`);
});

test('template blocks are balanced and every include has a define', () => {
  const defines = new Set<string>();
  for (const [name, text] of templates) {
    let depth = 0;
    for (const a of actions(text)) {
      if (/^(if|range|with|define|block)\b/.test(a)) depth++;
      else if (a === 'end') depth--;
      assert.ok(depth >= 0, `${name}: unexpected {{ end }}`);
      const d = /^define\s+"([^"]+)"/.exec(a);
      if (d) defines.add(d[1]!);
    }
    assert.equal(depth, 0, `${name}: unclosed block`);
    assert.equal((text.match(/\{\{/g) ?? []).length, (text.match(/\}\}/g) ?? []).length, `${name}: {{ and }} pair up`);
  }
  for (const [name, text] of templates) {
    for (const m of text.matchAll(/include\s+"([^"]+)"/g)) assert.ok(defines.has(m[1]!), `${name}: include "${m[1]}" has no define`);
  }
});

test('the KBS port, probes and Service follow the values; the config and secrets are mounted where the config says', () => {
  const dep = templates.get('deployment.yaml')!;
  assert.match(dep, /containerPort: \{\{ \.Values\.kbs\.port \}\}/);
  assert.equal((dep.match(/path: \/healthz\n\s+port: http\n/g) ?? []).length, 1, 'liveness GETs /healthz on the http port');
  assert.match(dep, /readinessProbe:\n(?:\s+#.*\n)?\s+httpGet:\n\s+path: \/readyz\n\s+port: http\n/, 'readiness GETs /readyz on the http port');
  assert.match(dep, /args: \["--config-file", "\/etc\/kbs\/config\/kbs-config\.toml"\]/);
  for (const mount of ['/etc/kbs/config', '/etc/kbs/admin', '/etc/kbs/signer', '/etc/kbs/tls', '/data', '/tmp'])
    assert.ok(dep.includes(`mountPath: ${mount}\n`), `mounts ${mount}`);
  for (const item of ['admin-public-key.pem', 'token-signer-key.pem', 'token-signer-cert.pem']) assert.ok(dep.includes(`path: ${item}`));
  assert.match(dep, /name: POSTGRES_URL\n\s+valueFrom:\n\s+secretKeyRef:/);
  assert.match(dep, /name: REDIS_URL\n\s+valueFrom:\n\s+secretKeyRef:/);
  const svc = templates.get('service.yaml')!;
  assert.match(svc, /targetPort: http\n/);
});

/** The literal keys a `define` emits (following nested includes), for label maps. */
function helperKeys(name: string): string[] {
  const helpers = templates.get('_helpers.tpl')!;
  const m = new RegExp(`\\{\\{-? define "${name.replaceAll('.', '\\.')}" -?\\}\\}([\\s\\S]*?)\\{\\{-? end -?\\}\\}`).exec(helpers);
  assert.ok(m, `define ${name}`);
  return m[1]!.split('\n').flatMap((l) => {
    const inc = /^\{\{\s*include "([^"]+)" \. \}\}$/.exec(l.trim());
    if (inc) return helperKeys(inc[1]!);
    const key = /^([A-Za-z0-9./_-]+):/.exec(l.trim());
    return key ? [key[1]!] : [];
  });
}

test('no label map gets the same key twice (literal keys plus included helpers)', () => {
  const indent = (l: string) => l.length - l.trimStart().length;
  let maps = 0;
  for (const [name, text] of templates) {
    if (!name.endsWith('.yaml')) continue;
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      if (!/^\s*(labels|matchLabels|selector):\s*$/.test(line)) return;
      const keys: string[] = [];
      let child = -1;
      for (const l of lines.slice(i + 1)) {
        if (l.trim() === '') continue;
        if (indent(l) <= indent(line)) break;
        if (child < 0) child = indent(l);
        if (indent(l) !== child) continue;
        const inc = /include "([^"]+)" \. \| nindent/.exec(l);
        if (inc) keys.push(...helperKeys(inc[1]!));
        else if (/^\s*[A-Za-z0-9./_-]+:/.test(l) && !l.includes('{{-')) keys.push(l.trim().split(':')[0]!);
      }
      maps++;
      assert.equal(new Set(keys).size, keys.length, `${name}:${i + 1}: duplicate label key in ${keys.join(', ')}`);
    });
  }
  assert.ok(maps >= 10, `checked ${maps} label maps`);
  // The KBS Service and Deployment select the pods by labels the pods carry.
  const podKeys = new Set(helperKeys('keybroker.kbsLabels'));
  for (const k of helperKeys('keybroker.selectorLabels')) assert.ok(podKeys.has(k), `pods carry ${k}`);
});

// ------------------------------------------------------------------------ rendering the KBS config

/** The helpers the ConfigMap includes, restated (the test checks the TOML they lead to, not Helm itself). */
function helper(name: string, v: Values): string {
  const get = (p: string) => lookup(v, p.split('.')).value;
  switch (name) {
    case 'keybroker.validate':
      return '';
    case 'keybroker.fullname':
      return 'rel-keybroker';
    case 'keybroker.postgresHost':
      return 'rel-keybroker-postgres';
    case 'keybroker.redisHost':
      return 'rel-keybroker-redis';
    case 'keybroker.hasSigner':
      return get('tokenSigner.privateKey') || get('tokenSigner.existingSecret') ? 'true' : '';
    case 'keybroker.hasSignerCert':
      return get('tokenSigner.certificate') || (get('tokenSigner.existingSecret') && get('tokenSigner.hasCertificate')) ? 'true' : '';
    default:
      throw new Error(`helper ${name} not modelled`);
  }
}

/** A term or pipeline of the forms the ConfigMap uses: `.Values.a.b`, `"lit"`, `include "x" .`, `eq A B`, `| quote`. */
function evaluate(expr: string, v: Values): unknown {
  const [head, ...pipes] = expr.split('|').map((s) => s.trim());
  let out: unknown;
  const term = (t: string): unknown => {
    if (t.startsWith('.Values.')) return lookup(v, t.slice(8).split('.')).value;
    if (/^"[^"]*"$/.test(t)) return t.slice(1, -1);
    throw new Error(`term not modelled: ${t}`);
  };
  let m: RegExpExecArray | null;
  if ((m = /^include\s+"([^"]+)"\s+\.$/.exec(head!))) out = helper(m[1]!, v);
  else if ((m = /^eq\s+(\S+)\s+(\S+)$/.exec(head!))) out = term(m[1]!) === term(m[2]!);
  else out = term(head!);
  for (const p of pipes) {
    if (p === 'quote') out = JSON.stringify(String(out));
    else throw new Error(`pipe not modelled: ${p}`);
  }
  return out;
}

const truthy = (x: unknown) => !(x === undefined || x === null || x === false || x === '' || x === 0);

/** Renders the ConfigMap's `kbs-config.toml` block (Go-template trim markers, if/else/end, output actions). */
function renderKbsConfig(v: Values): string {
  const text = templates.get('configmap.yaml')!;
  const start = text.indexOf('kbs-config.toml: |\n');
  assert.ok(start >= 0);
  const body = text.slice(start + 'kbs-config.toml: |\n'.length);
  let out = '';
  const stack: { active: boolean; taken: boolean }[] = [];
  const active = () => stack.every((s) => s.active);
  let trimNext = false;
  let last = 0;
  for (const m of body.matchAll(/\{\{(-?)\s*([\s\S]*?)\s*(-?)\}\}/g)) {
    let textPart = body.slice(last, m.index);
    if (trimNext) textPart = textPart.replace(/^\s+/, '');
    if (m[1]) textPart = textPart.replace(/\s+$/, '');
    if (active()) out += textPart;
    const a = m[2]!;
    if (a.startsWith('if ')) {
      const cond = active() && truthy(evaluate(a.slice(3), v));
      stack.push({ active: cond, taken: cond });
    } else if (a === 'else') {
      const top = stack.at(-1)!;
      top.active = !top.taken;
      top.taken = true;
    } else if (a === 'end') stack.pop();
    else if (active()) out += String(evaluate(a, v));
    trimNext = m[3] === '-';
    last = m.index + m[0].length;
  }
  out += trimNext ? body.slice(last).replace(/^\s+/, '') : body.slice(last);
  assert.equal(stack.length, 0);
  // Un-indent the YAML block scalar (4 spaces).
  return out
    .split('\n')
    .map((l) => (l.startsWith('    ') ? l.slice(4) : l.trim() === '' ? '' : assert.fail(`line not in the block scalar: ${l}`)))
    .join('\n');
}

function withValues(overrides: Record<string, unknown>): Values {
  const v = structuredClone(values);
  for (const [path, value] of Object.entries(overrides)) {
    const parts = path.split('.');
    let cur = v as Values;
    for (const p of parts.slice(0, -1)) cur = cur[p] as Values;
    assert.ok(Object.hasOwn(cur, parts.at(-1)!), `${path} exists in values.yaml`);
    cur[parts.at(-1)!] = value;
  }
  return v;
}

const PEM = '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n';

test('rendered config, defaults: one instance on local files, embedded-free admin from the Secret, plain HTTP named', () => {
  const toml = renderKbsConfig(withValues({ 'admin.publicKey': PEM }));
  const cfg = parseKbsConfig(parseToml(toml), { KBS_DATA_DIR: '/data' });
  assert.equal(cfg.storage.storageType, 'LocalFs');
  assert.equal(cfg.storage.backends.localFs.dirPath, '/data/storage');
  assert.equal(cfg.sessionStorageType, undefined);
  assert.deepEqual(cfg.httpServer.sockets, [{ host: '0.0.0.0', port: 8080 }]);
  assert.equal(cfg.httpServer.insecureHttp, true);
  assert.equal(cfg.admin.mode, 'AuthenticatedAuthorization');
  if (cfg.admin.mode === 'AuthenticatedAuthorization') {
    assert.deepEqual(cfg.admin.identityProviders, [{ issuer: 'kbs-client-keygen', audience: 'keybroker-admin', publicKeyUri: '/etc/kbs/admin/admin-public-key.pem' }]);
    assert.deepEqual(cfg.admin.acls, [{ role: 'admin', allowedEndpoints: '^/kbs/v0/.+$' }]);
  }
  // No signer given: the AS keeps its key on the volume (the chart refuses replicaCount > 1 in that case).
  assert.equal(parseAsConfig(cfg.attestationService!.asConfig, 'attestation_service').tokenBroker.signer, undefined);
});

test('rendered config, several replicas: Postgres + Redis, URLs from env, shared signer key and certificate', () => {
  const toml = renderKbsConfig(
    withValues({
      replicaCount: 3,
      'storage.type': 'postgres',
      'sessions.type': 'redis',
      'admin.publicKey': PEM,
      'tokenSigner.privateKey': 'x',
      'tokenSigner.certificate': 'y',
      'kbs.port': 9443,
      'kbs.sessionTimeoutMinutes': 10,
    }),
  );
  const env = { KBS_DATA_DIR: '/data', POSTGRES_URL: 'postgres://keybroker:pw@db:5432/keybroker', REDIS_URL: 'redis://:pw@cache:6379' };
  const cfg = parseKbsConfig(parseToml(toml), env);
  assert.equal(cfg.storage.storageType, 'Postgres');
  assert.equal(cfg.sessionStorageType, 'Redis');
  assert.equal(cfg.storage.backends.postgres.url, env.POSTGRES_URL);
  assert.equal(cfg.storage.backends.postgres.host, 'rel-keybroker-postgres');
  assert.equal(cfg.storage.backends.redis.url, env.REDIS_URL);
  assert.deepEqual(cfg.httpServer.sockets, [{ host: '0.0.0.0', port: 9443 }]);
  assert.equal(cfg.attestationService?.timeoutMin, 10);
  const as = parseAsConfig(cfg.attestationService!.asConfig, 'attestation_service');
  assert.deepEqual(as.tokenBroker.signer, { keyPath: '/etc/kbs/signer/token-signer-key.pem', certPath: '/etc/kbs/signer/token-signer-cert.pem' });
  // Without bundled Redis/Postgres, the TOML fields are not rendered; the env URLs still apply.
  const ext = parseKbsConfig(
    parseToml(renderKbsConfig(withValues({ 'storage.type': 'postgres', 'storage.postgres.bundled.enabled': false, 'admin.publicKey': PEM }))),
    env,
  );
  assert.equal(ext.storage.backends.postgres.url, env.POSTGRES_URL);
});

test('rendered config, TLS: key and certificate from the TLS Secret mount, no insecure_http', () => {
  const toml = renderKbsConfig(withValues({ 'tls.enabled': true, 'tls.secretName': 'kbs-tls', 'tls.profile': 'modern', 'admin.publicKey': PEM }));
  const cfg = parseKbsConfig(parseToml(toml), { KBS_DATA_DIR: '/data' });
  assert.equal(cfg.httpServer.insecureHttp, false);
  assert.equal(cfg.httpServer.privateKeyPath, '/etc/kbs/tls/tls.key');
  assert.equal(cfg.httpServer.certificatePath, '/etc/kbs/tls/tls.crt');
  assert.equal(cfg.httpServer.tls.minVersion, '1.3');
  assert.deepEqual(cfg.warnings, []);
});

test('the chart refuses unsafe or broken values (validate helper)', () => {
  const helpers = templates.get('_helpers.tpl')!;
  const validate = helpers.slice(helpers.indexOf('define "keybroker.validate"'));
  // Each rule names the values to set; these are the ones multi-replica safety depends on.
  for (const rule of [
    /and \(eq \$st "localFs"\) \(gt \(int \.Values\.replicaCount\) 1\)/,
    /and \(gt \(int \.Values\.replicaCount\) 1\) \(not \(include "keybroker\.hasSigner" \.\)\)/,
    /not \(or \.Values\.admin\.publicKey \.Values\.admin\.existingSecret\)/,
    /and \.Values\.tls\.enabled \(not \.Values\.tls\.secretName\)/,
  ])
    assert.match(validate, rule);
  assert.match(templates.get('configmap.yaml')!, /^\{\{- include "keybroker\.validate" \. -\}\}/);
});
