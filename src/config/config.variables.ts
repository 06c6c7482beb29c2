/**
 * Every environment variable Parley reads, parsed and validated in one place.
 * Nothing outside `config/` reads `process.env`.
 */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`Invalid configuration: ${variable} ${reason}`);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export class EnvReader {
  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  string(name: string, fallback: string, opts: { pattern?: RegExp; maxLength?: number } = {}): string {
    const value = this.raw(name) ?? fallback;
    if (opts.maxLength !== undefined && value.length > opts.maxLength) {
      throw new ConfigError(name, `must be at most ${opts.maxLength} characters`);
    }
    if (opts.pattern && !opts.pattern.test(value)) {
      throw new ConfigError(name, `must match ${String(opts.pattern)} (got "${value}")`);
    }
    return value;
  }

  optional(name: string): string | undefined {
    return this.raw(name);
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) {
      return fallback;
    }
    if (!/^-?\d+$/.test(value)) {
      throw new ConfigError(name, `must be an integer (got "${value}")`);
    }
    const parsed = Number(value);
    if (parsed < min || parsed > max) {
      throw new ConfigError(name, `must be between ${min} and ${max} (got ${parsed})`);
    }
    return parsed;
  }

  number(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) {
      return fallback;
    }
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
      throw new ConfigError(name, `must be a number between ${min} and ${max} (got "${value}")`);
    }
    return parsed;
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) {
      return fallback;
    }
    if (['true', '1', 'yes', 'on'].includes(value)) {
      return true;
    }
    if (['false', '0', 'no', 'off'].includes(value)) {
      return false;
    }
    throw new ConfigError(name, `must be true or false (got "${value}")`);
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const value = this.raw(name) ?? fallback;
    if (!(allowed as readonly string[]).includes(value)) {
      throw new ConfigError(name, `must be one of ${allowed.join(', ')} (got "${value}")`);
    }
    return value as T;
  }

  url(name: string, protocols: readonly string[]): string | undefined {
    const value = this.raw(name);
    if (value === undefined) {
      return undefined;
    }
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw new ConfigError(name, 'must be a valid URL');
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new ConfigError(name, `must use one of ${protocols.join(', ')} (got "${parsed.protocol}")`);
    }
    return value;
  }
}
