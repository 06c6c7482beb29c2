import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normaliseId } from '../common/uuid.util.js';
import {
  CacheKeyBuilder,
  isSessionScope,
  VERSION_SCOPE,
  type CacheEntrySpec,
  type CacheKind,
} from './cache-key.builder.js';

const keys = new CacheKeyBuilder('parley');
const kinds: CacheKind[] = ['history', 'session', 'sessions', 'memories'];

// Owner ids are JWT subjects: any 1-128 characters, separators and escapes included.
const ownerId = fc.oneof(
  fc.string({ minLength: 1, maxLength: 128 }),
  fc.constantFrom('alice', 'alice:', ':alice', 'a%3Ab', 'a:b', 'a/b', 'a=b&c', '%', 'ålice', '\u0000'),
);
const paramValue = fc.oneof(
  fc.constant(undefined),
  fc.string({ maxLength: 8 }),
  fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 }),
);
const spec: fc.Arbitrary<CacheEntrySpec> = fc.record({
  kind: fc.constantFrom(...kinds),
  ownerId,
  scopeId: fc.oneof(fc.uuid(), ownerId),
  params: fc.dictionary(fc.constantFrom('limit', 'beforeSeq', 'cursor', 'q', 'limit:', 'a=b'), paramValue, {
    maxKeys: 3,
  }),
});
const version = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.tuple(fc.nat(), fc.nat()).map(([e, c]) => `${e}.${c}`),
);

function canonical(s: CacheEntrySpec, v: string): string {
  const params = Object.entries(s.params ?? {})
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([s.kind, s.ownerId, s.scopeId, v, params]);
}

