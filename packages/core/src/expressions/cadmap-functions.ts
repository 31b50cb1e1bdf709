import fhirpath from 'fhirpath';
import { conversionFunctions, convertOrReport, reportConversion, type ConversionName } from '../functions/conversions.js';
import { createDateTimeConverter, type DateTimeConverter } from '../functions/datetime.js';
import { ref, uuid5 } from '../functions/identifiers.js';
import { coder, coding, translate, translator } from '../functions/lookup.js';
import { fullUrlsOf, type FullUrls } from '../bundle/ids.js';
import { defaultChecks } from '../mapping/model.js';
import { isNhsNumber, nhsNumber } from '../functions/nhs-number.js';
import { odsCode } from '../functions/ods-code.js';
import { postcode } from '../functions/postcode.js';
import { maxRefKeys } from './known-functions.js';
import { regexMatches, regexMatchesFull, regexReplace } from './regex.js';
import type { EvalSink, ExpressionEnv } from './types.js';

/**
 * The cadmap functions bound to one environment. Each maps one input item to its result (undefined = no
 * value); `ref` takes the key parts as collections. Shared by the closure compiler and the fhirpath.js
 * user invocation table so that both paths give the same results and reports.
 */
export interface BoundFunctions {
  dateTime(item: unknown, sink: EvalSink, format?: string): string | undefined;
  date(item: unknown, sink: EvalSink, format?: string): string | undefined;
  translate(item: unknown, sink: EvalSink, lookup: string): unknown;
  coding(item: unknown, sink: EvalSink, lookup: string): unknown;
  nhsNumber(item: unknown, sink: EvalSink): string | undefined;
  isNhsNumber(item: unknown): boolean;
  postcode(item: unknown, sink: EvalSink): string | undefined;
  odsCode(item: unknown, sink: EvalSink): string | undefined;
  uuid5(item: unknown, sink: EvalSink): string | undefined;
  ref(ruleId: string, keys: readonly (readonly unknown[])[], sink: EvalSink): string | undefined;
  /**
   * One of the functions above with its literal argument bound: the lookup table, its index and the date
   * converter are resolved on the first call instead of on every call.
   */
  withArgument(name: 'dateTime' | 'date' | 'translate' | 'coding', argument: string | undefined): (item: unknown, sink: EvalSink) => unknown;
  /** The fullUrls of the entries rule `ruleId` builds; undefined when no such rule is declared. */
  fullUrlsOf(ruleId: string): FullUrls | undefined;
  /** A FHIRPath conversion of one present value, reporting MAP_CONVERSION_FAILED when it does not convert. */
  convert(name: ConversionName): (item: unknown, sink: EvalSink) => unknown;
}

const bound = new WeakMap<ExpressionEnv, BoundFunctions>();

/** The cadmap functions for an environment (built once per environment). */
export function boundFunctions(env: ExpressionEnv): BoundFunctions {
  let functions = bound.get(env);
  if (!functions) {
    functions = bind(env);
    bound.set(env, functions);
  }
  return functions;
}

