import type { ElementDefinition, StructureDefinition } from 'fhir/r4.js';
import type { FhirPackageRegistry, PackageProblem } from './registry.js';

type MutableElement = ElementDefinition & Record<string, unknown>;

/**
 * Generates snapshots for differential-only StructureDefinitions (UK Core ships differentials) by applying each
 * differential element to a copy of the base snapshot, creating slices and expanding data types on demand. Results
 * are memoised per canonical URL.
 *
 * Scope: constraint profiles and extensions (derivation `constraint`). Re-slicing (`a:b/c`) is treated as a plain
 * slice; differential elements without `id` get one derived from `path` and `sliceName`.
 */
export class SnapshotGenerator {
  private readonly done = new Map<string, StructureDefinition>();
  private readonly inProgress = new Set<string>();

  /** Problems met generating snapshots; each names the StructureDefinition it concerns as `source`. */
  readonly problems: PackageProblem[] = [];

  constructor(private readonly registry: FhirPackageRegistry) {}

  /** What went wrong generating the snapshot of `sd` or of the profiles it derives from (empty when complete). */
  problemsOf(sd: StructureDefinition): string[] {
    const out: string[] = [];
    const seen = new Set<string>();
    for (let current: StructureDefinition | undefined = sd; current && !seen.has(current.url); current = current.baseDefinition ? this.registry.structureDefinition(current.baseDefinition) : undefined) {
      seen.add(current.url);
      if (current.snapshot?.element?.length) {break;}
      for (const p of this.problems) {if (p.source === current.url) {out.push(p.message);}}
    }
    return out;
  }

  /** The StructureDefinition with a snapshot (generated when it has only a differential), or undefined. */
  snapshotOf(canonical: string): StructureDefinition | undefined {
    const sd = this.registry.structureDefinition(canonical);
    if (!sd) {return undefined;}
    return this.ensure(sd);
  }

  /** Returns `sd` with a snapshot, generating it when needed. */
  ensure(sd: StructureDefinition): StructureDefinition | undefined {
    if (sd.snapshot?.element?.length) {return sd;}
    const key = `${sd.url}|${sd.version ?? ''}`;
    const cached = this.done.get(key);
    if (cached) {return cached;}
    if (this.inProgress.has(key)) {
      this.problems.push({ source: sd.url, message: `Circular baseDefinition chain at ${sd.url}` });
      return undefined;
    }
    this.inProgress.add(key);
    try {
      const generated = this.generate(sd);
      if (generated) {this.done.set(key, generated);}
      return generated;
    } finally {
      this.inProgress.delete(key);
    }
  }

  private generate(sd: StructureDefinition): StructureDefinition | undefined {
    if (!sd.baseDefinition) {
      this.problems.push({ source: sd.url, message: `${sd.url} has no snapshot and no baseDefinition` });
      return undefined;
    }
    const base = this.snapshotOf(sd.baseDefinition);
    if (!base?.snapshot) {
      this.problems.push({ source: sd.url, message: `Base ${sd.baseDefinition} of ${sd.url} cannot be resolved` });
      return undefined;
    }
    const elements = structuredClone(base.snapshot.element) as MutableElement[];
    const original = new Map(base.snapshot.element.map((e) => [e.id ?? e.path, e]));
    const root = elements[0];
    if (root) {
      // The root of a derived profile does not inherit the base's short/definition identity fields.
      delete root.sliceName;
    }
    const differential = sd.differential?.element ?? [];
    const ids = differentialIds(differential);
    for (const [n, diff] of differential.entries()) {
      const id = ids[n] ?? idFromPath(diff);
      const found = this.ensureElement(elements, id, sd.url, original);
      if (found === undefined) {
        this.problems.push({ source: sd.url, message: `Differential element ${id} of ${sd.url} matches no element of ${sd.baseDefinition}` });
        continue;
      }
      const target = elements[found];
      if (target) {mergeElement(target, diff as MutableElement);}
    }
    return { ...sd, snapshot: { element: elements } };
  }

