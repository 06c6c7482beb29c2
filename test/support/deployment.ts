import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';

const root = join(import.meta.dirname, '../..');

/** A variable the image sets for Parley (docker/Dockerfile's ENV, quoted or not), or undefined. */
export function imageEnv(name: string): string | undefined {
  const instructions = readFileSync(join(root, 'docker/Dockerfile'), 'utf8')
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n');
  const match = new RegExp(`\\b${name}=(?:"([^"]*)"|([^\\s"\\\\]+))`).exec(instructions);
  return match === null ? undefined : (match[1] ?? match[2]);
}

/** The Node options the image runs Parley with: docker/Dockerfile's NODE_OPTIONS ('' without one). */
export function imageNodeOptions(): string {
  return imageEnv('NODE_OPTIONS') ?? '';
}

/** The settings of the ConfigMap every Parley pod reads (k8s/configmap.yaml). */
export function configMapData(): Record<string, string> {
  const configMap = parseDocument(readFileSync(join(root, 'k8s/configmap.yaml'), 'utf8')).toJS() as {
    data: Record<string, string>;
  };
  return configMap.data;
}
