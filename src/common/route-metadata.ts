import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';

/**
 * A route's metadata, read once per handler and controller: decorators do not change once the
 * application started, and reflect-metadata walks prototype chains on every call (several times
 * per request across the guards and interceptors otherwise).
 */
export class RouteMetadata<T> {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- handlers and classes are plain functions
  private readonly byHandler = new WeakMap<Function, WeakMap<Function, { value: T | undefined }>>();

  private constructor(private readonly read: (context: ExecutionContext) => T | undefined) {}

  /** The handler's value, or else its controller's (Reflector.getAllAndOverride). */
  static overridable<T>(reflector: Reflector, key: string | symbol): RouteMetadata<T> {
    return new RouteMetadata((context) =>
      reflector.getAllAndOverride<T | undefined>(key, [context.getHandler(), context.getClass()]),
    );
  }

  /** The handler's own value (Reflector.get). */
  static ofHandler<T>(reflector: Reflector, key: string | symbol): RouteMetadata<T> {
    return new RouteMetadata((context) => reflector.get<T | undefined>(key, context.getHandler()));
  }

  get(context: ExecutionContext): T | undefined {
    const handler = context.getHandler();
    const controller = context.getClass();
    let byController = this.byHandler.get(handler);
    if (byController === undefined) {
      byController = new WeakMap();
      this.byHandler.set(handler, byController);
    }
    let entry = byController.get(controller);
    if (entry === undefined) {
      entry = { value: this.read(context) };
      byController.set(controller, entry);
    }
    return entry.value;
  }
}