  /** Index of the element with this id, creating slices and expanding types along the way. */
  private ensureElement(elements: MutableElement[], id: string, source: string, original: ReadonlyMap<string, ElementDefinition>): number | undefined {
    const existing = elements.findIndex((e) => e.id === id);
    if (existing >= 0) {return existing;}
    const segments = splitId(id);
    const last = segments.pop();
    if (last === undefined || segments.length === 0) {return undefined;}
    const parentId = segments.join('.');
    const colon = last.indexOf(':');
    if (colon >= 0) {
      const name = last.slice(0, colon);
      const sliceName = last.slice(colon + 1);
      const slicedId = `${parentId}.${name}`;
      const slicedIndex = this.ensureElement(elements, slicedId, source, original);
      if (slicedIndex === undefined) {return undefined;}
      const expanded = elements.findIndex((e) => e.id === id);
      if (expanded >= 0) {return expanded;}
      return createSlice(elements, slicedIndex, sliceName, undefined, original.get(slicedId));
    }
    const parentIndex = this.ensureElement(elements, parentId, source, original);
    if (parentIndex === undefined) {return undefined;}
    const childId = `${parentId}.${last}`;
    let index = elements.findIndex((e) => e.id === childId);
    if (index >= 0) {return index;}
    if (!hasChildren(elements, parentIndex)) {
      this.expand(elements, parentIndex, source);
      index = elements.findIndex((e) => e.id === childId);
      if (index >= 0) {return index;}
    }
    // `Observation.valueQuantity` in a differential constrains `Observation.value[x]` to Quantity.
    for (let i = parentIndex + 1; i < elements.length; i++) {
      const candidate = elements[i];
      if (!candidate?.id?.startsWith(`${parentId}.`)) {break;}
      const rest = candidate.id.slice(parentId.length + 1);
      if (!rest.endsWith('[x]') || rest.includes('.') || rest.includes(':')) {continue;}
      const stem = rest.slice(0, -3);
      if (!last.startsWith(stem)) {continue;}
      const typeName = last.slice(stem.length);
      const type = candidate.type?.find((t) => upperFirst(t.code) === typeName);
      if (type) {
        return createSlice(elements, i, last, [type], undefined);
      }
    }
    return undefined;
  }

