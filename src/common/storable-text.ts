import type { FastifyInstance } from 'fastify';
import { CommonException, CommonExceptionCode } from './domain.exception.js';

const NUL = '\u0000';
/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const UNSTORABLE_TEXT_MESSAGE = 'Text must not contain NUL (U+0000) or an unpaired UTF-16 surrogate';

/**
 * Text PostgreSQL cannot store (NUL) or that is not Unicode at all (a lone UTF-16 surrogate, which
 * JSON's `\ud800` escape can produce): refused where it enters, so that no query, key or log line
 * ever meets it.
 */
export function isStorableText(value: string): boolean {
  return !value.includes(NUL) && !LONE_SURROGATE.test(value);
}

function storable(value: unknown): boolean {
  if (typeof value === 'string') {
    return isStorableText(value);
  }
  return !Array.isArray(value) || value.every((item) => typeof item !== 'string' || isStorableText(item));
}

/** Query strings and path parameters (`%00` decodes to NUL): the same rule as JSON bodies. */
export function registerQueryTextCheck(fastify: FastifyInstance): void {
  fastify.addHook('preValidation', (request, _reply, done) => {
    const sources = [request.query, request.params] as unknown[];
    for (const source of sources) {
      if (typeof source === 'object' && source !== null) {
        for (const [key, value] of Object.entries(source)) {
          if (!isStorableText(key) || !storable(value)) {
            done(new CommonException(CommonExceptionCode.ValidationFailed, UNSTORABLE_TEXT_MESSAGE));
            return;
          }
        }
      }
    }
    done();
  });
}
