import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';

type Compiled = (data: unknown, env?: Record<string, unknown>) => unknown[];

/** Outcome of one invariant evaluation. */
export type InvariantResult = { readonly ok: boolean } | { readonly error: string };

/**
 * Evaluates FHIRPath invariants with the fhirpath.js R4 model. Each (base path, expression) pair is compiled once
 * and cached for the life of the engine.
 */
export class InvariantEngine {
  private readonly compiled = new Map<string, Compiled | string>();

  /** Number of distinct compiled expressions (tests use it to prove caching). */
  get size(): number {
    return this.compiled.size;
  }

  evaluate(expression: string, basePath: string, data: unknown, resource: unknown, rootResource: unknown): InvariantResult {
    const key = `${basePath}\u0000${expression}`;
    let fn = this.compiled.get(key);
    if (fn === undefined) {
      try {
        fn = fhirpath.compile({ base: basePath, expression }, r4Model, { traceFn: () => undefined }) as Compiled;
      } catch (error) {
        fn = `does not compile: ${error instanceof Error ? error.message : String(error)}`;
      }
      this.compiled.set(key, fn);
    }
    if (typeof fn === 'string') return { error: fn };
    try {
      const result = fn(data, { resource, rootResource });
      // An empty result satisfies the invariant (display-only references and ref-1, as the HL7 validator does).
      return { ok: !(result.length === 1 && result[0] === false) };
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error) };
    }
  }
}