  /** Inserts the children of the element's (single or profiled) type below it. */
  private expand(elements: MutableElement[], index: number, source: string): void {
    const parent = elements[index];
    if (!parent?.id) {return;}
    let children: MutableElement[] = [];
    let rootId = '';
    let rootPath = '';
    if (parent.contentReference) {
      const ref = parent.contentReference.replace(/^.*#/, '');
      const refIndex = elements.findIndex((e) => e.id === ref);
      if (refIndex < 0) {return;}
      children = elements.slice(refIndex + 1, blockEnd(elements, refIndex, ref)).filter((e) => !e.id?.slice(ref.length).includes(':'));
      rootId = ref;
      rootPath = ref;
      delete parent.contentReference;
      parent.type = structuredClone(elements[refIndex]?.type ?? [{ code: 'BackboneElement' }]);
    } else {
      const types = parent.type ?? [];
      if (types.length !== 1) {
        this.problems.push({ source, message: `Cannot expand ${parent.id}: it has ${types.length} types; constrain it to one type first` });
        return;
      }
      const type = types[0];
      if (!type) {return;}
      const profile = type.profile?.[0];
      const typeSd = profile ? this.snapshotOf(profile) : this.typeSnapshot(type.code);
      const typeElements = typeSd?.snapshot?.element;
      if (!typeElements?.[0]) {
        this.problems.push({ source, message: `Cannot expand ${parent.id}: type ${profile ?? type.code} not found` });
        return;
      }
      rootId = typeElements[0].id ?? typeElements[0].path;
      rootPath = typeElements[0].path;
      children = typeElements.slice(1) as MutableElement[];
    }
    const parentPath = parent.path;
    const copies = children.map((child) => {
      const copy = structuredClone(child);
      const childId = child.id ?? child.path;
      copy.id = parent.id + childId.slice(rootId.length);
      copy.path = parentPath + child.path.slice(rootPath.length);
      return copy;
    });
    elements.splice(index + 1, 0, ...copies);
  }

  private typeSnapshot(code: string): StructureDefinition | undefined {
    const name = code.startsWith('http://hl7.org/fhirpath/System.') ? undefined : code;
    if (!name) {return undefined;}
    return this.registry.coreType(name) ?? this.snapshotOf(name.includes('/') ? name : `http://hl7.org/fhir/StructureDefinition/${name}`);
  }
}

function createSlice(elements: MutableElement[], slicedIndex: number, sliceName: string, types: ElementDefinition['type'] | undefined, baseElement: ElementDefinition | undefined): number {
  const sliced = elements[slicedIndex];
  if (!sliced?.id) {return -1;}
  const slicedId = sliced.id;
  const name = slicedId.slice(slicedId.lastIndexOf('.') + 1);
  if (!sliced.slicing) {
    if (name === 'extension' || name === 'modifierExtension') {
      sliced.slicing = { discriminator: [{ type: 'value', path: 'url' }], rules: 'open' };
    } else if (name.endsWith('[x]')) {
      sliced.slicing = { discriminator: [{ type: 'type', path: '$this' }], ordered: false, rules: 'closed' };
    }
  }
  const end = blockEnd(elements, slicedIndex, slicedId);
  const block: MutableElement[] = [];
  for (let i = slicedIndex; i < end; i++) {
    const e = elements[i];
    if (!e?.id) {continue;}
    // Children come along with their own (nested) slices; sibling slices of the sliced element do not.
    if (i === slicedIndex || e.id.startsWith(`${slicedId}.`)) {block.push(e);}
  }
  const sliceId = `${slicedId}:${sliceName}`;
  const copies = block.map((e, i) => {
    // The slice root starts from the base profile's element (before this differential constrained it).
    const copy = structuredClone(i === 0 && baseElement ? (baseElement as MutableElement) : e);
    copy.id = sliceId + (e.id ?? '').slice(slicedId.length);
    if (i === 0) {
      copy.sliceName = sliceName;
      if (!baseElement) {copy.min = 0;}
      delete copy.slicing;
      if (types) {copy.type = structuredClone(types);}
    }
    return copy;
  });
  elements.splice(end, 0, ...copies);
  return end;
}

function blockEnd(elements: readonly MutableElement[], index: number, id: string): number {
  let j = index + 1;
  while (j < elements.length) {
    const next = elements[j]?.id ?? '';
    if (!next.startsWith(`${id}.`) && !next.startsWith(`${id}:`)) {break;}
    j++;
  }
  return j;
}

function hasChildren(elements: readonly MutableElement[], index: number): boolean {
  const id = elements[index]?.id;
  const next = elements[index + 1]?.id;
  return id !== undefined && next !== undefined && next.startsWith(`${id}.`);
}

const mergeReplaced = new Set(['id', 'path']);

function mergeElement(target: MutableElement, diff: MutableElement): void {
  for (const [key, value] of Object.entries(diff)) {
    if (mergeReplaced.has(key) || value === undefined) {continue;}
    if (key === 'constraint') {
      const existing = (target.constraint ??= []);
      for (const c of value as NonNullable<ElementDefinition['constraint']>) {
        const i = existing.findIndex((e) => e.key === c.key);
        if (i >= 0) {existing[i] = structuredClone(c);}
        else {existing.push(structuredClone(c));}
      }
    } else if (key === 'slicing') {
      target.slicing = { ...target.slicing, ...structuredClone(value as ElementDefinition['slicing']) } as ElementDefinition['slicing'];
    } else if (key.startsWith('fixed') || key.startsWith('pattern')) {
      for (const k of Object.keys(target)) {if (k.startsWith('fixed') || k.startsWith('pattern')) {delete target[k];}}
      target[key] = structuredClone(value);
    } else {
      target[key] = structuredClone(value);
    }
  }
}

/** Splits an element id on `.` outside slice names that themselves contain dots is not supported (rare). */
export function splitId(id: string): string[] {
  return id.split('.');
}

/**
 * Element ids of a differential, deriving missing ones from the path and the slices above (R4 allows
 * differentials without ids: an element after `sliceName: a` at path P, with a path below P, belongs to slice a).
 */
export function differentialIds(elements: readonly ElementDefinition[]): string[] {
  const sliceAt = new Map<string, string>();
  return elements.map((e) => {
    if (e.id) {return e.id;}
    const segments = e.path.split('.');
    let id = segments[0] ?? '';
    for (let i = 1; i < segments.length; i++) {
      id = `${id}.${segments[i] ?? ''}`;
      const inSlice = sliceAt.get(segments.slice(0, i + 1).join('.'));
      if (inSlice !== undefined && (i < segments.length - 1 || e.sliceName === undefined)) {id = inSlice;}
    }
    if (e.sliceName !== undefined) {
      id = `${id}:${e.sliceName}`;
      for (const path of [...sliceAt.keys()]) {if (path.startsWith(`${e.path}.`)) {sliceAt.delete(path);}}
      sliceAt.set(e.path, id);
    } else if (sliceAt.has(e.path)) {
      // The sliced element itself again: what follows is outside its slices.
      for (const path of [...sliceAt.keys()]) {if (path === e.path || path.startsWith(`${e.path}.`)) {sliceAt.delete(path);}}
    }
    return id;
  });
}

function idFromPath(e: ElementDefinition): string {
  return e.sliceName ? `${e.path}:${e.sliceName}` : e.path;
}

function upperFirst(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