describe('CacheKeyBuilder', () => {
  it('gives different entries different keys: no two owners (or versions, or queries) ever share one', () => {
    fc.assert(
      fc.property(spec, version, spec, version, (a, va, b, vb) => {
        const same = canonical(a, va) === canonical(b, vb);
        expect(keys.data(a, va) === keys.data(b, vb)).toBe(same);
      }),
      { numRuns: 20_000 },
    );
  });

  it('keeps owners apart even when the rest of the entry is identical', () => {
    fc.assert(
      fc.property(spec, ownerId, version, (a, other, v) => {
        fc.pre(other !== a.ownerId);
        expect(keys.data(a, v)).not.toBe(keys.data({ ...a, ownerId: other }, v));
      }),
      { numRuns: 5000 },
    );
  });

  it('always carries the owner and the version in the key', () => {
    fc.assert(
      fc.property(spec, version, (a, v) => {
        const key = keys.data(a, v);
        expect(key).toContain(`:${encodeURIComponent(a.ownerId)}:`);
        expect(key).toContain(`:${encodeURIComponent(v)}:`);
      }),
    );
  });

  it('ignores the order of query parameters but not their values', () => {
    const base = { kind: 'history' as const, ownerId: 'alice', scopeId: 's1' };
    expect(keys.data({ ...base, params: { limit: '5', beforeSeq: '9' } }, '1.1')).toBe(
      keys.data({ ...base, params: { beforeSeq: '9', limit: '5' } }, '1.1'),
    );
    expect(keys.data({ ...base, params: { limit: '5' } }, '1.1')).not.toBe(
      keys.data({ ...base, params: { limit: '6' } }, '1.1'),
    );
    expect(keys.data({ ...base, params: { limit: '5' } }, '1.1')).not.toBe(
      keys.data({ ...base, params: { limit: ['5'] } }, '1.1'),
    );
  });

  it('names one counter per session for session data and one per owner for collections', () => {
    expect(keys.counterFor({ kind: 'history', scopeId: 's1' })).toEqual({ scope: 'session', id: 's1' });
    expect(keys.counterFor({ kind: 'session', scopeId: 's1' })).toEqual({ scope: 'session', id: 's1' });
    expect(keys.counterFor({ kind: 'sessions', scopeId: 'alice' })).toEqual({
      scope: 'sessions',
      id: 'alice',
    });
    expect(keys.counterFor({ kind: 'memories', scopeId: 'alice' })).toEqual({
      scope: 'memories',
      id: 'alice',
    });
    expect(keys.counter({ scope: 'sessions', id: 'a:b' })).not.toBe(keys.counter({ scope: 'sessions', id: 'a' }));
  });

  it('puts locks, counters and the epoch beside the data keys, never on them', () => {
    const data = keys.data({ kind: 'history', ownerId: 'alice', scopeId: 's1' }, '1.1');
    const all = [data, keys.lock(data), keys.counter({ scope: 'session', id: 's1' }), keys.epoch()];
    expect(new Set(all).size).toBe(all.length);
    expect(all.every((key) => key.startsWith('parley:cache:'))).toBe(true);
  });

  it('builds one key for a session id in any case, and leaves owner ids as they are', () => {
    const id = '3f0e5c1a-8a4f-4c86-9a52-2b7d1b6f9c10';
    const spec = { kind: 'history', ownerId: 'Alice', scopeId: id } as const;
    expect(keys.data({ ...spec, scopeId: id.toUpperCase() }, '1.1')).toBe(keys.data(spec, '1.1'));
    expect(keys.counter(keys.counterFor({ kind: 'session', scopeId: id.toUpperCase() }))).toBe(
      keys.counter({ scope: 'session', id }),
    );
    expect(keys.data({ ...spec, ownerId: 'alice' }, '1.1')).not.toBe(keys.data(spec, '1.1'));
    const upperOwner = id.toUpperCase();
    expect(keys.counterFor({ kind: 'sessions', scopeId: upperOwner }).id).toBe(upperOwner);
  });

  it('spells every key as its parts URI-encoded and joined by colons, as replicas of any version do', () => {
    // Replicas of two releases share Redis during a rollout: a key spelled differently by one of
    // them would never be found by the other.
    fc.assert(
      fc.property(spec, version, (s, v) => {
        const scopeId = isSessionScope(VERSION_SCOPE[s.kind]) ? normaliseId(s.scopeId) : s.scopeId;
        const params = Object.keys(s.params ?? {})
          .filter((name) => s.params?.[name] !== undefined)
          .sort()
          .map((name) => `${encodeURIComponent(name)}=${encodeURIComponent(JSON.stringify(s.params?.[name]))}`)
          .join('&');
        const parts = ['parley:cache', 'd', s.kind, s.ownerId, scopeId, v].map((p, i) =>
          i < 3 ? p : encodeURIComponent(p),
        );
        expect(keys.data(s, v)).toBe([...parts, params].join(':'));
        const counter = keys.counterFor(s);
        expect(keys.counter(counter)).toBe(
          ['parley:cache', 'v', counter.scope, encodeURIComponent(counter.id)].join(':'),
        );
      }),
    );
    expect(keys.epoch()).toBe('parley:cache:epoch');
  });

  it('gives the key it would make afresh when the calls for one scope change owner, version, kind or query', () => {
    // The keys it keeps for reuse (one per scope and kind) must never answer for another entry:
    // calls for a few scopes in any order, each checked against the key spelled out in full.
    const scopes = ['3f0e5c1a-8a4f-4c86-9a52-2b7d1b6f9c10', '3F0E5C1A-8A4F-4C86-9A52-2B7D1B6F9C10', 'alice', 'bob'];
    const call = fc.record({
      kind: fc.constantFrom<CacheKind>('history', 'owner', 'session', 'sessions'),
      ownerId: fc.constantFrom('alice', 'bob', 'a:b'),
      scopeId: fc.constantFrom(...scopes),
      params: fc.constantFrom<CacheEntrySpec['params']>(undefined, {}, { limit: undefined }, { limit: '5' }),
      version: fc.constantFrom('1.1', '1.2', '2.1'),
    });
    fc.assert(
      fc.property(fc.array(call, { minLength: 1, maxLength: 30 }), (calls) => {
        const fresh = new CacheKeyBuilder('parley');
        for (const { version: v, ...s } of calls) {
          const scopeId = isSessionScope(VERSION_SCOPE[s.kind]) ? normaliseId(s.scopeId) : s.scopeId;
          const query =
            s.params?.limit === undefined ? '' : `limit=${encodeURIComponent(JSON.stringify(s.params.limit))}`;
          const parts = [s.kind, s.ownerId, scopeId, v].map((p, i) => (i === 0 ? p : encodeURIComponent(p)));
          expect(fresh.data(s, v)).toBe(['parley:cache', 'd', ...parts, query].join(':'));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('goes on giving the right keys past the number of scopes it keeps keys for', () => {
    const fresh = new CacheKeyBuilder('parley');
    const key = (i: number, v: string) => fresh.data({ kind: 'history', ownerId: 'alice', scopeId: `s${i}` }, v);
    for (let i = 0; i < 10_000; i += 1) {
      expect(key(i, '1.1')).toBe(`parley:cache:d:history:alice:s${i}:1.1:`);
    }
    for (let i = 0; i < 10_000; i += 997) {
      expect(key(i, '1.2')).toBe(`parley:cache:d:history:alice:s${i}:1.2:`);
      expect(key(i, '1.1')).toBe(`parley:cache:d:history:alice:s${i}:1.1:`);
    }
  });
});