function bind(env: ExpressionEnv): BoundFunctions {
  const checks = env.checks ?? defaultChecks;
  let converter: DateTimeConverter | undefined;
  const dates = (): DateTimeConverter =>
    (converter ??= createDateTimeConverter({
      timeZone: env.timeZone,
      dateFormats: env.dateFormats,
      ambiguousTime: env.ambiguousTime,
      unparseable: checks.dates,
    }));
  const converters = new Map<ConversionName, (item: unknown, sink: EvalSink) => unknown>();
  const withArgument = (name: 'dateTime' | 'date' | 'translate' | 'coding', argument: string | undefined): ((item: unknown, sink: EvalSink) => unknown) => {
    switch (name) {
      case 'dateTime': {
        let bound: DateTimeConverter | undefined;
        return (item, sink) => (bound ??= dates()).dateTime(item, sink, argument);
      }
      case 'date': {
        let bound: DateTimeConverter | undefined;
        return (item, sink) => (bound ??= dates()).date(item, sink, argument);
      }
      case 'translate':
      case 'coding': {
        let lookup: ((item: unknown, sink: EvalSink) => unknown) | undefined;
        return (item, sink) => {
          if (lookup === undefined) {
            const table = argument === undefined ? undefined : env.lookups.get(argument);
            if (table === undefined) {
              return undefined;
            }
            lookup = name === 'translate' ? translator(table) : coder(table);
          }
          return lookup(item, sink);
        };
      }
    }
  };
  return {
    withArgument,
    convert: (name) => {
      let convert = converters.get(name);
      if (convert === undefined) {
        convert = convertOrReport(name, checks.conversions);
        converters.set(name, convert);
      }
      return convert;
    },
    fullUrlsOf: (ruleId) => {
      const resourceType = env.rules.get(ruleId);
      return resourceType === undefined ? undefined : fullUrlsOf(env.namespace, resourceType);
    },
    dateTime: (item, sink, format) => dates().dateTime(item, sink, format),
    date: (item, sink, format) => dates().date(item, sink, format),
    translate: (item, sink, lookup) => {
      const table = env.lookups.get(lookup);
      return table ? translate(table, item, sink) : undefined;
    },
    coding: (item, sink, lookup) => {
      const table = env.lookups.get(lookup);
      return table ? coding(table, item, sink) : undefined;
    },
    nhsNumber: (item, sink) => nhsNumber(item, sink, checks.codes),
    isNhsNumber: (item) => isNhsNumber(item),
    postcode: (item, sink) => postcode(item, sink, checks.codes),
    odsCode: (item, sink) => odsCode(item, sink, checks.codes),
    uuid5: (item, sink) => {
      if (typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean') {
        return uuid5(String(item), env.namespace);
      }
      sink.report({
        code: 'MAP_EVAL_ERROR',
        severity: 'error',
        message: 'uuid5() needs a string, number or boolean value.',
        hint: 'Apply uuid5() to a field value, not to a whole record.',
      });
      return undefined;
    },
    ref: (ruleId, keys, sink) => {
      const resourceType = env.rules.get(ruleId);
      if (resourceType === undefined) {
        sink.report({
          code: 'MAP_UNKNOWN_RULE',
          severity: 'error',
          message: `ref() names rule '${ruleId}', which is not declared.`,
        });
        return undefined;
      }
      return ref(env.namespace, ruleId, resourceType, keys, sink);
    },
  };
}

let currentSink: EvalSink | undefined;

/**
 * Runs `run` with `sink` as the sink the fhirpath.js user functions report to (evaluation is synchronous),
 * restoring the previous one afterwards.
 */
export function withCurrentSink<T>(sink: EvalSink, run: () => T): T {
  const previous = currentSink;
  currentSink = sink;
  try {
    return run();
  } finally {
    currentSink = previous;
  }
}

const discard: EvalSink = { report: () => undefined };
const sinkNow = (): EvalSink => currentSink ?? discard;

type UserFunction = {
  fn: (...args: unknown[]) => unknown;
  arity: Record<number, ('String' | 'AnyAtRoot')[]>;
  /** The function gets fhirpath.js's own items (typed values, nodes) and returns such items. */
  internalStructures?: boolean;
};

const perItem =
  (map: (item: unknown) => unknown) =>
  (data: unknown): unknown[] => {
    const out: unknown[] = [];
    for (const item of Array.isArray(data) ? data : []) {
      const value = map(item);
      if (value !== undefined) {
        out.push(value);
      }
    }
    return out;
  };

const stringArgument = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * fhirpath.js's own conversion functions, each reached through a compiled `%value.name()` that keeps
 * fhirpath.js's typed results (a date stays a date for comparisons): called by the checked functions below.
 */
const builtInConversions = new Map<string, (value: unknown[], unit?: unknown) => unknown[]>();

function builtInConversion(name: (typeof conversionFunctions)[number], withUnit: boolean): (value: unknown[], unit?: unknown) => unknown[] {
  const id = withUnit ? `${name}/unit` : name;
  let convert = builtInConversions.get(id);
  if (convert === undefined) {
    const compiled = fhirpath.compile(withUnit ? `%value.${name}(%unit)` : `%value.${name}()`, undefined, { resolveInternalTypes: false });
    convert = (value, unit) => compiled({}, withUnit ? { value, unit } : { value }) as unknown[];
    builtInConversions.set(id, convert);
  }
  return convert;
}

/** The plain value of a fhirpath.js item (a node's data, or the item itself), for messages. */
const itemValue = (item: unknown): unknown => (typeof item === 'object' && item !== null && 'data' in item ? item.data : item);

/**
 * fhirpath.js's conversion functions with their failures reported: one item that does not convert is
 * MAP_CONVERSION_FAILED (with the severity the mapping chose), as in cadmap's own compiled forms.
 */
