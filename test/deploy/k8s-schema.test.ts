import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as keda from '@kubernetes-models/keda';
import * as prometheusOperator from '@kubernetes-models/prometheus-operator';
import * as kubernetes from 'kubernetes-models';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../..');

interface ModelClass {
  apiVersion: string;
  kind: string;
  new (data: unknown): { validate(): void };
}

/** Every model class of the packages, by "apiVersion/kind": built-in kinds and the CRDs Parley uses. */
function modelClasses(): Map<string, ModelClass> {
  const classes = new Map<string, ModelClass>();
  const visit = (value: unknown, depth: number): void => {
    if (typeof value === 'function') {
      const model = value as Partial<ModelClass>;
      if (typeof model.apiVersion === 'string' && typeof model.kind === 'string') {
        classes.set(`${model.apiVersion}/${model.kind}`, value as ModelClass);
      }
      return;
    }
    if (typeof value === 'object' && value !== null && depth < 4) {
      for (const child of Object.values(value)) {
        visit(child, depth + 1);
      }
    }
  };
  visit({ kubernetes, prometheusOperator, keda }, 0);
  return classes;
}

const MODELS = modelClasses();

async function render(dir: string): Promise<Array<{ apiVersion: string; kind: string; metadata: { name: string } }>> {
  const { stdout } = await run('kubectl', ['kustomize', dir]);
  return parseAllDocuments(stdout).map((document) => document.toJS());
}

/** Schema errors of every rendered object ("Kind/name: message"); a kind without a schema is an error. */
async function schemaErrors(dir: string): Promise<string[]> {
  const errors: string[] = [];
  for (const object of await render(dir)) {
    const id = `${object.kind}/${object.metadata.name}`;
    const Model = MODELS.get(`${object.apiVersion}/${object.kind}`);
    if (!Model) {
      errors.push(`${id}: no schema for ${object.apiVersion}`);
      continue;
    }
    try {
      new Model(object).validate();
    } catch (error) {
      errors.push(`${id}: ${(error as Error).message}`);
    }
  }
  return errors;
}

describe('Kubernetes manifests against their schemas', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'parley-k8s-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /** A copy of k8s/ with one file's text changed. */
  const brokenCopy = (name: string, file: string, from: string | RegExp, to: string): string => {
    const dir = join(scratch, name);
    cpSync(join(root, 'k8s'), dir, { recursive: true });
    const text = readFileSync(join(dir, file), 'utf8');
    const broken = text.replace(from, to);
    expect(broken, `${name}: the change applies`).not.toBe(text);
    writeFileSync(join(dir, file), broken);
    return dir;
  };

  it('render with kubectl kustomize, CRDs included, and every object validates', async () => {
    const objects = await render(join(root, 'k8s'));
    const kinds = new Set(objects.map((object) => object.kind));
    for (const kind of [
      'Deployment',
      'Job',
      'Service',
      'Ingress',
      'NetworkPolicy',
      'HorizontalPodAutoscaler',
      'ServiceMonitor',
      'PrometheusRule',
      'ScaledObject',
    ]) {
      expect(kinds.has(kind), kind).toBe(true);
    }
    expect(await schemaErrors(join(root, 'k8s'))).toEqual([]);
  });

  it('a deliberately broken copy fails, built-in kinds and CRDs alike', async () => {
    const cases = [
      // a probe's timeout written as a string
      {
        name: 'deployment',
        file: 'api-deployment.yaml',
        from: /timeoutSeconds: 3/,
        to: 'timeoutSeconds: "3s"',
        error: /Deployment\/parley-api: .*timeoutSeconds must be integer/,
      },
      // a ServiceMonitor endpoint whose bearer token is not a Secret reference
      {
        name: 'servicemonitor',
        file: 'servicemonitor.yaml',
        from: 'credentials: { name: parley-secrets, key: METRICS_TOKEN }',
        to: 'credentials: parley-secrets',
        error: /ServiceMonitor\/parley: .*credentials must be object/,
      },
      // a KEDA trigger without its type
      {
        name: 'scaledobject',
        file: 'worker-scaledobject.yaml',
        from: '- type: prometheus',
        to: '- name: prometheus',
        error: /ScaledObject\/parley-worker: .*must have required property type/,
      },
      // a PrometheusRule whose rule has no expression
      {
        name: 'prometheusrule',
        file: 'prometheus-rules.yaml',
        from: 'expr: up{job="parley"} == 0',
        to: 'expression: up{job="parley"} == 0',
        error: /PrometheusRule\/parley: .*must have required property expr/,
      },
    ];
    for (const c of cases) {
      const errors = await schemaErrors(brokenCopy(c.name, c.file, c.from, c.to));
      expect(errors, c.name).toHaveLength(1);
      expect(errors[0], c.name).toMatch(c.error);
    }
  });

  it('a copy that kustomize cannot render fails the render', async () => {
    const dir = brokenCopy(
      'kustomization',
      'kustomization.yaml',
      '  - servicemonitor.yaml\n',
      '  - servicemonitor.yaml\n  - missing.yaml\n',
    );
    await expect(render(dir)).rejects.toThrow(/missing\.yaml/);
  });
});
