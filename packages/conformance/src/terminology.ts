import type { CodeSystem, CodeSystemConcept, ValueSet, ValueSetComposeInclude } from 'fhir/r4.js';
import type { FhirPackageRegistry } from './registry.js';

/** Outcome of checking one code against a value set offline. */
export type CodeCheck =
  | { readonly status: 'member' }
  | { readonly status: 'not-member' }
  /** The value set or a code system it needs is not available locally. */
  | { readonly status: 'unavailable'; readonly what: string }
  /** SNOMED CT / dm+d intensional content: cannot be checked offline. */
  | { readonly status: 'not-checked'; readonly system: string };

/** Code systems whose intensional value sets need a terminology server. */
const offlineUncheckable = new Set([
  'http://snomed.info/sct',
  'https://dmd.nhs.uk',
  'http://snomed.info/sct/999000011000001104',
  'https://fhir.nhs.uk/CodeSystem/dmd',
]);

/** Code systems that are defined by a grammar or too large to hold; codes are accepted without a local check. */
const grammarSystems = new Set(['urn:ietf:bcp:47', 'urn:iso:std:iso:3166', 'urn:ietf:bcp:13', 'http://unitsofmeasure.org', 'urn:iso:std:iso:4217']);

interface IncludePart {
  readonly system: string | undefined;
  /** Explicit codes (undefined: every code of the system). */
  readonly codes: ReadonlySet<string> | undefined;
  readonly intensional: boolean;
  readonly valueSets: readonly string[];
}

interface CompiledValueSet {
  readonly includes: readonly IncludePart[];
  readonly excludes: readonly IncludePart[];
  readonly expansion: ReadonlyMap<string, ReadonlySet<string>> | undefined;
}

/** Offline ValueSet membership and CodeSystem lookup over the registry's resources, memoised. */
export class Terminology {
  private readonly valueSets = new Map<string, CompiledValueSet | null>();
  private readonly codeSystems = new Map<string, { content: string; codes: Map<string, CodeSystemConcept>; parents: Map<string, string[]> } | null>();

  constructor(private readonly registry: FhirPackageRegistry) {}

  /** Whether a code system is held locally with complete content. */
  codeSystemStatus(system: string): 'complete' | 'partial' | 'grammar' | 'unavailable' {
    if (grammarSystems.has(system)) {return 'grammar';}
    const cs = this.codeSystem(system);
    if (!cs) {return 'unavailable';}
    return cs.content === 'complete' ? 'complete' : 'partial';
  }

  /** Whether `code` exists in a locally held complete code system. */
  codeInSystem(system: string, code: string): boolean | undefined {
    const cs = this.codeSystem(system);
    if (!cs || cs.content !== 'complete') {return undefined;}
    return cs.codes.has(code);
  }

  /** Display of a code in a local code system. */
  display(system: string, code: string): string | undefined {
    return this.codeSystem(system)?.codes.get(code)?.display;
  }

  /** Checks `system|code` against a value set (system undefined: a bare `code` element). */
  check(valueSetUrl: string, system: string | undefined, code: string, depth = 0): CodeCheck {
    const vs = this.valueSet(valueSetUrl);
    if (!vs) {return { status: 'unavailable', what: `ValueSet ${valueSetUrl}` };}
    if (vs.expansion) {
      if (system !== undefined) {return vs.expansion.get(system)?.has(code) ? { status: 'member' } : { status: 'not-member' };}
      for (const codes of vs.expansion.values()) {if (codes.has(code)) {return { status: 'member' };}}
      return { status: 'not-member' };
    }
    let pending: CodeCheck | undefined;
    for (const part of vs.includes) {
      const result = this.checkPart(part, system, code, depth);
      if (result.status === 'member') {
        if (vs.excludes.some((ex) => this.checkPart(ex, system, code, depth).status === 'member')) {return { status: 'not-member' };}
        return result;
      }
      if (result.status !== 'not-member') {pending ??= result;}
    }
    return pending ?? { status: 'not-member' };
  }

  private checkPart(part: IncludePart, system: string | undefined, code: string, depth: number): CodeCheck {
    if (part.system !== undefined && system !== undefined && part.system !== system) {return { status: 'not-member' };}
    if (part.system === undefined && part.valueSets.length === 0) {return { status: 'not-member' };}
    for (const inner of part.valueSets) {
      if (depth > 10) {return { status: 'unavailable', what: `ValueSet ${inner} (nesting too deep)` };}
      const result = this.check(inner, system, code, depth + 1);
      if (result.status !== 'member') {return result;}
    }
    if (part.system === undefined) {return { status: 'member' };}
    if (part.codes) {return part.codes.has(code) ? { status: 'member' } : { status: 'not-member' };}
    if (offlineUncheckable.has(part.system)) {return { status: 'not-checked', system: part.system };}
    if (grammarSystems.has(part.system)) {return { status: 'member' };}
    const cs = this.codeSystem(part.system);
    if (!cs) {return { status: 'unavailable', what: `CodeSystem ${part.system}` };}
    if (part.intensional) {return { status: 'not-checked', system: part.system };}
    if (cs.codes.has(code)) {return { status: 'member' };}
    return cs.content === 'complete' ? { status: 'not-member' } : { status: 'unavailable', what: `CodeSystem ${part.system} (content ${cs.content})` };
  }

