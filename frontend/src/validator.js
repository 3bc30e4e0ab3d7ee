// The forms' validator for react-jsonschema-form, without Ajv: Ajv compiles every schema
// to JavaScript with `new Function`, which the host's Content-Security-Policy
// (script-src 'self', no 'unsafe-eval') forbids. The forms submit with noValidate (the
// plugin validates, through the host), so RJSF needs a validator only to tell which
// alternative of a oneOf/anyOf some data matches: isValid below checks the keywords that
// decide that, by walking the schema.

const TYPES = {
  null: (value) => value === null,
  boolean: (value) => typeof value === 'boolean',
  number: (value) => typeof value === 'number' && Number.isFinite(value),
  integer: (value) => Number.isInteger(value),
  string: (value) => typeof value === 'string',
  array: (value) => Array.isArray(value),
  object: (value) => value !== null && typeof value === 'object' && !Array.isArray(value),
};

function equal(left, right) {
  return JSON.stringify(left) === JSON.stringify(right);
}

function resolve(ref, root) {
  if (typeof ref !== 'string' || !ref.startsWith('#')) return undefined;
  let node = root;
  for (const raw of ref.slice(1).split('/').filter(Boolean)) {
    const part = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !(part in node)) return undefined;
    node = node[part];
  }
  return node;
}

function matches(schema, value, root, depth = 0) {
  if (schema === true || schema === undefined) return true;
  if (schema === false) return false;
  if (schema === null || typeof schema !== 'object' || depth > 64) return true;
  if (schema.$ref !== undefined) {
    const target = resolve(schema.$ref, root);
    if (target !== undefined && !matches(target, value, root, depth + 1)) return false;
  }
  if (schema.type !== undefined) {
    const kinds = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!kinds.some((kind) => TYPES[kind]?.(value))) return false;
  }
  if ('const' in schema && !equal(schema.const, value)) return false;
  if (Array.isArray(schema.enum) && !schema.enum.some((item) => equal(item, value))) return false;
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) return false;
    if (schema.maxLength !== undefined && value.length > schema.maxLength) return false;
    if (typeof schema.pattern === 'string') {
      try {
        if (!new RegExp(schema.pattern, 'u').test(value)) return false;
      } catch {
        // A pattern JavaScript cannot read: the plugin checks it.
      }
    }
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) return false;
    if (schema.maximum !== undefined && value > schema.maximum) return false;
  }
  if (TYPES.object(value)) {
    for (const name of schema.required ?? []) if (!(name in value)) return false;
    for (const [name, sub] of Object.entries(schema.properties ?? {})) {
      if (name in value && !matches(sub, value[name], root, depth + 1)) return false;
    }
    if (schema.additionalProperties === false) {
      const known = new Set(Object.keys(schema.properties ?? {}));
      if (Object.keys(value).some((name) => !known.has(name))) return false;
    }
  }
  if (Array.isArray(value) && schema.items !== undefined && !Array.isArray(schema.items)) {
    if (!value.every((item) => matches(schema.items, item, root, depth + 1))) return false;
  }
  if (Array.isArray(schema.allOf) && !schema.allOf.every((sub) => matches(sub, value, root, depth + 1))) return false;
  if (Array.isArray(schema.anyOf) && !schema.anyOf.some((sub) => matches(sub, value, root, depth + 1))) return false;
  if (Array.isArray(schema.oneOf) && schema.oneOf.filter((sub) => matches(sub, value, root, depth + 1)).length !== 1) return false;
  if (schema.not !== undefined && matches(schema.not, value, root, depth + 1)) return false;
  return true;
}

export const validator = {
  validateFormData() {
    return { errors: [], errorSchema: {} };
  },
  isValid(schema, formData, rootSchema) {
    return matches(schema, formData, rootSchema ?? schema);
  },
  rawValidation(schema, formData) {
    return { errors: matches(schema, formData, schema) ? [] : [{ message: 'does not match the schema' }] };
  },
  reset() {},
};
