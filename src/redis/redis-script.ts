/** Every script declared so far, in declaration order. */
const declared: RedisScript[] = [];

/**
 * A Lua script run through RedisService.runScript. Scripts are declared with redisScript() where
 * their module loads, so the command connection defines all of them before it sends anything: the
 * connection pipelines the commands of one event-loop turn, and a batch opened before a script was
 * defined could not carry it.
 */
export class RedisScript {
  private constructor(
    /** The name of its ioredis custom command. */
    readonly name: string,
    readonly lua: string,
  ) {}

  static declare(lua: string): RedisScript {
    const existing = declared.find((script) => script.lua === lua);
    if (existing !== undefined) {
      return existing;
    }
    const script = new RedisScript(`parleyScript${declared.length}`, lua);
    declared.push(script);
    return script;
  }

  static all(): readonly RedisScript[] {
    return declared;
  }
}

export function redisScript(lua: string): RedisScript {
  return RedisScript.declare(lua);
}