  private valueSet(url: string): CompiledValueSet | undefined {
    let compiled = this.valueSets.get(url);
    if (compiled === undefined) {
      const vs = this.registry.valueSet(url);
      compiled = vs ? this.compileValueSet(vs) : null;
      this.valueSets.set(url, compiled);
    }
    return compiled ?? undefined;
  }

  private compileValueSet(vs: ValueSet): CompiledValueSet {
    let expansion: Map<string, Set<string>> | undefined;
    if (!vs.compose && vs.expansion?.contains) {
      expansion = new Map();
      const add = (items: NonNullable<NonNullable<ValueSet['expansion']>['contains']>): void => {
        for (const item of items) {
          if (item.system !== undefined && item.code !== undefined) {
            const target = expansion ?? new Map<string, Set<string>>();
            const set = target.get(item.system) ?? new Set<string>();
            set.add(item.code);
            target.set(item.system, set);
          }
          if (item.contains) {add(item.contains);}
        }
      };
      add(vs.expansion.contains);
    }
    return {
      includes: (vs.compose?.include ?? []).map((inc) => this.compileInclude(inc)),
      excludes: (vs.compose?.exclude ?? []).map((inc) => this.compileInclude(inc)),
      expansion,
    };
  }

  private compileInclude(inc: ValueSetComposeInclude): IncludePart {
    let codes: Set<string> | undefined;
    let intensional = false;
    if (inc.concept?.length) {
      codes = new Set(inc.concept.map((c) => c.code));
    } else if (inc.filter?.length && inc.system !== undefined) {
      codes = this.filterCodes(inc.system, inc.filter);
      intensional = codes === undefined;
    }
    return { system: inc.system, codes, intensional, valueSets: inc.valueSet ?? [] };
  }

  /** Evaluates is-a / descendent-of / = filters on a local code system; undefined when it cannot. */
  private filterCodes(system: string, filters: NonNullable<ValueSetComposeInclude['filter']>): Set<string> | undefined {
    if (offlineUncheckable.has(system)) {return undefined;}
    const cs = this.codeSystem(system);
    if (!cs) {return undefined;}
    let result: Set<string> | undefined;
    for (const f of filters) {
      let set: Set<string>;
      if (f.property === 'concept' && (f.op === 'is-a' || f.op === 'descendent-of')) {
        set = this.descendants(cs.parents, f.value);
        if (f.op === 'is-a') {set.add(f.value);}
      } else if (f.op === '=' && f.property === 'concept') {
        set = new Set([f.value]);
      } else {
        return undefined;
      }
      result = result ? new Set([...result].filter((c) => set.has(c))) : set;
    }
    return result;
  }

  private descendants(parents: Map<string, string[]>, root: string): Set<string> {
    const out = new Set<string>();
    const stack = [root];
    while (stack.length) {
      const next = stack.pop() as string;
      for (const child of parents.get(next) ?? []) {
        if (!out.has(child)) {
          out.add(child);
          stack.push(child);
        }
      }
    }
    return out;
  }

  private codeSystem(url: string): { content: string; codes: Map<string, CodeSystemConcept>; parents: Map<string, string[]> } | undefined {
    let entry = this.codeSystems.get(url);
    if (entry === undefined) {
      const cs: CodeSystem | undefined = this.registry.codeSystem(url);
      if (cs) {
        const codes = new Map<string, CodeSystemConcept>();
        const parents = new Map<string, string[]>();
        const walk = (concepts: readonly CodeSystemConcept[], parent: string | undefined): void => {
          for (const c of concepts) {
            codes.set(c.code, c);
            if (parent !== undefined) {
              const list = parents.get(parent) ?? [];
              list.push(c.code);
              parents.set(parent, list);
            }
            if (c.concept) {walk(c.concept, c.code);}
          }
        };
        walk(cs.concept ?? [], undefined);
        for (const c of codes.values()) {
          for (const p of c.property ?? []) {
            if ((p.code === 'subsumedBy' || p.code === 'parent') && p.valueCode !== undefined) {
              const list = parents.get(p.valueCode) ?? [];
              list.push(c.code);
              parents.set(p.valueCode, list);
            }
          }
        }
        entry = { content: cs.content, codes, parents };
      } else {
        entry = null;
      }
      this.codeSystems.set(url, entry);
    }
    return entry ?? undefined;
  }
}
