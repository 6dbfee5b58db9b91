// The Kubernetes manifests (deploy/kubernetes) and the Dockerfile: parsed, then checked for the fields the
// deployment relies on — ports, probes, secrets, the KBS config the pods read, and the hardening.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { defaultKbsConfig, loadConfigFile, parseKbsConfig } from '../../src/kbs/config.js';
import { parseAsConfig } from '../../src/as/config.js';
import { repoRoot } from '../support/testdata.js';
import { at, dockerInstructions, find, K8S_DIR, listFiles, loadManifests, type K8sObject } from './support.js';

const NS = 'keybroker';
const objects = loadManifests(K8S_DIR);

interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } } }[];
  readinessProbe?: Record<string, unknown>;
  livenessProbe?: Record<string, unknown>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface Volume {
  name: string;
  configMap?: { name: string; items?: { key: string; path: string }[] };
  secret?: { secretName: string; items?: { key: string; path: string }[] };
  emptyDir?: Record<string, unknown>;
  persistentVolumeClaim?: unknown;
}
interface PodSpec {
  containers: Container[];
  volumes?: Volume[];
  securityContext?: Record<string, unknown>;
}

const workloads = objects.filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind));
const podSpec = (w: K8sObject): PodSpec => at<PodSpec>(w, 'spec', 'template', 'spec');
const kbsDeployment = find(objects, 'Deployment', 'keybroker');
const kbsPod = podSpec(kbsDeployment);
const kbsContainer = kbsPod.containers[0]!;
const kbsService = find(objects, 'Service', 'keybroker');
const kbsSecret = find(objects, 'Secret', 'keybroker-kbs');
const configMap = find(objects, 'ConfigMap', 'keybroker-kbs-config');

