import fc from 'fast-check';

/** The parts of an OpenAPI 3 document the fuzzer reads. */
export interface OpenApiSchema {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  items?: OpenApiSchema;
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
}

export interface OpenApiParameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema?: OpenApiSchema;
}

export interface OpenApiOperation {
  parameters?: OpenApiParameter[];
  requestBody?: { content?: Record<string, { schema?: OpenApiSchema }> };
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, OpenApiSchema> };
  /** Not OpenAPI: ids that exist (the fuzzer's and another user's), used for uuid fields. */
  knownIds?: string[];
}

/** `arbitrary` about once in `oneIn` draws, null otherwise. */
export function rarely<T>(arbitrary: fc.Arbitrary<T>, oneIn: number): fc.Arbitrary<T | null> {
  return fc.oneof({ arbitrary: fc.constant(null), weight: oneIn - 1 }, { arbitrary, weight: 1 });
}

/** Text a hostile or broken client sends: NUL, lone surrogates, controls, emoji, RTL, huge. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      '',
      ' ',
      '\u0000',
      'a\u0000b',
      '\ud800',
      'x\udc00y',
      '\ud83d',
      '😀'.repeat(65),
      '\u202e\u0301',
      '\r\n',
      '%00',
      '../..',
      "' OR 1=1 --",
      '<script>',
      '${x}',
      '-'.repeat(40),
      '"phrase',
      'NaN',
      '0x10',
    ),
    weight: 4,
  },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }), weight: 2 },
  { arbitrary: fc.integer({ min: 1, max: 70_000 }).map((n) => 'x'.repeat(n)), weight: 1 },
);

/** Values of the wrong type for any field. */
const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1e308, -0, 2 ** 53, [], {}, [null], { a: 1 }),
  fc.double(),
  hostileString,
  fc.jsonValue({ maxDepth: 3 }),
);

/** A value nested `depth` levels deep (the body limit allows thousands). */
export const deeplyNested: fc.Arbitrary<unknown> = fc.integer({ min: 50, max: 3000 }).map((depth) => {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i += 1) {
    value = i % 2 === 0 ? [value] : { a: value };
  }
  return value;
});

export function resolve(doc: OpenApiDocument, schema: OpenApiSchema | undefined): OpenApiSchema {
  if (schema?.$ref === undefined) {
    return schema ?? {};
  }
  const name = schema.$ref.split('/').pop() ?? '';
  return doc.components?.schemas?.[name] ?? {};
}

function validString(doc: OpenApiDocument, schema: OpenApiSchema): fc.Arbitrary<string> {
  if (schema.format === 'uuid') {
    const known = doc.knownIds ?? [];
    return known.length === 0 ? fc.uuid() : fc.oneof(fc.uuid(), fc.constantFrom(...known));
  }
  const min = schema.minLength ?? 0;
  const max = Math.min(schema.maxLength ?? 300, 9000);
  if (schema.pattern !== undefined) {
    const matching = fc
      .stringMatching(new RegExp(schema.pattern))
      .filter((value) => value.length >= min && value.length <= max);
    return fc.oneof({ arbitrary: matching, weight: 3 }, { arbitrary: fc.string({ maxLength: max + 1 }), weight: 1 });
  }
  return fc.oneof(
    fc.string({ minLength: min, maxLength: Math.min(max, 40) }),
    fc.constant('y'.repeat(max)),
    fc.constant('y'.repeat(max + 1)),
    fc.constant('😀'.repeat(Math.ceil(max / 2) + 1)),
  );
}

function validNumber(schema: OpenApiSchema): fc.Arbitrary<number> {
  const min = schema.minimum ?? -1000;
  const max = schema.maximum ?? 1_000_000;
  return fc.oneof(
    fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31) }),
    fc.constantFrom(min, max, min - 1, max + 1, 0.5, -0, Number.MAX_SAFE_INTEGER + 2),
  );
}

/** Values for a schema: mostly shaped like it (so that deeper checks run), often not at all. */
export function valueFor(doc: OpenApiDocument, raw: OpenApiSchema | undefined, depth = 0): fc.Arbitrary<unknown> {
  const schema = resolve(doc, raw);
  let shaped: fc.Arbitrary<unknown>;
  if (schema.enum !== undefined) {
    shaped = fc.oneof(fc.constantFrom(...schema.enum), hostileString);
  } else if (schema.type === 'string') {
    shaped = validString(doc, schema);
  } else if (schema.type === 'integer' || schema.type === 'number') {
    shaped = validNumber(schema);
  } else if (schema.type === 'boolean') {
    shaped = fc.boolean();
  } else if (schema.type === 'array' && depth < 4) {
    shaped = fc.array(valueFor(doc, schema.items, depth + 1), { maxLength: 6 });
  } else if ((schema.type === 'object' || schema.properties !== undefined) && depth < 4) {
    shaped = objectFor(doc, schema, depth);
  } else {
    shaped = anyJson;
  }
  return fc.oneof(
    { arbitrary: shaped, weight: 4 },
    { arbitrary: anyJson, weight: 1 },
    { arbitrary: hostileString, weight: 1 },
  );
}

/** Each property present or missing, sometimes an extra one, sometimes a deeply nested value. */
function objectFor(doc: OpenApiDocument, schema: OpenApiSchema, depth: number): fc.Arbitrary<Record<string, unknown>> {
  // Required properties are mostly there, optional ones half the time: often a valid whole.
  const required = new Set(schema.required ?? []);
  const fields = Object.entries(schema.properties ?? {}).map(([name, property]) =>
    fc
      .oneof(
        { arbitrary: valueFor(doc, property, depth + 1), weight: required.has(name) ? 9 : 1 },
        { arbitrary: fc.constant(undefined), weight: 1 },
      )
      .map((value) => [name, value] as const),
  );
  const extra = rarely(fc.tuple(fc.oneof(hostileString, fc.constantFrom('__proto__', 'constructor')), anyJson), 5);
  const nested = rarely(deeplyNested, 10);
  return fc.tuple(fc.tuple(...fields), extra, nested).map(([pairs, extraPair, deep]) => {
    const value: Record<string, unknown> = {};
    for (const [name, item] of pairs) {
      if (item !== undefined) {
        value[name] = item;
      }
    }
    if (extraPair !== null) {
      Object.defineProperty(value, extraPair[0], {
        value: extraPair[1],
        enumerable: true,
        configurable: true,
        writable: true,
      });
    }
    if (deep !== null && pairs[0] !== undefined) {
      value[pairs[0][0]] = deep;
    }
    return value;
  });
}

/** A query string value: schema-shaped, malformed percent-encoding, numbers in other notations. */
export function queryValueFor(doc: OpenApiDocument, schema: OpenApiSchema | undefined): fc.Arbitrary<string> {
  const shaped = valueFor(doc, schema).map((value) =>
    encodeURIComponent(
      typeof value === 'string' ? value.replace(/[\ud800-\udfff]/g, 'x') : (JSON.stringify(value) ?? ''),
    ),
  );
  return fc.oneof(
    { arbitrary: shaped, weight: 4 },
    {
      arbitrary: fc.constantFrom(
        '%00',
        '%ZZ',
        '%',
        '%E0%A4%A',
        '0x10',
        '%205',
        '1e3',
        '5.0',
        '-1',
        '',
        '%ED%A0%80',
        'a%00b',
      ),
      weight: 2,
    },
    { arbitrary: fc.string({ maxLength: 30 }).map(encodeURIComponent), weight: 1 },
  );
}
