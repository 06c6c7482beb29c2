import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';

const root = join(import.meta.dirname, '../..');

/** docker/Dockerfile without its comments. */
function dockerfileInstructions(): string {
  return readFileSync(join(root, 'docker/Dockerfile'), 'utf8')
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n');
}

/** A variable the image sets for Parley (docker/Dockerfile's ENV, quoted or not), or undefined. */
export function imageEnv(name: string): string | undefined {
  const match = new RegExp(`\\b${name}=(?:"([^"]*)"|([^\\s"\\\\]+))`).exec(dockerfileInstructions());
  return match === null ? undefined : (match[1] ?? match[2]);
}

/**
 * The Node flags the image starts Parley with: those between `node` and `dist/main.js` in
 * docker/Dockerfile's CMD (V8's own flags are refused in NODE_OPTIONS).
 */
export function imageNodeFlags(): string[] {
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfileInstructions())?.[1];
  const args = cmd === undefined ? [] : (JSON.parse(cmd) as string[]);
  const main = args.indexOf('dist/main.js');
  if (args[0] !== 'node' || main < 1) {
    throw new Error(`docker/Dockerfile's CMD does not run node dist/main.js: ${cmd}`);
  }
  return args.slice(1, main);
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
