import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';

const root = join(import.meta.dirname, '../..');

/** The Node options the image runs Parley with: docker/Dockerfile's NODE_OPTIONS ('' without one). */
export function imageNodeOptions(): string {
  return /NODE_OPTIONS="([^"]*)"/.exec(readFileSync(join(root, 'docker/Dockerfile'), 'utf8'))?.[1] ?? '';
}

/** The settings of the ConfigMap every Parley pod reads (k8s/configmap.yaml). */
export function configMapData(): Record<string, string> {
  const configMap = parseDocument(readFileSync(join(root, 'k8s/configmap.yaml'), 'utf8')).toJS() as {
    data: Record<string, string>;
  };
  return configMap.data;
}