function secretData(s: K8sObject): Record<string, string> {
  const out: Record<string, string> = { ...((s.stringData as Record<string, string>) ?? {}) };
  for (const [k, v] of Object.entries((s.data as Record<string, string>) ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  return out;
}

/** A probe's or Service's port, by number or by the container's port name. */
function resolvePort(c: Container, port: number | string): number {
  if (typeof port === 'number') return port;
  const p = c.ports?.find((x) => x.name === port);
  assert.ok(p, `container ${c.name} has no port named ${port}`);
  return p.containerPort;
}

function mountOf(c: Container, volume: string): string {
  const m = c.volumeMounts?.find((v) => v.name === volume);
  assert.ok(m, `container ${c.name} does not mount ${volume}`);
  return m.mountPath;
}

/** The file a path inside the container comes from: [volume, key inside the ConfigMap/Secret]. */
function fileSource(pod: PodSpec, c: Container, path: string): { volume: Volume; key: string } {
  for (const m of c.volumeMounts ?? []) {
    if (!path.startsWith(m.mountPath + '/')) continue;
    const rel = path.slice(m.mountPath.length + 1);
    const volume = pod.volumes?.find((v) => v.name === m.name);
    assert.ok(volume, `volume ${m.name} is not defined`);
    const items = volume.configMap?.items ?? volume.secret?.items;
    const key = items ? items.find((i) => i.path === rel)?.key : rel;
    assert.ok(key, `${path}: no item of volume ${m.name} is mounted there`);
    return { volume, key };
  }
  assert.fail(`${path} is not inside any volume mount of ${c.name}`);
}

const configFilePath = (() => {
  const args = kbsContainer.args ?? [];
  const i = args.findIndex((a) => a === '-c' || a === '--config-file');
  if (i >= 0) return args[i + 1]!;
  const env = kbsContainer.env?.find((e) => e.name === 'KBS_CONFIG_FILE');
  assert.ok(env?.value, 'the KBS container names its config file (--config-file or KBS_CONFIG_FILE)');
  return env.value;
})();
const configToml = (() => {
  const { volume, key } = fileSource(kbsPod, kbsContainer, configFilePath);
  assert.equal(volume.configMap?.name, configMap.metadata.name, 'the config file comes from the KBS ConfigMap');
  const text = at<Record<string, string>>(configMap, 'data')[key];
  assert.equal(typeof text, 'string', `ConfigMap has key ${key}`);
  return text!;
})();
/** The environment the pod gets from the Secret (the URLs the storage config reads). */
const podEnv = (() => {
  const data = secretData(kbsSecret);
  const env: Record<string, string> = {};
  for (const e of kbsContainer.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    const ref = e.valueFrom?.secretKeyRef;
    if (ref && ref.name === kbsSecret.metadata.name && data[ref.key] !== undefined) env[e.name] = data[ref.key]!;
  }
  return env;
})();

test('every manifest parses, and kustomization.yaml lists exactly the manifest files', () => {
  const kustomization = objects.find((o) => o.kind === 'Kustomization');
  assert.ok(kustomization, 'kustomization.yaml exists');
  assert.equal(kustomization.namespace, NS);
  const listed = (kustomization.resources as string[]).slice().sort();
  const files = listFiles(K8S_DIR, ['.yaml', '.yml'])
    .map((p) => basename(p))
    .filter((f) => f !== 'kustomization.yaml')
    .sort();
  assert.deepEqual(listed, files);
  for (const kind of ['Namespace', 'ConfigMap', 'Secret', 'Deployment', 'Service', 'StatefulSet'])
    assert.ok(objects.some((o) => o.kind === kind), `a ${kind} is defined`);
});

test('every namespaced object lives in the keybroker Namespace', () => {
  find(objects, 'Namespace', NS);
  for (const o of objects) {
    if (o.kind === 'Namespace' || o.kind === 'Kustomization') continue;
    assert.equal(o.metadata.namespace, NS, `${o.kind}/${o.metadata.name} (${o.file})`);
  }
});

test('the shared-state KBS Deployment runs several replicas', () => {
  const replicas = at<number>(kbsDeployment, 'spec', 'replicas');
  assert.ok(Number.isInteger(replicas) && replicas >= 2, `replicas = ${replicas}`);
  // A rolling update never takes the last ready replica away.
  assert.equal(at(kbsDeployment, 'spec', 'strategy', 'rollingUpdate', 'maxUnavailable'), 0);
});

test('container port = Service targetPort = the socket in the KBS config; the Service selects the pods', () => {
  const config = parseKbsConfig(parseToml(configToml), podEnv);
  assert.equal(config.httpServer.sockets.length, 1);
  const socket = config.httpServer.sockets[0]!;
  assert.equal(socket.host, '0.0.0.0', 'the KBS listens on the pod network, not on loopback');
  const containerPorts = (kbsContainer.ports ?? []).map((p) => p.containerPort);
  assert.deepEqual(containerPorts, [socket.port]);
  const ports = at<{ port: number; targetPort: number | string }[]>(kbsService, 'spec', 'ports');
  assert.ok(ports.length >= 1);
  for (const p of ports) assert.equal(resolvePort(kbsContainer, p.targetPort), socket.port);
  const selector = at<Record<string, string>>(kbsService, 'spec', 'selector');
  const podLabels = at<Record<string, string>>(kbsDeployment, 'spec', 'template', 'metadata', 'labels');
  assert.ok(Object.keys(selector).length > 0);
  for (const [k, v] of Object.entries(selector)) assert.equal(podLabels[k], v, `pod label ${k}`);
  const deploymentSelector = at<Record<string, string>>(kbsDeployment, 'spec', 'selector', 'matchLabels');
  for (const [k, v] of Object.entries(deploymentSelector)) assert.equal(podLabels[k], v, `pod label ${k}`);
});

test('readiness probes GET /readyz and liveness probes GET /healthz on the KBS port', () => {
  const port = parseKbsConfig(parseToml(configToml), podEnv).httpServer.sockets[0]!.port;
  for (const name of ['readinessProbe', 'livenessProbe'] as const) {
    const probe = kbsContainer[name];
    assert.ok(probe, `${name} is set`);
    assert.equal(at(probe, 'httpGet', 'path'), name === 'readinessProbe' ? '/readyz' : '/healthz', name);
    assert.equal(resolvePort(kbsContainer, at<number | string>(probe, 'httpGet', 'port')), port, name);
    // The config serves plain HTTP (TLS terminated in front); a probe must use the same scheme.
    const scheme = (at<string | undefined>(probe, 'httpGet', 'scheme') ?? 'HTTP').toUpperCase();
    assert.equal(scheme, parseKbsConfig(parseToml(configToml), podEnv).httpServer.privateKeyPath ? 'HTTPS' : 'HTTP');
  }
});

test('POSTGRES_URL and REDIS_URL come from the Secret, and the Secret has both keys', () => {
  const data = secretData(kbsSecret);
  for (const name of ['POSTGRES_URL', 'REDIS_URL']) {
    const e = kbsContainer.env?.find((x) => x.name === name);
    assert.ok(e, `${name} is set`);
    assert.equal(e.value, undefined, `${name} is not written into the Deployment`);
    assert.equal(e.valueFrom?.secretKeyRef?.name, kbsSecret.metadata.name);
    assert.equal(e.valueFrom?.secretKeyRef?.key, name);
    assert.equal(typeof data[name], 'string');
  }
});

test('every Secret/ConfigMap a workload references exists and has the key', () => {
  for (const w of workloads) {
    const pod = podSpec(w);
    for (const c of pod.containers) {
      for (const e of c.env ?? []) {
        const s = e.valueFrom?.secretKeyRef;
        if (s) assert.ok(s.key in secretData(find(objects, 'Secret', s.name)), `${w.metadata.name}: ${s.name}/${s.key}`);
        const m = e.valueFrom?.configMapKeyRef;
        if (m) assert.ok(m.key in at<object>(find(objects, 'ConfigMap', m.name), 'data'), `${w.metadata.name}: ${m.name}/${m.key}`);
      }
      // A StatefulSet's volumeClaimTemplates are volumes too.
      const claims = ((w.spec as { volumeClaimTemplates?: { metadata: { name: string } }[] }).volumeClaimTemplates ?? []).map((t) => t.metadata.name);
      for (const m of c.volumeMounts ?? [])
        assert.ok(pod.volumes?.some((v) => v.name === m.name) || claims.includes(m.name), `${w.metadata.name}: volume ${m.name}`);
    }
    for (const v of pod.volumes ?? []) {
      if (v.secret) {
        const data = secretData(find(objects, 'Secret', v.secret.secretName));
        for (const i of v.secret.items ?? []) assert.ok(i.key in data, `${w.metadata.name}: ${v.secret.secretName}/${i.key}`);
      }
      if (v.configMap) {
        const data = at<Record<string, string>>(find(objects, 'ConfigMap', v.configMap.name), 'data');
        for (const i of v.configMap.items ?? []) assert.ok(i.key in data, `${w.metadata.name}: ${v.configMap.name}/${i.key}`);
      }
    }
  }
});

test('the ConfigMap TOML is accepted by the KBS config loader: Postgres storage, Redis sessions, URLs from env', () => {
  const config = parseKbsConfig(parseToml(configToml), podEnv);
  assert.equal(config.storage.storageType, 'Postgres');
  assert.equal(config.sessionStorageType, 'Redis');
  assert.equal(config.storage.backends.postgres.url, podEnv.POSTGRES_URL, 'env POSTGRES_URL overrides the TOML fields');
  assert.equal(config.storage.backends.redis.url, podEnv.REDIS_URL, 'env REDIS_URL overrides the TOML url');
  assert.equal(config.dataDir, podEnv.KBS_DATA_DIR);
  // The built-in AS block, which the KBS hands on unparsed, is accepted by the AS's own parser.
  assert.ok(config.attestationService);
  const as = parseAsConfig(config.attestationService.asConfig, 'attestation_service');
  assert.ok(as.tokenBroker.signer, 'the token-signing key is configured (identical on every replica)');
  assert.equal(config.admin.mode, 'AuthenticatedAuthorization', 'admin keys come from config, identical on every replica');
  // Nothing insecure except plain HTTP behind the TLS terminator, which the KBS warns about.
  assert.equal(config.attestationToken.insecureHeaderJwk, false);
  assert.deepEqual(config.warnings.filter((w) => !w.startsWith('http_server.insecure_http')), []);
});

test('the key files named in the config are mounted from the Secret; KBS_DATA_DIR and /tmp are writable', () => {
  const config = parseKbsConfig(parseToml(configToml), podEnv);
  const as = parseAsConfig(config.attestationService!.asConfig, 'attestation_service');
  assert.equal(config.admin.mode, 'AuthenticatedAuthorization');
  const paths = [as.tokenBroker.signer!.keyPath];
  if (config.admin.mode === 'AuthenticatedAuthorization') {
    for (const idp of config.admin.identityProviders) if (idp.publicKeyUri) paths.push(idp.publicKeyUri.replace(/^file:\/\//, ''));
  }
  const data = secretData(kbsSecret);
  for (const p of paths) {
    const { volume, key } = fileSource(kbsPod, kbsContainer, p);
    assert.equal(volume.secret?.secretName, kbsSecret.metadata.name, `${p} comes from the Secret`);
    assert.ok(key in data, `Secret has ${key}`);
  }
  // Read-only root file system: the data dir and the temp dir (tsx's compile cache) must be emptyDir mounts.
  for (const dir of [config.dataDir, '/tmp']) {
    const m = kbsContainer.volumeMounts?.find((v) => v.mountPath === dir);
    assert.ok(m, `${dir} is a mount`);
    assert.ok(kbsPod.volumes?.find((v) => v.name === m.name)?.emptyDir, `${dir} is an emptyDir`);
    assert.notEqual(m.readOnly, true);
  }
  assert.equal(posix.dirname(configFilePath).startsWith('/etc/kbs'), true);
});

test('the Secret holds placeholders only, never key material or real passwords', () => {
  for (const s of objects.filter((o) => o.kind === 'Secret')) {
    for (const [k, v] of Object.entries(secretData(s))) {
      assert.doesNotMatch(v, /-----BEGIN/, `${s.metadata.name}/${k} holds no PEM`);
      assert.match(v, /REPLACE/, `${s.metadata.name}/${k} is marked as a placeholder`);
    }
  }
});

test('a KBS fed the placeholder Secret refuses to start instead of running on it', async () => {
  const { createKbs } = await import('../../src/kbs/bootstrap.js');
  const { MemoryBackend } = await import('../../src/storage/memory.js');
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'kbs-deploy-'));
  try {
    const data = secretData(kbsSecret);
    for (const k of ['token-signer-key.pem', 'admin-public-key.pem']) writeFileSync(join(dir, k), data[k]!);
    const toml = configToml.replaceAll('/etc/kbs/secrets/', `${dir}/`);
    const config = parseKbsConfig(parseToml(toml), { ...podEnv, KBS_DATA_DIR: join(dir, 'data') });
    await assert.rejects(createKbs(config, { storage: new MemoryBackend() }), (e: Error) => {
      assert.match(e.message, /PEM|key/i);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('KBS pods run non-root with a read-only root file system, no privilege escalation, resource requests', () => {
  const pod = kbsPod.securityContext ?? {};
  assert.equal(pod.runAsNonRoot, true);
  assert.ok(typeof pod.runAsUser === 'number' && pod.runAsUser > 0);
  const c = kbsContainer.securityContext ?? {};
  assert.equal(c.readOnlyRootFilesystem, true);
  assert.equal(c.allowPrivilegeEscalation, false);
  assert.deepEqual(at(c, 'capabilities', 'drop'), ['ALL']);
  assert.ok(kbsContainer.resources?.requests?.cpu && kbsContainer.resources.requests.memory);
  assert.ok(kbsContainer.resources?.limits?.memory);
  // Every workload is hardened the same way (the Namespace enforces the restricted Pod Security profile).
  for (const w of workloads) {
    const p = podSpec(w);
    assert.equal(p.securityContext?.runAsNonRoot, true, w.metadata.name);
    for (const ct of p.containers) assert.equal(ct.securityContext?.allowPrivilegeEscalation, false, `${w.metadata.name}/${ct.name}`);
  }
});

test('the bundled PostgreSQL and Redis match the URLs and fields the KBS connects with', () => {
  const data = secretData(kbsSecret);
  const pg = new URL(data.POSTGRES_URL!);
  const redis = new URL(data.REDIS_URL!);
  const config = parseKbsConfig(parseToml(configToml), {});
  const fields = config.storage.backends.postgres;

  const sts = find(objects, 'StatefulSet', 'keybroker-postgres');
  const pgSvc = find(objects, 'Service', at<string>(sts, 'spec', 'serviceName'));
  const pgContainer = podSpec(sts).containers[0]!;
  const pgPort = at<{ port: number; targetPort: number | string }[]>(pgSvc, 'spec', 'ports')[0]!;
  assert.equal(pg.hostname, pgSvc.metadata.name);
  assert.equal(fields.host, pgSvc.metadata.name);
  assert.equal(Number(pg.port || 5432), pgPort.port);
  assert.equal(fields.port, pgPort.port);
  assert.equal(resolvePort(pgContainer, pgPort.targetPort), 5432);
  const envOf = (c: Container, n: string) => c.env?.find((e) => e.name === n);
  assert.equal(envOf(pgContainer, 'POSTGRES_USER')?.value, decodeURIComponent(pg.username));
  assert.equal(envOf(pgContainer, 'POSTGRES_USER')?.value, fields.username);
  assert.equal(envOf(pgContainer, 'POSTGRES_DB')?.value, pg.pathname.slice(1));
  assert.equal(envOf(pgContainer, 'POSTGRES_DB')?.value, fields.db);
  const pwRef = envOf(pgContainer, 'POSTGRES_PASSWORD')?.valueFrom?.secretKeyRef;
  assert.ok(pwRef, 'the database password comes from a Secret');
  assert.equal(secretData(find(objects, 'Secret', pwRef.name))[pwRef.key], decodeURIComponent(pg.password), 'POSTGRES_URL carries that password');
  assert.ok(at<unknown[]>(sts, 'spec', 'volumeClaimTemplates').length >= 1, 'the database keeps its data on a volume');

  const redisDep = find(objects, 'Deployment', 'keybroker-redis');
  const redisSvc = find(objects, 'Service', redis.hostname);
  const redisContainer = podSpec(redisDep).containers[0]!;
  const redisPort = at<{ port: number; targetPort: number | string }[]>(redisSvc, 'spec', 'ports')[0]!;
  assert.equal(Number(redis.port || 6379), redisPort.port);
  assert.equal(resolvePort(redisContainer, redisPort.targetPort), 6379);
  for (const [k, v] of Object.entries(at<Record<string, string>>(redisSvc, 'spec', 'selector')))
    assert.equal(at<Record<string, string>>(redisDep, 'spec', 'template', 'metadata', 'labels')[k], v);
  const rpw = envOf(redisContainer, 'REDIS_PASSWORD')?.valueFrom?.secretKeyRef;
  assert.ok(rpw, 'Redis requires a password from a Secret');
  assert.ok(redisContainer.args?.includes('--requirepass'));
  assert.equal(secretData(find(objects, 'Secret', rpw.name))[rpw.key], decodeURIComponent(redis.password), 'REDIS_URL carries that password');
});

test('NetworkPolicies admit only the KBS pods to PostgreSQL and Redis, on their ports', () => {
  const kbsLabels = at<Record<string, string>>(kbsDeployment, 'spec', 'template', 'metadata', 'labels');
  for (const [workload, port] of [[find(objects, 'StatefulSet', 'keybroker-postgres'), 5432], [find(objects, 'Deployment', 'keybroker-redis'), 6379]] as const) {
    const podLabels = at<Record<string, string>>(workload, 'spec', 'template', 'metadata', 'labels');
    const policies = objects.filter(
      (o) => o.kind === 'NetworkPolicy' && Object.entries(at<Record<string, string>>(o, 'spec', 'podSelector', 'matchLabels')).every(([k, v]) => podLabels[k] === v),
    );
    assert.equal(policies.length, 1, `one NetworkPolicy selects ${workload.metadata.name}`);
    const rules = at<{ from: { podSelector: { matchLabels: Record<string, string> } }[]; ports: { port: number }[] }[]>(policies[0], 'spec', 'ingress');
    assert.equal(rules.length, 1);
    assert.deepEqual(rules[0]!.ports.map((p) => p.port), [port]);
    for (const f of rules[0]!.from) {
      const sel = Object.entries(f.podSelector.matchLabels);
      assert.ok(sel.length > 0 && sel.every(([k, v]) => kbsLabels[k] === v), 'the source selector matches the KBS pods');
      // …and not the database pods themselves (a selector on the shared part-of label would).
      assert.ok(!sel.every(([k, v]) => podLabels[k] === v));
    }
  }
});

// ---------------------------------------------------------------------------------------------- Dockerfile

const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
const instructions = dockerInstructions(dockerfile);
const lastStage = instructions.slice(instructions.map((i) => i.op).lastIndexOf('FROM'));
const one = (op: string) => {
  const found = lastStage.filter((i) => i.op === op);
  assert.equal(found.length, 1, `one ${op} in the runtime stage`);
  return found[0]!.args;
};

test('Dockerfile: ENTRYPOINT runs bin/kbs, which exists and is in the image', () => {
  const entrypoint = JSON.parse(one('ENTRYPOINT')) as string[];
  assert.deepEqual(entrypoint, ['node', 'bin/kbs']);
  assert.ok(existsSync(join(repoRoot, entrypoint[1]!)));
  assert.ok(existsSync(join(repoRoot, 'src', 'bin', 'kbs.ts')), 'bin/kbs launches src/bin/kbs.ts');
  const workdir = one('WORKDIR');
  const copies = lastStage.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'));
  const copiedTo = copies.map((c) => posix.resolve(workdir, c.args.split(/\s+/).at(-1)!));
  for (const need of ['bin', 'src', 'protos']) assert.ok(copiedTo.includes(posix.join(workdir, need)), `${need}/ is copied`);
  // package.json ("type": "module") and tsconfig.json decide how tsx loads and transpiles the sources.
  const rootFiles = copies.filter((c) => posix.resolve(workdir, c.args.split(/\s+/).at(-1)!) === workdir).flatMap((c) => c.args.split(/\s+/).slice(0, -1));
  for (const need of ['package.json', 'package-lock.json', 'tsconfig.json']) assert.ok(rootFiles.includes(need), `${need} is copied`);
});

test('Dockerfile: EXPOSE = the port of the KBS default socket and of the baked-in config; HEALTHCHECK hits /healthz', () => {
  const exposed = Number(one('EXPOSE'));
  assert.equal(exposed, defaultKbsConfig({}).httpServer.sockets[0]!.port);
  const env = Object.fromEntries(
    lastStage
      .filter((i) => i.op === 'ENV')
      .flatMap((i) => [...i.args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!])),
  );
  // The config file the image starts with is the one copied from deploy/docker.
  const copy = lastStage.find((i) => i.op === 'COPY' && i.args.trim().endsWith(` ${env.KBS_CONFIG_FILE}`));
  assert.ok(copy, 'KBS_CONFIG_FILE is copied into the image');
  const source = copy.args.trim().split(/\s+/)[0]!;
  const cfg = loadConfigFile(join(repoRoot, source), { KBS_DATA_DIR: env.KBS_DATA_DIR });
  assert.deepEqual(cfg.httpServer.sockets.map((s) => s.port), [exposed]);
  assert.equal(cfg.httpServer.sockets[0]!.host, '0.0.0.0', 'reachable through the published port');
  assert.equal(cfg.dataDir, '/data');
  assert.equal(cfg.storage.storageType, 'LocalFs', 'one instance keeps its state on the volume');
  assert.ok(cfg.storage.backends.localFs.dirPath === 'storage' || cfg.storage.backends.localFs.dirPath.startsWith('/data/'));
  assert.equal(one('VOLUME').replace(/[[\]"\s]/g, ''), env.KBS_DATA_DIR);
  // HEALTHCHECK runs a script that exists and defaults to /healthz on the exposed port.
  const hc = one('HEALTHCHECK');
  const script = /CMD\s+\[\s*"node",\s*"([^"]+)"\s*\]/.exec(hc)?.[1];
  assert.ok(script, 'HEALTHCHECK CMD ["node", "<script>"]');
  const text = readFileSync(join(repoRoot, script), 'utf8');
  assert.match(text, new RegExp(`http://127\\.0\\.0\\.1:${exposed}/healthz`));
});

test('Dockerfile: node:20-bookworm-slim, production dependencies only (tsx is one), non-root user', () => {
  const froms = instructions.filter((i) => i.op === 'FROM');
  assert.ok(froms.length >= 2, 'multi-stage');
  assert.match(dockerfile, /ARG NODE_IMAGE=node:20-bookworm-slim/);
  for (const f of froms) assert.match(f.args, /^\$\{NODE_IMAGE\}/);
  assert.match(dockerfile, /npm ci --omit=dev/);
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  assert.ok(pkg.dependencies.tsx, 'tsx is a runtime dependency, so --omit=dev keeps it');
  const user = one('USER');
  assert.match(user, /^\d+(:\d+)?$/, 'numeric USER so runAsNonRoot can check it');
  assert.notEqual(Number(user.split(':')[0]), 0);
  assert.equal(Number(user.split(':')[0]), (kbsPod.securityContext as { runAsUser: number }).runAsUser, 'same uid as the Kubernetes pod');
});

test('.dockerignore keeps out secrets and junk but nothing the Dockerfile copies', () => {
  const ignore = readFileSync(join(repoRoot, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const must of ['.git', 'node_modules', 'kbs-data']) assert.ok(ignore.includes(must), `${must} is ignored`);
  const sources = instructions
    .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))
    .flatMap((i) => i.args.trim().split(/\s+/).slice(0, -1));
  for (const src of sources) {
    assert.ok(existsSync(join(repoRoot, src)), `${src} exists`);
    for (const pat of ignore) assert.ok(!(src === pat || src.startsWith(`${pat}/`)), `${src} is not excluded by ${pat}`);
  }
});

test('deploy/docker/healthcheck.mjs exits 0 on 200 and 1 otherwise', async () => {
  const { createServer } = await import('node:http');
  const { spawn } = await import('node:child_process');
  let status = 200;
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url ?? '');
    res.statusCode = status;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const run = () =>
    new Promise<number | null>((resolve) => {
      const p = spawn(process.execPath, [join(repoRoot, 'deploy/docker/healthcheck.mjs')], {
        env: { ...process.env, KBS_HEALTHCHECK_URL: `http://127.0.0.1:${port}/healthz` },
        stdio: 'ignore',
      });
      p.on('exit', (code) => resolve(code));
    });
  try {
    assert.equal(await run(), 0);
    status = 503;
    assert.equal(await run(), 1);
    assert.deepEqual(paths, ['/healthz', '/healthz']);
  } finally {
    server.close();
  }
  // Nothing listening: unhealthy.
  assert.equal(await run(), 1);
});

test("the image's baked-in config starts a KBS that the HEALTHCHECK script finds healthy", { timeout: 120_000 }, async (t) => {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync, writeFileSync, rmSync, readFileSync: read, existsSync: exists } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { createInterface } = await import('node:readline');
  const dir = mkdtempSync(join(tmpdir(), 'kbs-image-'));
  // The container's socket, moved to loopback and an ephemeral port for the test machine.
  const config = readFileSync(join(repoRoot, 'deploy/docker/kbs-config.toml'), 'utf8');
  assert.match(config, /sockets = \["0\.0\.0\.0:8080"\]/);
  writeFileSync(join(dir, 'kbs.toml'), config.replace('0.0.0.0:8080', '127.0.0.1:0'));
  const kbs = spawn(process.execPath, [join(repoRoot, 'bin/kbs')], {
    env: { ...process.env, KBS_DATA_DIR: join(dir, 'data'), KBS_CONFIG_FILE: join(dir, 'kbs.toml') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => {
    kbs.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  const url = await new Promise<string>((resolve, reject) => {
    kbs.on('exit', (code) => reject(new Error(`kbs exited with ${code}`)));
    createInterface({ input: kbs.stdout! }).on('line', (line) => {
      const m = /KBS listening on (http:\/\/[^\s",]+)/.exec(line);
      if (m) resolve(m[1]!);
    });
  });
  const code = await new Promise<number | null>((resolve) => {
    spawn(process.execPath, [join(repoRoot, 'deploy/docker/healthcheck.mjs')], {
      env: { ...process.env, KBS_HEALTHCHECK_URL: `${url}/healthz` },
      stdio: 'ignore',
    }).on('exit', resolve);
  });
  assert.equal(code, 0);
  // One instance keeps its state and its embedded admin credentials in the data directory (the /data volume).
  for (const f of ['admin-token', 'admin-key.pub.pem', 'storage']) assert.ok(exists(join(dir, 'data', f)), f);
  assert.ok(read(join(dir, 'data', 'admin-token'), 'utf8').split('.').length === 3, 'admin-token is a JWT');
});
