import type { ElementDefinition, ElementDefinitionConstraint, StructureDefinition } from 'fhir/r4.js';

/** A type allowed on an element, with the JSON property name it takes in a choice element. */
export interface ElementType {
  /** FHIR type name (`string`, `CodeableConcept`, `Reference`, …); `System.String` types carry their fhir-type. */
  readonly code: string;
  readonly profiles: readonly string[];
  readonly targetProfiles: readonly string[];
  /** The element of the (first) profile the type stands for (elementdefinition-profile-element), e.g. a section template. */
  readonly profileElement?: string;
}

/** One element of a compiled snapshot: the definition plus its children and slices, ready for fast walking. */
export interface ElementNode {
  readonly id: string;
  readonly path: string;
  /** Last path segment: `identifier`, `value[x]`. */
  readonly name: string;
  readonly def: ElementDefinition;
  readonly min: number;
  readonly max: number;
  /** Whether the JSON form is an array (from the base definition's max). */
  readonly isArray: boolean;
  readonly types: readonly ElementType[];
  readonly children: ElementNode[];
  readonly slices: ElementNode[];
  readonly sliceName: string | undefined;
  readonly fixed: { readonly key: string; readonly value: unknown } | undefined;
  readonly pattern: { readonly key: string; readonly value: unknown } | undefined;
  /** minValue[x] / maxValue[x] of the element, when it has either. */
  readonly limits: { readonly min?: { readonly key: string; readonly value: unknown }; readonly max?: { readonly key: string; readonly value: unknown } } | undefined;
  readonly constraints: readonly ElementDefinitionConstraint[];
  /** JSON property ⟶ child and the type that property name implies (lazily built). */
  keyMap: Map<string, { node: ElementNode; type: ElementType | undefined }> | undefined;
}

/** A compiled StructureDefinition. */
export interface CompiledStructure {
  readonly sd: StructureDefinition;
  readonly root: ElementNode;
  readonly byId: ReadonlyMap<string, ElementNode>;
}

const FHIR_TYPE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';

/** Builds the element tree of a snapshot. */
export function compileStructure(sd: StructureDefinition): CompiledStructure {
  const elements = sd.snapshot?.element ?? [];
  const byId = new Map<string, ElementNode>();
  let root: ElementNode | undefined;
  for (const def of elements) {
    const id = def.id ?? def.path;
    const node = makeNode(def, id);
    byId.set(id, node);
    const dot = lastDotOutsideSlice(id);
    if (dot < 0) {
      root ??= node;
      continue;
    }
    const parentId = id.slice(0, dot);
    const last = id.slice(dot + 1);
    const colon = last.indexOf(':');
    if (colon >= 0) {
      const sliced = byId.get(`${parentId}.${last.slice(0, colon)}`);
      if (sliced) {
        sliced.slices.push(node);
        continue;
      }
    }
    byId.get(parentId)?.children.push(node);
  }
  if (!root) {throw new Error(`StructureDefinition ${sd.url} has an empty snapshot`);}
  return { sd, root, byId };
}

function lastDotOutsideSlice(id: string): number {
  return id.lastIndexOf('.');
}

function makeNode(def: ElementDefinition, id: string): ElementNode {
  const path = def.path;
  const name = path.slice(path.lastIndexOf('.') + 1);
  const maxText = def.max ?? '*';
  const baseMax = def.base?.max ?? maxText;
  let fixed: ElementNode['fixed'];
  let pattern: ElementNode['pattern'];
  let min: { key: string; value: unknown } | undefined;
  let max: { key: string; value: unknown } | undefined;
  for (const key of Object.keys(def)) {
    const value = (def as unknown as Record<string, unknown>)[key];
    if (key.startsWith('fixed')) {fixed = { key, value };}
    else if (key.startsWith('pattern')) {pattern = { key, value };}
    else if (key.startsWith('minValue')) {min = { key, value };}
    else if (key.startsWith('maxValue')) {max = { key, value };}
  }
  return {
    id,
    path,
    name,
    def,
    min: def.min ?? 0,
    max: maxText === '*' ? Number.POSITIVE_INFINITY : Number(maxText),
    isArray: baseMax !== '1' && baseMax !== '0',
    types: (def.type ?? []).map((t) => {
      const profileElement = profileElementOf(t);
      return { code: typeCode(t), profiles: t.profile ?? [], targetProfiles: t.targetProfile ?? [], ...(profileElement !== undefined ? { profileElement } : {}) };
    }),
    children: [],
    slices: [],
    sliceName: def.sliceName,
    fixed,
    pattern,
    limits: min || max ? { ...(min ? { min } : {}), ...(max ? { max } : {}) } : undefined,
    constraints: def.constraint ?? [],
    keyMap: undefined,
  };
}

const PROFILE_ELEMENT_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/elementdefinition-profile-element';

function profileElementOf(t: NonNullable<ElementDefinition['type']>[number]): string | undefined {
  const extensions = (t as { _profile?: ({ extension?: { url: string; valueString?: string }[] } | null)[] })._profile?.[0]?.extension ?? [];
  return extensions.find((e) => e.url === PROFILE_ELEMENT_EXTENSION)?.valueString;
}

function typeCode(t: NonNullable<ElementDefinition['type']>[number]): string {
  if (t.code.startsWith('http://hl7.org/fhirpath/System.')) {
    const fhirType = t.extension?.find((e) => e.url === FHIR_TYPE_EXTENSION);
    const value = fhirType?.valueUrl ?? fhirType?.valueUri ?? fhirType?.valueString;
    if (value) {return value;}
    return t.code === 'http://hl7.org/fhirpath/System.String' ? 'string' : t.code.slice('http://hl7.org/fhirpath/System.'.length).toLowerCase();
  }
  return t.code;
}

/** The JSON property names a child accepts: `value[x]` ⟶ valueString, valueQuantity, …; primitives also `_name`. */
export function keyMapOf(children: readonly ElementNode[]): Map<string, { node: ElementNode; type: ElementType | undefined }> {
  const map = new Map<string, { node: ElementNode; type: ElementType | undefined }>();
  for (const child of children) {
    if (child.name.endsWith('[x]')) {
      const stem = child.name.slice(0, -3);
      for (const type of child.types) {map.set(stem + type.code.charAt(0).toUpperCase() + type.code.slice(1), { node: child, type });}
    } else {
      map.set(child.name, { node: child, type: child.types.length === 1 ? child.types[0] : undefined });
    }
  }
  return map;
}

/** FHIR primitive type names of R4. */
export const primitiveTypes: ReadonlySet<string> = new Set([
  'base64Binary', 'boolean', 'canonical', 'code', 'date', 'dateTime', 'decimal', 'id', 'instant', 'integer', 'markdown',
  'oid', 'positiveInt', 'string', 'time', 'unsignedInt', 'uri', 'url', 'uuid', 'xhtml',
]);