function checkedConversions(env: ExpressionEnv): Record<string, UserFunction> {
  const severity = (env.checks ?? defaultChecks).conversions;
  const table: Record<string, UserFunction> = {};
  for (const name of conversionFunctions) {
    table[name] = {
      internalStructures: true,
      fn: (data, unit) => {
        const items = Array.isArray(data) ? (data as unknown[]) : [];
        const converted = builtInConversion(name, unit !== undefined)(items, unit);
        if (items.length === 1 && converted.length === 0) {
          reportConversion(sinkNow(), name, itemValue(items[0]), severity);
        }
        return converted;
      },
      arity: name === 'toQuantity' ? { 0: [], 1: ['String'] } : { 0: [] },
    };
  }
  return table;
}

/** The one string of a collection (fhirpath.js's singleton rule for the string functions); undefined when empty. */
function singleString(data: unknown, name: string): string | undefined {
  const items = Array.isArray(data) ? (data as unknown[]) : [];
  if (items.length === 0) {
    return undefined;
  }
  const [item] = items;
  if (items.length > 1 || typeof item !== 'string') {
    throw new Error(`${name}() expects one string, but got ${items.length > 1 ? `${items.length} values` : typeof item}`);
  }
  return item;
}

/**
 * fhirpath.js's regular expression functions, replaced by the linear-time ones (regex.ts); an empty input,
 * pattern or substitution gives an empty result, as in fhirpath.js.
 */
const regexFunctions: Record<string, UserFunction> = {
  matches: {
    fn: (data, regex, flags) => {
      const text = singleString(data, 'matches');
      return text === undefined || typeof regex !== 'string' ? [] : [regexMatches(text, regex, stringArgument(flags))];
    },
    arity: { 1: ['String'], 2: ['String', 'String'] },
  },
  matchesFull: {
    fn: (data, regex, flags) => {
      const text = singleString(data, 'matchesFull');
      return text === undefined || typeof regex !== 'string' ? [] : [regexMatchesFull(text, regex, stringArgument(flags))];
    },
    arity: { 1: ['String'], 2: ['String', 'String'] },
  },
  replaceMatches: {
    fn: (data, regex, substitution) => {
      const text = singleString(data, 'replaceMatches');
      return text === undefined || typeof regex !== 'string' || typeof substitution !== 'string' ? [] : [regexReplace(text, regex, substitution)];
    },
    arity: { 2: ['String', 'String'] },
  },
};

/** The user invocation table that makes the cadmap functions available to fhirpath.js. */
export function userInvocationTable(env: ExpressionEnv): Record<string, UserFunction> {
  const functions = boundFunctions(env);
  const refArity: Record<number, ('String' | 'AnyAtRoot')[]> = {};
  for (let keys = 1; keys <= maxRefKeys; keys++) {
    refArity[keys + 1] = ['String', ...Array.from({ length: keys }, () => 'AnyAtRoot' as const)];
  }
  return {
    ...checkedConversions(env),
    ...regexFunctions,
    dateTime: {
      fn: (data, format) => perItem((item) => functions.dateTime(item, sinkNow(), stringArgument(format)))(data),
      arity: { 0: [], 1: ['String'] },
    },
    date: {
      fn: (data, format) => perItem((item) => functions.date(item, sinkNow(), stringArgument(format)))(data),
      arity: { 0: [], 1: ['String'] },
    },
    translate: {
      fn: (data, lookup) => perItem((item) => functions.translate(item, sinkNow(), String(lookup)))(data),
      arity: { 1: ['String'] },
    },
    coding: {
      fn: (data, lookup) => perItem((item) => functions.coding(item, sinkNow(), String(lookup)))(data),
      arity: { 1: ['String'] },
    },
    nhsNumber: { fn: (data) => perItem((item) => functions.nhsNumber(item, sinkNow()))(data), arity: { 0: [] } },
    isNhsNumber: { fn: (data) => perItem((item) => functions.isNhsNumber(item))(data), arity: { 0: [] } },
    postcode: { fn: (data) => perItem((item) => functions.postcode(item, sinkNow()))(data), arity: { 0: [] } },
    odsCode: { fn: (data) => perItem((item) => functions.odsCode(item, sinkNow()))(data), arity: { 0: [] } },
    uuid5: { fn: (data) => perItem((item) => functions.uuid5(item, sinkNow()))(data), arity: { 0: [] } },
    ref: {
      fn: (_data, ruleId, ...keys) => {
        const result = functions.ref(
          String(ruleId),
          keys.map((key): unknown[] => (Array.isArray(key) ? (key as unknown[]) : [])),
          sinkNow(),
        );
        return result === undefined ? [] : [result];
      },
      arity: refArity,
    },
  };
}
