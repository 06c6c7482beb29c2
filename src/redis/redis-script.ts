/** A Lua script run through RedisService.runScript, under the name of its ioredis custom command. */
export interface RedisScript {
  readonly name: string;
  readonly lua: string;
}

/** Every script declared so far, in declaration order. */
const declared: RedisScript[] = [];

/**
 * Declares a script where its module loads, so the command connection defines all of them before it
 * sends anything: the connection pipelines the commands of one event-loop turn, and a batch opened
 * before a script was defined could not carry it.
 */
export function redisScript(lua: string): RedisScript {
  let script = declared.find((known) => known.lua === lua);
  if (script === undefined) {
    script = { name: `parleyScript${declared.length}`, lua };
    declared.push(script);
  }
  return script;
}

export function declaredScripts(): readonly RedisScript[] {
  return declared;
}
