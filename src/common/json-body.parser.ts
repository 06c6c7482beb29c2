import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CommonException, CommonExceptionCode } from './domain.exception.js';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from './storable-text.js';

/** Deepest nesting of arrays and objects a JSON body may have (no Parley body needs more than 3). */
export const MAX_JSON_DEPTH = 64;

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * The nesting depth of a JSON text, read without recursion and before anything parses it, so that
 * a body nested 10,000 levels deep can never reach a recursive consumer (class-transformer in the
 * validation pipe overflows the stack on it). Brackets inside strings do not count.
 */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) {
        i += 1;
      } else if (c === QUOTE) {
        inString = false;
      }
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      depth += 1;
      deepest = Math.max(deepest, depth);
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth -= 1;
    }
  }
  return deepest;
}

/** Every string of a parsed JSON value (keys too) is storable; iterative, the depth is bounded anyway. */
function allTextStorable(root: unknown): boolean {
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === 'string') {
      if (!isStorableText(value)) {
        return false;
      }
    } else if (Array.isArray(value)) {
      pending.push(...(value as unknown[]));
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        if (!isStorableText(key)) {
          return false;
        }
        pending.push(item);
      }
    }
  }
  return true;
}

/** Fastify's own JSON parser: it refuses `__proto__` and `constructor.prototype` keys. */
type JsonParser = (request: FastifyRequest, body: string, done: (error: Error | null, value?: unknown) => void) => void;

/**
 * The only body parser Parley registers: `application/json`. Anything else with a body is 415
 * (Fastify has no parser for it), so a JSON body sent as text or as a form is refused plainly
 * instead of being read as something else. In order: nesting depth (400 `validation_failed` past
 * MAX_JSON_DEPTH, before anything recursive sees the body), JSON syntax (400 `invalid_json`), then
 * the text it holds (400 `validation_failed`). No message repeats the body.
 */
export function registerJsonBodyParser(fastify: FastifyInstance, bodyLimit: number): void {
  const secureParse = fastify.getDefaultJsonParser('error', 'error') as unknown as JsonParser;
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (request, body, done) => {
    const text = body as string;
    if (jsonDepth(text) > MAX_JSON_DEPTH) {
      done(
        new CommonException(
          CommonExceptionCode.ValidationFailed,
          `JSON nesting is deeper than ${MAX_JSON_DEPTH} levels`,
        ),
        undefined,
      );
      return;
    }
    secureParse(request, text, (error, parsed) => {
      if (error !== null) {
        done(new CommonException(CommonExceptionCode.InvalidJson), undefined);
      } else if (!allTextStorable(parsed)) {
        done(new CommonException(CommonExceptionCode.ValidationFailed, UNSTORABLE_TEXT_MESSAGE), undefined);
      } else {
        done(null, parsed);
      }
    });
  });
}
