import type { ElementDefinitionConstraint, StructureDefinition } from 'fhir/r4.js';
import type { ConformanceCode, ConformanceIssue, Severity } from './codes.js';
import { InvariantEngine, fastInvariant, invariantExpression } from './invariants.js';
import { checkBundle, indexBundle, resolveInBundle } from './bundle.js';
import { compareDateTimes } from './datetime.js';
import { convertUcum } from './ucum.js';
import { text } from './values.js';
import type { BundleIndex, EntryLink } from './bundle.js';
import { discriminatorSteps, valuesAtSteps } from './discriminator.js';
import type { PathStep, TypedValue } from './discriminator.js';
import { primitiveProblem } from './primitives.js';
import { QuestionnaireRules } from './questionnaire.js';
import type { FhirPackageRegistry } from './registry.js';
import { SnapshotGenerator } from './snapshot.js';
import { compileStructure, keyMapOf, primitiveTypes } from './structure.js';
import type { CompiledStructure, ElementNode, ElementType } from './structure.js';
import { Terminology } from './terminology.js';

/** How best-practice invariants (e.g. dom-6) are reported. */
export type BestPracticeMode = 'warning' | 'information' | 'ignore';

/** Severity of an extension whose definition is not loaded. */
export type UnknownExtensionMode = 'error' | 'warning' | 'information';

export interface ValidatorSettings {
  /** Profiles to apply by resource type when a resource declares no `meta.profile`. */
  readonly defaultProfiles?: Readonly<Record<string, string | readonly string[]>>;
  readonly bestPractice?: BestPracticeMode;
  /**
   * A profile that cannot be resolved or whose snapshot cannot be generated is an error (the check fails closed)
   * unless allowed here: `true` for all, or the canonical URLs allowed (with or without `|version`). Allowed ones
   * are reported as warnings.
   */
  readonly allowUnresolved?: boolean | readonly string[];
  /**
   * Severity of a profile that only the resource's own `meta.profile` claims and that cannot be resolved; default
   * `error`. (The HL7 validator's default is `warning`: it treats meta.profile as a claim it need not check.)
   */
  readonly unresolvedClaims?: 'error' | 'warning';
  /** Severity of an extension no loaded package defines (default `error`, as the HL7 validator). */
  readonly unknownExtensions?: UnknownExtensionMode;
  /**
   * URL prefixes of extensions accepted without a definition (the HL7 validator's allowed extension domains).
   * Always accepted, as by the HL7 validator: URLs containing example.org, acme.com or nema.org.
   */
  readonly extensionDomains?: readonly string[];
}

type Json = Record<string, unknown>;

interface BundleScope {
  readonly references: PendingReference[];
  /** References and uri/url values of each entry, for the reachability of document and message entries. */
  readonly links: EntryLink[];
  currentEntry: number;
  readonly index: BundleIndex;
}

interface PendingReference {
  readonly reference: string;
  readonly expression: string;
  readonly targetTypes: readonly string[];
  readonly entry: number;
}

interface WalkContext {
  readonly issues: ConformanceIssue[];
  resource: Json;
  rootResource: Json;
  bundle: BundleScope | undefined;
  /** Set while testing slice membership by profile: issues are collected, not reported. */
  readonly silent: boolean;
  /** The expression of the resource being walked (`Bundle.entry[2].resource`), for instance paths. */
  resourceExpression: string;
  /** URLs of the extensions being walked, innermost last (for extension contexts of type extension). */
  readonly extensionUrls: string[];
}

interface Item {
  readonly key: string;
  readonly value: unknown;
  readonly under: unknown;
  readonly type: ElementType | undefined;
  readonly expression: string;
}

/** Constraints checked by code: ele-1 and ext-1 on every element, txt-1/txt-2 (htmlChecks()) by the XHTML rules. */
const NATIVE_CONSTRAINTS = new Set(['ele-1', 'ext-1', 'txt-1', 'txt-2']);
/** uri/url elements that name things rather than link to Bundle entries. */
const NOT_LINKS = new Set(['Bundle.entry.fullUrl', 'Meta.profile', 'Extension.url', 'MessageHeader.source.endpoint', 'MessageHeader.destination.endpoint', 'Endpoint.address']);
const BEST_PRACTICE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/elementdefinition-bestpractice';

/**
 * Walks FHIR JSON against compiled snapshots and collects {@link ConformanceIssue}s. One instance caches compiled
 * structures, value sets and FHIRPath expressions; reuse it across resources.
 */
export class Validator {
  private readonly structures = new Map<string, CompiledStructure | null>();
  /** Problems of generated snapshots, by the canonical the structure was asked for. */
  private readonly structureProblems = new Map<string, readonly string[]>();
  private readonly keyMaps = new WeakMap<readonly ElementNode[], ReturnType<typeof keyMapOf>>();
  private readonly extensionSlices = new WeakMap<ElementNode, Map<string, ElementNode>>();
  private readonly nodesAtPath = new WeakMap<ElementNode, Map<string, ElementNode | null>>();
  private readonly baseTypeChains = new Map<string, string[]>();
  readonly snapshots: SnapshotGenerator;
  readonly terminology: Terminology;
  readonly invariants = new InvariantEngine();
  private readonly questionnaires: QuestionnaireRules;
  private readonly bestPractice: BestPracticeMode;

  constructor(
    readonly registry: FhirPackageRegistry,
    private readonly settings: ValidatorSettings = {},
  ) {
    this.snapshots = new SnapshotGenerator(registry);
    this.terminology = new Terminology(registry);
    this.questionnaires = new QuestionnaireRules(registry, this.terminology);
    this.bestPractice = settings.bestPractice ?? 'warning';
  }

  /** The compiled structure of a profile or type (canonical URL or core type name). */
  structure(canonical: string): CompiledStructure | undefined {
    let compiled = this.structures.get(canonical);
    if (compiled === undefined) {
      if (canonical.includes('/') || canonical.includes(':')) {
        const sd: StructureDefinition | undefined = this.snapshots.snapshotOf(canonical);
        compiled = sd?.snapshot?.element?.length ? compileStructure(sd) : null;
        const declared = this.registry.structureDefinition(canonical);
        const problems = declared ? this.snapshots.problemsOf(declared) : [];
        if (problems.length > 0) {this.structureProblems.set(canonical, problems);}
      } else {
        compiled = this.registry.coreStructure(canonical) ?? null;
      }
      this.structures.set(canonical, compiled);
    }
    return compiled ?? undefined;
  }

  /**
   * The compiled structure of a profile, reporting (fail closed: an error unless allowed) a profile that cannot be
   * resolved, whose snapshot cannot be generated, or whose snapshot is incomplete.
   */
  private usableStructure(url: string, expression: string, ctx: WalkContext, what: string, claimSeverity?: 'error' | 'warning'): CompiledStructure | undefined {
    const compiled = this.structure(url);
    const severity = claimSeverity === 'warning' ? 'warning' : this.unresolvedSeverity(url);
    const hint = severity === 'error' ? 'Load the package that defines it (--package), add a canonical alias, or allow it with --allow-unresolved.' : undefined;
    if (!compiled) {
      const declared = this.registry.structureDefinition(url);
      if (declared) {
        const problems = this.snapshots.problemsOf(declared);
        this.report(ctx, 'CONF_PACKAGE', severity, expression, `The snapshot of profile ${url} cannot be generated (${problems.join('; ') || 'no snapshot and no differential to build one'}), so ${what} was not checked against it.`, hint);
      } else {
        this.report(ctx, 'CONF_PROFILE_UNKNOWN', severity, expression, `Profile ${url} cannot be resolved, so ${what} was not checked against it.`, hint);
      }
      return undefined;
    }
    const problems = this.structureProblems.get(url);
    if (problems) {
      this.report(ctx, 'CONF_PACKAGE', severity, expression, `The snapshot of profile ${url} is incomplete (${problems.join('; ')}); ${what} was checked only against the part that could be generated.`, hint);
    }
    return compiled;
  }

  private unresolvedSeverity(url: string): Severity {
    const allowed = this.settings.allowUnresolved;
    if (allowed === true) {return 'warning';}
    if (Array.isArray(allowed)) {
      const bare = url.split('|')[0] ?? url;
      if (allowed.some((a: string) => a === url || a === bare || a.split('|')[0] === bare)) {return 'warning';}
    }
    return 'error';
  }

  /** Validates a top-level resource; `profiles` are applied in addition to its `meta.profile`. */
  validate(resource: unknown, profiles: readonly string[] = []): ConformanceIssue[] {
    const issues: ConformanceIssue[] = [];
    const root = isRecord(resource) ? resource : {};
    const ctx: WalkContext = { issues, resource: root, rootResource: root, bundle: undefined, silent: false, resourceExpression: '', extensionUrls: [] };
    const rt = isRecord(resource) && typeof resource['resourceType'] === 'string' ? resource['resourceType'] : 'Resource';
    this.validateResource(resource, rt, profiles, ctx);
    return dedupe(issues);
  }

  private validateResource(value: unknown, expression: string, explicit: readonly string[], ctx: WalkContext): void {
    if (!isRecord(value)) {
      this.report(ctx, 'CONF_TYPE', 'error', expression, `Expected a resource (JSON object), found ${describe(value)}.`);
      return;
    }
    const rt = value['resourceType'];
    if (typeof rt !== 'string' || !this.registry.isResourceType(rt)) {
      this.report(ctx, 'CONF_RESOURCE_TYPE', 'error', expression, typeof rt === 'string' ? `Unknown resourceType "${rt}".` : 'The resource has no resourceType.', 'Set resourceType to an R4 resource type name.');
      return;
    }
    const urls = new Set<string>(explicit);
    const meta = value['meta'];
    if (isRecord(meta) && Array.isArray(meta['profile'])) {for (const p of meta['profile']) {if (typeof p === 'string') {urls.add(p);}}}
    const required = [...explicit, ...this.registry.globalProfiles(rt)];
    for (const p of this.registry.globalProfiles(rt)) {urls.add(p);}
    if (urls.size === 0) {
      const defaults = this.settings.defaultProfiles?.[rt];
      if (typeof defaults === 'string') {urls.add(defaults);}
      else if (defaults) {for (const d of defaults) {urls.add(d);}}
    }
    const structures: CompiledStructure[] = [];
    for (const url of urls) {
      const otherVersion = /^http:\/\/hl7\.org\/fhir\/(\d+\.\d+)\/StructureDefinition\//.exec(url)?.[1];
      if (otherVersion !== undefined && !otherVersion.startsWith('4.0') && !this.registry.structureDefinition(url)) {
        this.report(ctx, 'CONF_PROFILE_UNKNOWN', 'information', expression, `Profile ${url} is for FHIR ${otherVersion}, not R4, so it was not applied.`);
        continue;
      }
      const claimOnly = !required.includes(url);
      const compiled = this.usableStructure(url, expression, ctx, 'the resource', claimOnly ? this.settings.unresolvedClaims : undefined);
      if (!compiled) {
        continue;
      } else if (compiled.sd.type !== rt) {
        this.report(ctx, 'CONF_PROFILE_UNKNOWN', 'error', expression, `Profile ${url} is for ${compiled.sd.type}, not ${rt}.`);
      } else {
        structures.push(compiled);
      }
    }
    if (structures.length === 0) {
      const base = this.structure(rt);
      if (!base) {
        this.report(ctx, 'CONF_PACKAGE', 'error', expression, `No definition of ${rt} is loaded.`);
        return;
      }
      structures.push(base);
    }
    const savedResource = ctx.resource;
    const savedRoot = ctx.rootResource;
    const savedBundle = ctx.bundle;
    const savedExpression = ctx.resourceExpression;
    const isContained = /\.contained\[\d+\]$/.test(expression);
    ctx.resource = value;
    ctx.resourceExpression = expression;
    if (!isContained) {ctx.rootResource = value;}
    if (rt === 'Bundle') {ctx.bundle = { references: [], links: [], currentEntry: -1, index: indexBundle(value) };}
    for (const structure of structures) {
      this.checkComplex(value, structure.root, { code: rt, profiles: [], targetProfiles: [] }, expression, ctx, structure, true);
    }
    const id = value['id'];
    if (typeof id === 'string' && !/^[A-Za-z0-9\-.]{1,64}$/.test(id)) {
      this.report(ctx, 'CONF_PRIMITIVE', 'error', `${expression}.id`, `"${id}" is not a valid resource id (1-64 of A-Z a-z 0-9 - .).`);
    }
    const idExtensions = isRecord(value['_id']) ? value['_id']['extension'] : undefined;
    if (Array.isArray(idExtensions) && idExtensions.length > 0) {
      this.report(ctx, 'CONF_EXTENSION', 'error', `${expression}.id`, 'A resource id cannot carry extensions: it is the resource\'s identity on the server.', 'Leave the id out, or give it a value without extensions.');
    }
    if (rt === 'Bundle' && ctx.bundle) {this.checkBundleReferences(value, expression, ctx.bundle, ctx);}
    if (rt === 'StructureDefinition' && typeof value['type'] === 'string' && !/^[a-z][a-z0-9+.-]*:/i.test(value['type']) && !this.registry.coreType(value['type'])) {
      this.report(ctx, 'CONF_TYPE', 'error', `${expression}.type`, `The type ${value['type']} is not a FHIR type; a type defined elsewhere (a logical model) is named by an absolute URL.`);
    }
    if (!ctx.silent && (rt === 'QuestionnaireResponse' || rt === 'Questionnaire')) {
      const report = (severity: Severity, at: string, message: string, hint?: string): void => this.report(ctx, 'CONF_QUESTIONNAIRE', severity, at, message, hint);
      if (rt === 'QuestionnaireResponse') {this.questionnaires.checkResponse(value, expression, report);}
      else {this.questionnaires.checkQuestionnaire(value, expression, report);}
    }
    ctx.resource = savedResource;
    ctx.rootResource = savedRoot;
    ctx.bundle = savedBundle;
    ctx.resourceExpression = savedExpression;
  }

  /** Checks an object value (complex type, backbone element or resource) against a node and its type. */
  private checkComplex(value: unknown, node: ElementNode, type: ElementType, expression: string, ctx: WalkContext, structure: CompiledStructure, isResourceRoot = false): void {
    if (!isRecord(value)) {
      this.report(ctx, 'CONF_TYPE', 'error', expression, `Expected ${type.code} (a JSON object), found ${describe(value)}.`);
      return;
    }
    let children = node.children;
    let rootConstraints: readonly ElementDefinitionConstraint[] = [];
    let rootBase = '';
    let childStructure = structure;
    let typeRoot: ElementNode | undefined;
    if (node.def.contentReference) {
      const target = structure.byId.get(node.def.contentReference.replace(/^.*#/, ''));
      if (target) {children = target.children;}
    } else if (children.length === 0) {
      const typeStructure = this.typeStructure(type, expression, ctx, value);
      if (typeStructure) {
        const element = this.profileElement(type, typeStructure);
        children = element?.children ?? typeStructure.root.children;
        rootConstraints = element?.constraints ?? typeStructure.root.constraints;
        rootBase = element?.path ?? typeStructure.root.path;
        childStructure = typeStructure;
        typeRoot = element ?? typeStructure.root;
      }
    } else if (type.profileElement !== undefined || (type.code === 'BackboneElement' && type.profiles.length > 0)) {
      // A backbone element whose children the profile did not constrain, typed with a profile (section
      // templates): the value must also meet that profile.
      const typeStructure = this.typeStructure(type, expression, ctx);
      const element = typeStructure ? this.profileElement(type, typeStructure) ?? typeStructure.root : undefined;
      if (typeStructure && element) {this.checkComplex(value, element, { code: type.code, profiles: [], targetProfiles: [] }, expression, ctx, typeStructure);}
    }
    const extensionUrl = type.code === 'Extension' && typeof value['url'] === 'string' ? value['url'] : undefined;
    if (extensionUrl !== undefined) {ctx.extensionUrls.push(this.registry.canonicalOf(extensionUrl));}
    this.checkChildren(value, children, node, type, expression, ctx, childStructure, isResourceRoot);
    if (extensionUrl !== undefined) {ctx.extensionUrls.pop();}
    // Element-level rules.
    if (!isResourceRoot && Object.keys(value).every((k) => k === 'id' || k === 'fhir_comments')) {
      this.report(ctx, 'CONF_INVARIANT', 'error', expression, 'ele-1: All FHIR elements must have a @value or children.', 'Remove the empty element.', 'ele-1');
    }
    if (type.code === 'Extension') {
      const hasExtensions = Array.isArray(value['extension']) && value['extension'].length > 0;
      const hasValue = Object.keys(value).some((k) => k.startsWith('value'));
      if (hasExtensions === hasValue) {
        this.report(ctx, 'CONF_INVARIANT', 'error', expression, 'ext-1: Must have either extensions or value[x], not both.', undefined, 'ext-1');
      }
    }
    this.checkFixedAndPattern(value, node, expression, ctx);
    if (typeRoot && typeRoot !== node) {this.checkFixedAndPattern(value, typeRoot, expression, ctx);}
    if (node.limits) {this.checkLimits(value, node, expression, ctx);}
    this.checkBinding(value, type.code, node, expression, ctx);
    this.checkConstraints(value, node.constraints, node.path, expression, ctx, rootConstraints, rootBase);
    if (type.code === 'Reference') {this.collectReference(value, type, node, expression, ctx);}
    if (type.code === 'Coding') {this.checkCodeInSystem(value, expression, ctx);}
    if (type.code === 'Attachment') {this.checkAttachmentSize(value, expression, ctx);}
  }

  /** An Attachment's stated size must be the size of its data. */
  private checkAttachmentSize(attachment: Json, expression: string, ctx: WalkContext): void {
    const size = attachment['size'];
    const data = attachment['data'];
    if (typeof size !== 'number' || typeof data !== 'string' || primitiveProblem('base64Binary', data) !== undefined) {return;}
    const actual = Buffer.from(data, 'base64').length;
    if (actual !== size) {
      this.report(ctx, 'CONF_PRIMITIVE', 'error', `${expression}.size`, `The stated size ${size} is not the size of the data (${actual} bytes).`, 'Give the size of the decoded data, or leave size out.');
    }
  }

  /** A Coding whose system is held locally with complete content must use one of its codes. */
  private checkCodeInSystem(coding: Json, expression: string, ctx: WalkContext): void {
    const system = coding['system'];
    const code = coding['code'];
    if (typeof system !== 'string' || typeof code !== 'string') {return;}
    if (this.terminology.codeInSystem(system, code) === false) {
      this.report(ctx, 'CONF_CODE_INVALID', 'error', `${expression}.code`, `Code "${code}" does not exist in code system ${system}.`, 'Check the code (and its case) against the code system.');
    }
  }

  /** The element a type's profile-element extension names in the profile, if any. */
  private profileElement(type: ElementType, structure: CompiledStructure): ElementNode | undefined {
    return type.profileElement === undefined ? undefined : structure.byId.get(type.profileElement);
  }

  private typeStructure(type: ElementType, expression: string, ctx: WalkContext, value?: unknown): CompiledStructure | undefined {
    if (type.profiles.length > 1 && value !== undefined && !ctx.silent) {
      // A choice of profiles: the value must meet one of them; it is checked against the first it meets.
      const met = type.profiles.find((p) => this.structure(p) && this.conformsSilently(value, p, ctx));
      if (met) {return this.structure(met);}
    }
    for (const profile of type.profiles) {
      const s = this.usableStructure(profile, expression, ctx, `the ${type.code}; it was checked against the base type only`);
      if (s) {return s;}
    }
    return this.structure(type.code);
  }

  private checkChildren(obj: Json, children: readonly ElementNode[], parent: ElementNode, parentType: ElementType, expression: string, ctx: WalkContext, structure: CompiledStructure, isResourceRoot: boolean): void {
    let keyMap = this.keyMaps.get(children);
    if (!keyMap) {
      keyMap = keyMapOf(children);
      this.keyMaps.set(children, keyMap);
    }
    const groups = new Map<ElementNode, { keys: Set<string>; type: ElementType | undefined }[]>();
    for (const key of Object.keys(obj)) {
      if (key === 'fhir_comments' || (isResourceRoot && key === 'resourceType')) {continue;}
      const underscore = key.charCodeAt(0) === 95;
      const name = underscore ? key.slice(1) : key;
      const entry = keyMap.get(name);
      if (!entry || (underscore && !(entry.type && primitiveTypes.has(entry.type.code)))) {
        const choice = entry ? undefined : this.disallowedChoice(name, children);
        if (choice) {
          const suffix = name.slice(choice.name.length - 3);
          const typeName = primitiveTypes.has(suffix.charAt(0).toLowerCase() + suffix.slice(1)) ? suffix.charAt(0).toLowerCase() + suffix.slice(1) : suffix;
          this.report(ctx, 'CONF_TYPE', 'error', `${expression}.${key}`, `${choice.path} does not allow type ${typeName}; allowed: ${choice.types.map((t) => t.code).join(', ')}.`, `Use ${choice.types.map((t) => choice.name.replace('[x]', t.code.charAt(0).toUpperCase() + t.code.slice(1))).join(' or ')}.`);
          continue;
        }
        this.report(ctx, 'CONF_UNKNOWN_ELEMENT', 'error', `${expression}.${key}`, `Unknown element "${key}" in ${parentType.code === parent.path ? parent.path : `${parent.path} (${parentType.code})`}.`, hintForUnknown(name, keyMap));
        continue;
      }
      let list = groups.get(entry.node);
      if (!list) {groups.set(entry.node, (list = []));}
      const existing = list.find((g) => g.type === entry.type);
      if (existing) {existing.keys.add(name);}
      else {list.push({ keys: new Set([name]), type: entry.type });}
    }
    for (const child of children) {
      const group = groups.get(child);
      if (!group && child.min === 0 && (child.slices.length === 0 || child.slices.every((s) => s.min === 0))) {continue;}
      const childExpression = `${expression}.${child.name.replace('[x]', '')}`;
      if (!group) {
        if (child.min > 0) {
          this.report(ctx, 'CONF_CARDINALITY', 'error', childExpression, `${child.path} is required (min ${child.min}) but missing.`, `Add ${child.name}.`);
        }
        for (const slice of child.slices) {
          if (slice.min > 0) {this.report(ctx, 'CONF_SLICE', 'error', childExpression, `Slice ${child.path}:${slice.sliceName ?? ''} requires at least ${slice.min} item(s), found 0.`, undefined, slice.sliceName);}
        }
        continue;
      }
      if (group.length > 1) {
        this.report(ctx, 'CONF_CARDINALITY', 'error', childExpression, `Only one type of ${child.name} is allowed; found ${group.map((g) => [...g.keys][0]).join(', ')}.`);
      }
      const items: Item[] = [];
      for (const g of group) {
        const key = [...g.keys][0] as string;
        const plain = obj[key];
        const under = obj[`_${key}`];
        if (child.isArray) {
          if ((plain !== undefined && !Array.isArray(plain)) || (under !== undefined && !Array.isArray(under))) {
            this.report(ctx, 'CONF_TYPE', 'error', `${expression}.${key}`, `${child.path} repeats (max ${child.def.base?.max ?? child.def.max}): its JSON value must be an array.`, `Write "${key}": [ … ].`);
          }
          const p = toArray(plain);
          const u = toArray(under);
          if ((plain !== undefined && p.length === 0) || (under !== undefined && u.length === 0)) {
            this.report(ctx, 'CONF_TYPE', 'error', `${expression}.${key}`, `Empty array for ${child.path}.`, 'Leave the property out when it has no values.');
          }
          const n = Math.max(p.length, u.length);
          for (let i = 0; i < n; i++) {
            const v = p[i] ?? undefined;
            const w = u[i] ?? undefined;
            if ((v === null || v === undefined) && (w === null || w === undefined)) {
              this.report(ctx, 'CONF_TYPE', 'error', `${expression}.${key}[${i}]`, `Null item in ${child.path}.`);
              continue;
            }
            items.push({ key, value: v === null ? undefined : v, under: w === null ? undefined : w, type: g.type, expression: `${expression}.${key}[${i}]` });
          }
        } else {
          if (Array.isArray(plain) || Array.isArray(under)) {
            this.report(ctx, 'CONF_TYPE', 'error', `${expression}.${key}`, `${child.path} does not repeat (max 1): its JSON value must not be an array.`);
            const p = toArray(plain);
            p.forEach((v, i) => items.push({ key, value: v, under: undefined, type: g.type, expression: `${expression}.${key}[${i}]` }));
            continue;
          }
          if (plain === null) {
            this.report(ctx, 'CONF_TYPE', 'error', `${expression}.${key}`, `Null value for ${child.path}.`, 'Leave the property out instead of null.');
            continue;
          }
          items.push({ key, value: plain, under, type: g.type, expression: `${expression}.${key}` });
        }
      }
      if (items.length < child.min) {
        this.report(ctx, 'CONF_CARDINALITY', 'error', childExpression, `${child.path} requires at least ${child.min} item(s), found ${items.length}.`);
      } else if (items.length > child.max) {
        this.report(ctx, 'CONF_CARDINALITY', 'error', items[child.max]?.expression ?? childExpression, `${child.path} allows at most ${child.def.max}, found ${items.length}.`);
      }
      const targets = this.assignSlices(items, child, parent, parentType, isResourceRoot, ctx, structure, obj);
      items.forEach((item, i) => {
        const target = targets[i] ?? { node: child, structure };
        if (ctx.bundle && child.path === 'Bundle.entry') {ctx.bundle.currentEntry = itemIndex(item.expression);}
        this.checkItem(item, target.node, ctx, target.structure);
      });
    }
  }

  /** A choice element whose name stem matches `name` with a real FHIR type suffix that the profile does not allow. */
  private disallowedChoice(name: string, children: readonly ElementNode[]): ElementNode | undefined {
    for (const child of children) {
      if (!child.name.endsWith('[x]')) {continue;}
      const stem = child.name.slice(0, -3);
      if (!name.startsWith(stem) || name.length === stem.length) {continue;}
      const suffix = name.slice(stem.length);
      const typeName = primitiveTypes.has(suffix.charAt(0).toLowerCase() + suffix.slice(1)) ? suffix.charAt(0).toLowerCase() + suffix.slice(1) : suffix;
      if (this.registry.coreType(typeName)) {return child;}
    }
    return undefined;
  }

  private checkItem(item: Item, node: ElementNode, ctx: WalkContext, structure: CompiledStructure): void {
    let type = item.type;
    if (!type) {
      const resourceType = isRecord(item.value) ? item.value['resourceType'] : undefined;
      if (node.types.length === 1) {type = node.types[0];}
      else if (typeof resourceType === 'string' && node.types.length > 1 && node.types.every((t) => t.code === 'Resource' || this.registry.isResourceType(t.code))) {
        type = node.types.find((t) => t.code === resourceType) ?? node.types.find((t) => t.code === 'Resource');
        if (!type) {
          this.report(ctx, 'CONF_TYPE', 'error', item.expression, `A ${resourceType} is not allowed here: ${node.path} allows ${node.types.map((t) => t.code).join(', ')}.`);
          return;
        }
      }
      else if (node.types.length === 0 && node.path.split('.').length === 1) {type = { code: node.path, profiles: [], targetProfiles: [] };}
      else if (node.def.contentReference) {type = { code: 'BackboneElement', profiles: [], targetProfiles: [] };}
    } else if (node.types.length > 0 && !node.types.some((t) => t.code === type?.code)) {
      this.report(ctx, 'CONF_TYPE', 'error', item.expression, `Type ${type.code} is not allowed here (${node.types.map((t) => t.code).join(', ')}).`);
      return;
    } else if (node.types.length > 0) {
      type = node.types.find((t) => t.code === type?.code) ?? type;
    }
    if (!type) {
      this.report(ctx, 'CONF_TYPE', 'error', item.expression, `Cannot tell the type of ${node.path}.`);
      return;
    }
    if (primitiveTypes.has(type.code)) {
      this.checkPrimitive(item, node, type, ctx, structure);
    } else if (type.code === 'Resource' || this.registry.isResourceType(type.code)) {
      this.validateResource(item.value, item.expression, type.profiles, ctx);
    } else {
      this.checkComplex(item.value, node, type, item.expression, ctx, structure);
    }
  }

  private checkPrimitive(item: Item, node: ElementNode, type: ElementType, ctx: WalkContext, structure: CompiledStructure): void {
    if (item.value !== undefined) {
      const problem = primitiveProblem(type.code, item.value);
      if (problem) {
        this.report(ctx, 'CONF_PRIMITIVE', 'error', item.expression, `Invalid ${type.code} for ${node.path}: ${problem}.`);
        return;
      }
      if (node.def.maxLength !== undefined && typeof item.value === 'string' && [...item.value].length > node.def.maxLength) {
        this.report(ctx, 'CONF_PRIMITIVE', 'error', item.expression, `${node.path} is ${[...item.value].length} characters long, longer than its maxLength ${node.def.maxLength}.`);
      }
      if (node.limits) {this.checkLimits(item.value, node, item.expression, ctx);}
      this.checkFixedAndPattern(item.value, node, item.expression, ctx);
      if (type.code === 'code' || type.code === 'string' || type.code === 'uri') {this.checkBinding(item.value, type.code, node, item.expression, ctx);}
      if ((type.code === 'uri' || type.code === 'url') && ctx.bundle && ctx.bundle.currentEntry >= 0 && typeof item.value === 'string' && node.name !== 'system' && !NOT_LINKS.has(node.path)) {
        ctx.bundle.links.push({ reference: item.value, expression: item.expression, entry: ctx.bundle.currentEntry });
      }
    } else {
      if (!isRecord(item.under) || !Array.isArray(item.under['extension']) || item.under['extension'].length === 0) {
        this.report(ctx, 'CONF_INVARIANT', 'error', item.expression, 'ele-1: A primitive element must have a value or extensions.', 'Give the value, or leave the element out.', 'ele-1');
      }
      if (node.min > 0 && node.fixed) {this.checkFixedAndPattern(undefined, node, item.expression, ctx);}
    }
    if (item.under !== undefined) {
      if (!isRecord(item.under)) {
        this.report(ctx, 'CONF_TYPE', 'error', item.expression, `_${item.key} must be a JSON object (id and extension of the primitive).`);
        return;
      }
      let children = node.children.filter((c) => c.name !== 'value');
      let childStructure = structure;
      if (children.length === 0) {
        const typeStructure = this.structure(type.code);
        if (typeStructure) {
          children = typeStructure.root.children.filter((c) => c.name !== 'value');
          childStructure = typeStructure;
        }
      }
      this.checkChildren(item.under, children, node, type, item.expression, ctx, childStructure, false);
    }
  }

  /** Matches repeated items to slices; returns the node (and structure) each item is checked against. */
  private assignSlices(items: readonly Item[], child: ElementNode, parent: ElementNode, parentType: ElementType, isResourceRoot: boolean, ctx: WalkContext, structure: CompiledStructure, owner: Json): ({ node: ElementNode; structure: CompiledStructure } | undefined)[] {
    const isExtension = child.name === 'extension' || child.name === 'modifierExtension';
    if (child.slices.length === 0 && !isExtension) {return [];}
    const result: ({ node: ElementNode; structure: CompiledStructure } | undefined)[] = [];
    const counts = new Map<ElementNode, number>();
    const slicing = child.def.slicing;
    let lastSliceIndex = -1;
    let sawUnmatched = false;
    items.forEach((item, i) => {
      let slice: ElementNode | undefined;
      if (isExtension && (!slicing || slicing.discriminator?.every((d) => d.type === 'value' && d.path === 'url'))) {
        const url = isRecord(item.value) ? item.value['url'] : undefined;
        if (typeof url !== 'string') {
          this.report(ctx, 'CONF_EXTENSION', 'error', item.expression, 'An extension must have a url.');
          return;
        }
        slice = this.extensionSliceMap(child).get(this.registry.canonicalOf(url));
        if (!slice) {
          const resolved = this.resolveExtension(url, item, child, parent, parentType, isResourceRoot, ctx, owner, itemsBase(items));
          if (resolved) {result[i] = resolved;}
        }
      } else {
        const matching = child.slices.filter((s) => this.sliceMatches(item, s, child, slicing?.discriminator ?? [], ctx));
        // A re-slice (`a/b`) matches together with the slice it refines; it is the more specific one.
        const distinct = matching.filter((s) => !matching.some((o) => o !== s && o.sliceName !== undefined && s.sliceName === o.sliceName.split('/')[0]));
        slice = distinct[distinct.length - 1];
        if (distinct.length > 1) {
          this.report(ctx, 'CONF_SLICE', 'error', item.expression, `The item matches more than one slice of ${child.path}: ${distinct.map((s) => s.sliceName ?? '').join(', ')}.`, 'Slices must be told apart by their discriminators.');
        }
      }
      if (slice) {
        result[i] = { node: slice, structure };
        counts.set(slice, (counts.get(slice) ?? 0) + 1);
        const index = child.slices.indexOf(slice);
        if (slicing?.ordered && index < lastSliceIndex) {
          this.report(ctx, 'CONF_SLICE', 'error', item.expression, `Slices of ${child.path} are ordered: ${slice.sliceName ?? ''} comes too late.`, undefined, slice.sliceName);
        }
        if (slicing?.rules === 'openAtEnd' && sawUnmatched) {
          this.report(ctx, 'CONF_SLICE', 'error', item.expression, `Slicing of ${child.path} is openAtEnd: items outside the slices must come last.`);
        }
        lastSliceIndex = Math.max(lastSliceIndex, index);
      } else {
        sawUnmatched = true;
        if (slicing?.rules === 'closed' && !isExtension) {
          this.report(ctx, 'CONF_SLICE', 'error', item.expression, `The item matches none of the slices of ${child.path} (${child.slices.map((s) => s.sliceName).join(', ')}), and the slicing is closed.`);
        }
      }
    });
    for (const slice of child.slices) {
      const n = counts.get(slice) ?? 0;
      if (n < slice.min) {
        this.report(ctx, 'CONF_SLICE', 'error', `${itemsBase(items)}`, `Slice ${child.path}:${slice.sliceName ?? ''} requires at least ${slice.min} item(s), found ${n}.`, undefined, slice.sliceName);
      } else if (n > slice.max) {
        this.report(ctx, 'CONF_SLICE', 'error', `${itemsBase(items)}`, `Slice ${child.path}:${slice.sliceName ?? ''} allows at most ${slice.def.max}, found ${n}.`, undefined, slice.sliceName);
      }
    }
    return result;
  }

  private extensionSliceMap(child: ElementNode): Map<string, ElementNode> {
    let map = this.extensionSlices.get(child);
    if (!map) {
      map = new Map();
      for (const slice of child.slices) {
        const urlChild = slice.children.find((c) => c.name === 'url');
        const fixed = urlChild?.fixed?.value;
        const url = typeof fixed === 'string' ? fixed : slice.types[0]?.profiles[0];
        if (url !== undefined) {map.set(this.registry.canonicalOf(url), slice);}
      }
      this.extensionSlices.set(child, map);
    }
    return map;
  }

  private resolveExtension(url: string, item: Item, child: ElementNode, parent: ElementNode, parentType: ElementType, isResourceRoot: boolean, ctx: WalkContext, owner: Json, ownerItems: string): { node: ElementNode; structure: CompiledStructure } | undefined {
    const ownerExpression = ownerItems.replace(/\.(extension|modifierExtension)$/, '');
    const structure = url.includes('/') ? this.structure(url) : undefined;
    const modifier = child.name === 'modifierExtension';
    if (!structure) {
      if (parent.path.endsWith('.extension') || parentType.code === 'Extension') {
        // A sub-extension of a complex extension whose definition does not list it.
        const closed = child.def.slicing?.rules === 'closed';
        if (closed || child.slices.length > 0) {
          this.report(ctx, 'CONF_EXTENSION', closed ? 'error' : 'warning', item.expression, `Sub-extension "${url}" is not defined by the extension.`);
        }
        return undefined;
      }
      if (this.acceptedUnknownExtension(url)) {return undefined;}
      const otherVersion = /^http:\/\/hl7\.org\/fhir\/(\d+\.\d+)\/StructureDefinition\/extension-/.exec(url)?.[1];
      if (otherVersion !== undefined) {
        this.report(ctx, 'CONF_EXTENSION', 'warning', item.expression, `${url} is a cross-version extension (FHIR ${otherVersion}); its definition is not available offline, so it was not checked.`);
        return undefined;
      }
      this.report(ctx, 'CONF_EXTENSION', this.settings.unknownExtensions ?? 'error', item.expression, `Unknown extension ${url}: no loaded package defines it, so it is not allowed here.`, 'Load the package that defines it (--package), map its URL with a canonical alias, or accept its domain (extension domains).');
      return undefined;
    }
    if (structure.sd.type !== 'Extension') {
      this.report(ctx, 'CONF_EXTENSION', 'error', item.expression, `${url} is a ${structure.sd.type} definition, not an extension.`);
      return undefined;
    }
    this.checkExtensionContext(url, structure, item, parent, parentType, isResourceRoot, ctx, owner, ownerExpression);
    const declaredModifier = structure.root.def.isModifier === true;
    if (modifier && !declaredModifier) {
      this.report(ctx, 'CONF_EXTENSION', 'error', item.expression, `${url} is not a modifier extension but is used in modifierExtension.`);
    } else if (!modifier && declaredModifier) {
      this.report(ctx, 'CONF_EXTENSION', 'error', item.expression, `${url} is a modifier extension: it must be in modifierExtension.`);
    }
    return { node: structure.root, structure };
  }

  /**
   * Whether an extension may be used where it is (its StructureDefinition's context and contextInvariant), as the
   * HL7 validator decides: element contexts match the element's path, its definition's base path, the element a
   * contentReference points to, and those paths on the types the resource or data type derives from (so
   * `DomainResource.text` matches `Patient.text`); `Element` matches anything, `Resource` any resource;
   * extension contexts the extension it sits in; FHIRPath contexts the elements the expression selects.
   */
  private checkExtensionContext(url: string, structure: CompiledStructure, item: Item, parent: ElementNode, parentType: ElementType, isResourceRoot: boolean, ctx: WalkContext, owner: Json, ownerExpression: string): void {
    const contexts = structure.sd.context ?? [];
    if (contexts.length > 0) {
      const here = this.contextPaths(parent, parentType, isResourceRoot, ctx, ownerExpression);
      const enclosing = ctx.extensionUrls[ctx.extensionUrls.length - 1];
      const ok = contexts.some((c) => {
        if (c.type === 'extension') {return enclosing !== undefined && this.registry.canonicalOf(c.expression) === enclosing;}
        if (c.type === 'fhirpath') {
          const selected = this.invariants.select(c.expression, ctx.resource, ctx.rootResource);
          return Array.isArray(selected) && selected.includes(owner);
        }
        const expression = c.expression.replace(/^.*#/, '');
        if (expression === 'Element' || expression === 'Any' || (expression === 'Resource' && isResourceRoot)) {return true;}
        if ((expression === 'CanonicalResource' || expression === 'MetadataResource') && isResourceRoot) {return this.isCanonicalResourceType(String(ctx.resource['resourceType']));}
        return here.has(expression);
      });
      if (!ok) {
        this.report(ctx, 'CONF_EXTENSION', 'error', item.expression, `Extension ${url} is not allowed on ${[...here][0] ?? parent.path}; its contexts are ${contexts.map((c) => c.expression).join(', ')}.`);
        return;
      }
    }
    for (const invariant of structure.sd.contextInvariant ?? []) {
      const result = this.invariants.evaluate(invariant, '', owner, ctx.resource, ctx.rootResource);
      if ('error' in result) {
        this.report(ctx, 'CONF_INVARIANT_ERROR', 'warning', item.expression, `Context invariant "${invariant}" of ${url} could not be evaluated: ${result.error}.`);
      } else if (!result.ok) {
        this.report(ctx, 'CONF_EXTENSION', 'error', item.expression, `Extension ${url} is not allowed here: its context invariant "${invariant}" does not hold.`);
      }
    }
  }

  /** The paths an element answers to in extension contexts. */
  private contextPaths(parent: ElementNode, parentType: ElementType, isResourceRoot: boolean, ctx: WalkContext, ownerExpression: string): Set<string> {
    const paths = new Set<string>([parent.path]);
    if (parent.def.base?.path) {paths.add(parent.def.base.path);}
    if (parent.def.contentReference) {paths.add(parent.def.contentReference.replace(/^.*#/, ''));}
    const rt = typeof ctx.resource['resourceType'] === 'string' ? ctx.resource['resourceType'] : undefined;
    if (rt !== undefined && ownerExpression.startsWith(ctx.resourceExpression)) {
      paths.add(rt + ownerExpression.slice(ctx.resourceExpression.length).replace(/\[\d+\]/g, ''));
    }
    for (const path of [...paths]) {
      const dot = path.indexOf('.');
      const root = dot < 0 ? path : path.slice(0, dot);
      for (const ancestor of this.baseTypes(root)) {paths.add(ancestor + (dot < 0 ? '' : path.slice(dot)));}
    }
    for (const t of [parentType.code, ...this.baseTypes(parentType.code)]) {paths.add(t);}
    if (isResourceRoot && rt !== undefined) {for (const t of [rt, ...this.baseTypes(rt)]) {paths.add(t);}}
    if (parent.types.some((t) => t.code === 'BackboneElement')) {paths.add('BackboneElement');}
    return paths;
  }

  /** The core types a type derives from (Patient ⟶ DomainResource, Resource; HumanName ⟶ Element). */
  private baseTypes(typeName: string): string[] {
    let chain = this.baseTypeChains.get(typeName);
    if (!chain) {
      chain = [];
      let sd = this.registry.coreType(typeName);
      while (sd?.baseDefinition) {
        const base = sd.baseDefinition.slice(sd.baseDefinition.lastIndexOf('/') + 1);
        if (chain.includes(base)) {break;}
        chain.push(base);
        sd = this.registry.coreType(base);
      }
      this.baseTypeChains.set(typeName, chain);
    }
    return chain;
  }

  /** A resource type with the canonical resource elements (url, version, name, status): CodeSystem, ValueSet, … */
  private isCanonicalResourceType(typeName: string): boolean {
    const structure = this.structure(typeName);
    const names = new Set(structure?.root.children.map((c) => c.name));
    return ['url', 'version', 'name', 'status'].every((n) => names.has(n));
  }

  /** Extensions the HL7 validator accepts without a definition: example domains, its tools namespace, configured domains. */
  private acceptedUnknownExtension(url: string): boolean {
    if (/example\.org|acme\.com|nema\.org/.test(url) || url.startsWith('http://hl7.org/fhir/tools/StructureDefinition/')) {return true;}
    return (this.settings.extensionDomains ?? []).some((d) => url.startsWith(d));
  }

  /**
   * Whether an item belongs to a slice. Each discriminator is evaluated against what the slice constrains at its
   * path (fixed/pattern value, required binding, presence, type, profile); a discriminator the slice leaves
   * unconstrained does not decide, and a slice none of whose discriminators it constrains matches nothing.
   */
  private sliceMatches(item: Item, slice: ElementNode, sliced: ElementNode, discriminators: readonly { type: string; path: string }[], ctx: WalkContext): boolean {
    let decided = false;
    for (const d of discriminators) {
      const steps = discriminatorSteps(d.path);
      if (!steps) {return false;}
      const verdict = this.discriminatorVerdict(item, slice, sliced, d.type, steps, ctx);
      if (verdict === false) {return false;}
      if (verdict === true) {decided = true;}
    }
    return decided;
  }

  /** true/false when the slice constrains the discriminator and the item does/does not meet it; undefined when it does not constrain it. */
  private discriminatorVerdict(item: Item, slice: ElementNode, sliced: ElementNode, kind: string, steps: readonly PathStep[], ctx: WalkContext): boolean | undefined {
    const start: TypedValue = { value: item.value, type: item.type?.code ?? (isRecord(item.value) && typeof item.value['resourceType'] === 'string' ? item.value['resourceType'] : undefined) };
    const values = valuesAtSteps(start, steps, (reference) => this.resolveReference(reference, ctx));
    const last = steps[steps.length - 1];
    if (last?.kind === 'resolve') {
      // The target of a Reference: its type and profiles are the reference's targetProfiles.
      const reference = this.nodeAtSteps(slice, steps.slice(0, -1));
      const targetProfiles = reference ? this.effectiveTypes(reference).flatMap((t) => t.targetProfiles) : [];
      if (targetProfiles.length === 0 || (kind !== 'type' && kind !== 'profile')) {return undefined;}
      if (values.length === 0) {return false;}
      const types = this.targetTypes(targetProfiles);
      if (kind === 'type') {return values.every((v) => v.type !== undefined && (types.includes(v.type) || types.includes('Resource')));}
      return values.every((v) => targetProfiles.some((p) => this.conformsSilently(v.value, p, ctx)));
    }
    const node = this.nodeAtSteps(slice, steps);
    if (!node) {return undefined;}
    switch (kind) {
      case 'exists': {
        if (node.min > 0) {return values.length > 0;}
        if (node.max === 0) {return values.length === 0;}
        return undefined;
      }
      case 'type': {
        const allowed = this.effectiveTypes(node).map((t) => t.code);
        const base = this.nodeAtSteps(sliced, steps);
        // Slices that all keep the sliced element's only type cannot be told apart by type (a choice element's type slices can).
        if (allowed.length === 0 || (!node.name.endsWith('[x]') && base && sameList(allowed, base.types.map((t) => t.code)))) {return undefined;}
        return values.length > 0 && values.every((v) => v.type !== undefined && allowed.includes(v.type));
      }
      case 'profile': {
        const types = this.effectiveTypes(node).filter((t) => t.profiles.length > 0);
        const base = this.nodeAtSteps(sliced, steps);
        if (types.length === 0 || (base && sameList(types.flatMap((t) => t.profiles), base.types.flatMap((t) => t.profiles)))) {return undefined;}
        return values.length > 0 && values.every((v) => types.some((t) => (v.type === undefined || t.code === v.type || t.code === 'Resource') && t.profiles.some((p) => this.conformsSilently(v.value, p, ctx))));
      }
      default: {
        // value / pattern
        const expected = node.fixed || node.pattern ? node : this.onlyTypeSlice(node);
        if (expected?.fixed) {return values.some((v) => deepEqual(v.value, expected.fixed?.value));}
        if (expected?.pattern) {return values.some((v) => matchesPattern(v.value, expected.pattern?.value));}
        if (node.max === 0) {return values.length === 0;}
        const binding = node.def.binding;
        if (binding?.strength === 'required' && binding.valueSet) {
          const vs = binding.valueSet;
          return values.some((v) => (typeof v.value === 'string' ? [{ system: undefined, code: v.value }] : codesOf(v.value)).some((c) => this.terminology.check(vs, c.system, c.code).status === 'member'));
        }
        return undefined;
      }
    }
  }

  /** The single type slice of a choice element (`value[x]:valueCode`), which carries what the slice fixes. */
  private onlyTypeSlice(node: ElementNode): ElementNode | undefined {
    return node.name.endsWith('[x]') && node.slices.length === 1 ? node.slices[0] : undefined;
  }

  /** The types an element allows: a choice closed by type slices allows only the slices' types. */
  private effectiveTypes(node: ElementNode): readonly ElementType[] {
    if (node.name.endsWith('[x]') && node.slices.length > 0 && node.def.slicing?.rules === 'closed' && node.def.slicing.discriminator?.every((d) => d.type === 'type')) {
      return node.slices.flatMap((s) => s.types);
    }
    return node.types;
  }
  /** Whether a value conforms to a profile (no errors), without reporting anything. */
  private conformsSilently(value: unknown, profile: string, ctx: WalkContext): boolean {
    const target = this.structure(profile);
    if (!target) {return false;}
    const probe: WalkContext = { issues: [], resource: ctx.resource, rootResource: ctx.rootResource, bundle: undefined, silent: true, resourceExpression: ctx.resourceExpression, extensionUrls: [] };
    if (this.registry.isResourceType(target.sd.type)) {
      this.validateResource(value, target.sd.type, [profile], probe);
    } else {
      this.checkComplex(value, target.root, { code: target.sd.type, profiles: [], targetProfiles: [] }, '', probe, target);
    }
    return !probe.issues.some((i) => i.severity === 'error');
  }

  /** The element a discriminator path leads to below a slice, following type profiles and extension definitions. */
  private nodeAtSteps(slice: ElementNode, steps: readonly PathStep[]): ElementNode | undefined {
    let cache = this.nodesAtPath.get(slice);
    if (!cache) {
      cache = new Map();
      this.nodesAtPath.set(slice, cache);
    }
    const key = steps.map((s) => (s.kind === 'name' ? s.name : s.kind === 'extension' ? `extension('${s.url}')` : s.kind === 'ofType' ? `ofType(${s.type})` : 'resolve()')).join('.');
    if (cache.has(key)) {return cache.get(key) ?? undefined;}
    let node: ElementNode | undefined = slice;
    for (const step of steps) {
      if (!node) {break;}
      if (step.kind === 'resolve') {
        const target: string | undefined = this.effectiveTypes(node).flatMap((t) => t.targetProfiles)[0];
        node = target === undefined ? undefined : this.structure(target)?.root;
        continue;
      }
      if (step.kind === 'ofType') {
        const typed: ElementNode | undefined = node.slices.find((s) => s.types.length === 1 && s.types[0]?.code === step.type);
        node = typed ?? node;
        continue;
      }
      const children = this.childrenOf(node);
      if (step.kind === 'extension') {
        const extension = children.find((c) => c.name === 'extension');
        const url = this.registry.canonicalOf(step.url);
        node = extension ? this.extensionSliceMap(extension).get(url) : undefined;
        if (node === undefined) {node = this.structure(step.url)?.root;}
        continue;
      }
      if (step.name === 'url' && node.types[0]?.code === 'Extension' && node.children.length === 0) {
        // An extension slice given only by its profile: the url is the profile's canonical.
        const profile = node.types[0].profiles[0];
        const url = this.structure(profile ?? '')?.root.children.find((c) => c.name === 'url');
        node = url && profile ? ({ ...url, fixed: { key: 'fixedUri', value: profile } }) : url;
        continue;
      }
      node = children.find((c) => c.name === step.name || c.name === `${step.name}[x]`);
    }
    cache.set(key, node ?? null);
    return node;
  }

  /** An element's children: its own, or those of its (profiled) type or contentReference target. */
  private childrenOf(node: ElementNode): readonly ElementNode[] {
    const type = node.types[0];
    const profiled = type && type.profiles.length > 0 ? this.structure(type.profiles[0] ?? '') : undefined;
    const element = type && profiled ? this.profileElement(type, profiled) : undefined;
    if (element) {return element.children;}
    if (node.children.length > 0 || !type) {return node.children;}
    return (profiled ?? this.structure(type.code))?.root.children ?? [];
  }

  /**
   * The resource a Reference points to: `#id` is a resource contained in the container (also from a contained
   * resource, whose siblings they are), `#` the container itself; other references resolve in the enclosing Bundle.
   */
  private resolveReference(reference: unknown, ctx: WalkContext): Json | undefined {
    if (!isRecord(reference) || typeof reference['reference'] !== 'string') {return undefined;}
    const r = reference['reference'];
    if (r.startsWith('#')) {return containedTarget(ctx.rootResource, r.slice(1));}
    if (!ctx.bundle) {return undefined;}
    const resolution = resolveInBundle(ctx.bundle.index, r, ctx.bundle.currentEntry);
    if (resolution.kind !== 'found') {return undefined;}
    const entry = ctx.bundle.index.entries[resolution.entry];
    return isRecord(entry) && isRecord(entry['resource']) ? entry['resource'] : undefined;
  }

  /**
   * minValue[x] / maxValue[x]: numbers, dates and times (FHIRPath precision rules; an indeterminate comparison is
   * not a violation), Quantities (in the limit's unit, converted with UCUM), and for dates a Duration from now.
   */
  private checkLimits(value: unknown, node: ElementNode, expression: string, ctx: WalkContext): void {
    for (const [bound, limit] of [['minimum', node.limits?.min], ['maximum', node.limits?.max]] as const) {
      if (!limit) {continue;}
      const sign = bound === 'minimum' ? -1 : 1;
      let order: number | undefined;
      let shown = JSON.stringify(limit.value);
      if (typeof value === 'number' && typeof limit.value === 'number') {
        order = Math.sign(value - limit.value);
      } else if (typeof value === 'string' && typeof limit.value === 'string') {
        order = compareDateTimes(value, limit.value);
      } else if (typeof value === 'string' && isRecord(limit.value) && limit.key.endsWith('Duration')) {
        const limitDate = dateFromNow(limit.value, sign);
        if (limitDate === undefined) {continue;}
        shown = `${limitDate.slice(0, 10)} (${text(limit.value['value'])} ${text(limit.value['code'] ?? limit.value['unit'])} ${sign < 0 ? 'before' : 'after'} now)`;
        order = compareDateTimes(value, limitDate.slice(0, Math.min(value.length, limitDate.length)));
      } else if (isRecord(value) && isRecord(limit.value) && typeof value['value'] === 'number' && typeof limit.value['value'] === 'number') {
        const from = typeof value['code'] === 'string' ? value['code'] : undefined;
        const to = typeof limit.value['code'] === 'string' ? limit.value['code'] : undefined;
        const converted = from === to ? value['value'] : from !== undefined && to !== undefined ? convertUcum(value['value'], from, to) : undefined;
        shown = `${text(limit.value['value'])} ${to ?? text(limit.value['unit'])}`.trim();
        if (converted === undefined) {
          this.report(ctx, 'CONF_PRIMITIVE', 'error', expression, `${node.path}: the quantity (${text(value['value'])} ${from ?? text(value['unit'])}) cannot be compared with the ${bound} ${shown}.`, 'Give the quantity in a UCUM unit comparable with the limit.');
          return;
        }
        order = Math.sign(converted - limit.value['value']);
      }
      if (order === sign) {
        this.report(ctx, 'CONF_PRIMITIVE', 'error', expression, `${node.path}: the value ${typeof value === 'object' ? JSON.stringify(value) : text(value)} is ${sign < 0 ? 'less' : 'greater'} than the ${bound} ${shown} (${limit.key}).`);
      }
    }
  }

  private checkFixedAndPattern(value: unknown, node: ElementNode, expression: string, ctx: WalkContext): void {
    if (node.fixed) {
      if (value === undefined || !deepEqual(value, node.fixed.value)) {
        this.report(ctx, 'CONF_FIXED', 'error', expression, `${node.path}${node.sliceName ? `:${node.sliceName}` : ''} must be exactly ${JSON.stringify(node.fixed.value)} (${node.fixed.key}), found ${JSON.stringify(value)}.`);
      }
    }
    if (node.pattern && value !== undefined && !matchesPattern(value, node.pattern.value)) {
      this.report(ctx, 'CONF_PATTERN', 'error', expression, `${node.path}${node.sliceName ? `:${node.sliceName}` : ''} must contain ${JSON.stringify(node.pattern.value)} (${node.pattern.key}), found ${JSON.stringify(value)}.`);
    }
  }

  private checkBinding(value: unknown, typeCode: string, node: ElementNode, expression: string, ctx: WalkContext): void {
    const binding = node.def.binding;
    if (!binding?.valueSet || (binding.strength !== 'required' && binding.strength !== 'extensible')) {return;}
    if (!['code', 'Coding', 'CodeableConcept', 'Quantity', 'string', 'uri'].includes(typeCode)) {return;}
    const codes = typeCode === 'code' || typeCode === 'string' || typeCode === 'uri' ? (typeof value === 'string' ? [{ system: undefined, code: value }] : []) : codesOf(value);
    if (codes.length === 0) {return;}
    const vs = binding.valueSet;
    const required = binding.strength === 'required';
    let notChecked: string | undefined;
    let unavailable: string | undefined;
    for (const c of codes) {
      const result = this.terminology.check(vs, c.system, c.code);
      if (result.status === 'member') {return;}
      if (result.status === 'not-checked') {notChecked ??= result.system;}
      if (result.status === 'unavailable') {unavailable ??= result.what;}
    }
    const shown = codes.map((c) => (c.system ? `${c.system}|${c.code}` : c.code)).join(', ');
    if (notChecked !== undefined) {
      this.report(ctx, 'CONF_NOT_CHECKED_OFFLINE', 'information', expression, `${shown} was not checked against ${vs}: its ${systemName(notChecked)} content needs a terminology server.`);
    } else if (unavailable !== undefined) {
      this.report(ctx, 'CONF_CODE_SYSTEM_UNAVAILABLE', required ? 'warning' : 'information', expression, `${shown} could not be checked against ${vs}: ${unavailable} is not available offline.`, 'Load a package that defines it to check these codes.');
    } else {
      this.report(ctx, 'CONF_BINDING', required ? 'error' : 'warning', expression, `${shown} is not in the ${binding.strength} value set ${vs}.`, required ? 'Use a code from the value set (or map the source value with a lookup).' : 'Use a code from the value set when one fits.');
    }
  }

  private checkConstraints(value: unknown, constraints: readonly ElementDefinitionConstraint[], basePath: string, expression: string, ctx: WalkContext, rootConstraints: readonly ElementDefinitionConstraint[], rootBase: string): void {
    const seen = new Set<string>();
    const run = (list: readonly ElementDefinitionConstraint[], base: string): void => {
      for (const c of list) {
        if (NATIVE_CONSTRAINTS.has(c.key) || seen.has(c.key) || !c.expression) {continue;}
        seen.add(c.key);
        const bestPractice = c.extension?.some((e) => e.url === BEST_PRACTICE_EXTENSION && e.valueBoolean === true) === true;
        if (bestPractice && this.bestPractice === 'ignore') {continue;}
        const fast = fastInvariant(c.key, c.expression, value);
        const result = fast !== undefined ? { ok: fast } : this.invariants.evaluate(invariantExpression(c.expression), base, value, ctx.resource, ctx.rootResource);
        if ('error' in result) {
          this.report(ctx, 'CONF_INVARIANT_ERROR', 'warning', expression, `${c.key}: could not evaluate "${c.expression}": ${result.error}.`, undefined, c.key);
        } else if (!result.ok) {
          const severity: Severity = bestPractice ? this.bestPractice === 'information' ? 'information' : 'warning' : c.severity === 'warning' ? 'warning' : 'error';
          this.report(ctx, 'CONF_INVARIANT', severity, expression, `${c.key}: ${c.human}`, `FHIRPath: ${c.expression}`, c.key);
        }
      }
    };
    run(constraints, basePath);
    if (rootConstraints.length) {run(rootConstraints, rootBase);}
  }

  private collectReference(value: Json, type: ElementType, node: ElementNode, expression: string, ctx: WalkContext): void {
    const reference = value['reference'];
    if (typeof reference !== 'string') {return;}
    const targetTypes = this.targetTypes(type.targetProfiles.length ? type.targetProfiles : node.types.find((t) => t.code === 'Reference')?.targetProfiles ?? []);
    const at = `${expression}.reference`;
    if (reference.startsWith('#')) {
      // Contained resources are siblings: `#id` always refers to the container's contained list.
      const target = containedTarget(ctx.rootResource, reference.slice(1));
      if (!target) {
        this.report(ctx, 'CONF_REFERENCE', 'error', at, `Reference ${reference} does not match any contained resource.`);
      } else {
        this.checkTargetType(target, targetTypes, reference, at, ctx);
      }
      return;
    }
    const relative = /^([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(\/_history\/[A-Za-z0-9\-.]{1,64})?$/.exec(reference);
    if (relative?.[1] && targetTypes.length && !targetTypes.includes('Resource') && !targetTypes.includes(relative[1])) {
      this.report(ctx, 'CONF_REFERENCE', 'error', at, `Reference ${reference} points to a ${relative[1]}, but ${node.path} allows ${targetTypes.join(', ')}.`);
      return;
    }
    if (ctx.bundle && ctx.bundle.currentEntry >= 0) {
      ctx.bundle.references.push({ reference, expression: at, targetTypes, entry: ctx.bundle.currentEntry });
      ctx.bundle.links.push({ reference, expression: at, entry: ctx.bundle.currentEntry });
    }
  }

  private targetTypes(profiles: readonly string[]): string[] {
    return profiles.map((p) => {
      if (p.startsWith('http://hl7.org/fhir/StructureDefinition/')) {return p.slice('http://hl7.org/fhir/StructureDefinition/'.length);}
      return this.structure(p)?.sd.type ?? p.slice(p.lastIndexOf('/') + 1);
    });
  }

  private checkTargetType(target: Json, targetTypes: readonly string[], reference: string, at: string, ctx: WalkContext): void {
    const rt = target['resourceType'];
    if (typeof rt === 'string' && targetTypes.length > 0 && !targetTypes.includes('Resource') && !targetTypes.includes(rt)) {
      this.report(ctx, 'CONF_REFERENCE', 'error', at, `Reference ${reference} resolves to a ${rt}, but only ${targetTypes.join(', ')} may be referenced here.`, 'Point the reference at an entry of an allowed type.');
    }
  }

  /** The Bundle rules (fullUrls, links, documents), then every collected reference resolved against the entries. */
  private checkBundleReferences(bundle: Json, expression: string, scope: BundleScope, ctx: WalkContext): void {
    const report = (code: ConformanceCode, severity: Severity, at: string, message: string, hint?: string): void => this.report(ctx, code, severity, at, message, hint);
    checkBundle(bundle, scope.index, scope.links, expression, (name) => this.registry.isResourceType(name), report);
    const selfContained = bundle['type'] === 'document' || bundle['type'] === 'message';
    for (const ref of scope.references) {
      const resolution = resolveInBundle(scope.index, ref.reference, ref.entry);
      switch (resolution.kind) {
        case 'external':
          break; // an absolute URL outside the bundle is not resolvable offline
        case 'missing': {
          // A relative reference may point at a server resource except in documents and messages, which must be self-contained.
          const lenient = !ref.reference.startsWith('urn:') && !selfContained;
          report('CONF_REFERENCE', lenient ? 'warning' : 'error', ref.expression, `Reference ${ref.reference} does not resolve to any entry of the Bundle.`, 'Every urn:uuid and relative reference must match an entry.fullUrl in the same Bundle.');
          break;
        }
        case 'multiple':
          report('CONF_REFERENCE', 'error', ref.expression, `Reference ${ref.reference} matches ${resolution.count} entries of the Bundle.`, 'Each fullUrl (with its versionId) identifies one entry.');
          break;
        case 'apparent':
          report('CONF_REFERENCE', 'error', ref.expression, `Reference ${ref.reference} does not resolve in the Bundle: an entry has that type and id (fullUrl ${resolution.fullUrls.join(', ')}), but a relative reference resolves against the referring entry's RESTful fullUrl.`, 'Use the entry\'s fullUrl as the reference, or give both entries fullUrls on the same server base.');
          break;
        case 'found': {
          const target = scope.index.entries[resolution.entry];
          const resource = isRecord(target) ? target['resource'] : undefined;
          if (!isRecord(resource)) {break;}
          const named = /^([A-Z][A-Za-z]+)\//.exec(ref.reference)?.[1];
          if (named !== undefined && named !== resource['resourceType']) {
            report('CONF_REFERENCE', 'error', ref.expression, `Reference ${ref.reference} resolves to an entry whose resource is a ${String(resource['resourceType'])}, not a ${named}.`);
          } else {
            this.checkTargetType(resource, ref.targetTypes, ref.reference, ref.expression, ctx);
          }
        }
      }
    }
  }

  private report(ctx: WalkContext, code: ConformanceCode, severity: Severity, expression: string, message: string, hint?: string, ruleKey?: string): void {
    ctx.issues.push({ code, severity, expression, message, ...(hint !== undefined ? { hint } : {}), ...(ruleKey !== undefined ? { ruleKey } : {}) });
  }
}

const DURATION_UNITS: Readonly<Record<string, (date: Date, n: number) => void>> = {
  a: (d, n) => d.setUTCFullYear(d.getUTCFullYear() + n),
  mo: (d, n) => d.setUTCMonth(d.getUTCMonth() + n),
  wk: (d, n) => d.setUTCDate(d.getUTCDate() + 7 * n),
  d: (d, n) => d.setUTCDate(d.getUTCDate() + n),
  h: (d, n) => d.setUTCHours(d.getUTCHours() + n),
  min: (d, n) => d.setUTCMinutes(d.getUTCMinutes() + n),
  s: (d, n) => d.setUTCSeconds(d.getUTCSeconds() + n),
};

/** Now minus (sign -1) or plus (sign 1) a UCUM time Duration, as an instant; undefined for other units. */
function dateFromNow(duration: Json, sign: number): string | undefined {
  const add = DURATION_UNITS[text(duration['code'] ?? duration['unit'])];
  if (!add || typeof duration['value'] !== 'number') {return undefined;}
  const date = new Date();
  add(date, sign * duration['value']);
  return date.toISOString().replace(/\.\d+Z$/, 'Z');
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** `#id` in `container` (the container itself for `#`). */
function containedTarget(container: Json, id: string): Json | undefined {
  if (id === '') {return container;}
  const contained = container['contained'];
  const found: unknown = Array.isArray(contained) ? (contained as unknown[]).find((c) => isRecord(c) && c['id'] === id) : undefined;
  return isRecord(found) ? found : undefined;
}

function codesOf(value: unknown): { system: string | undefined; code: string }[] {
  if (!isRecord(value)) {return [];}
  const out: { system: string | undefined; code: string }[] = [];
  const add = (c: unknown): void => {
    if (isRecord(c) && typeof c['code'] === 'string') {out.push({ system: typeof c['system'] === 'string' ? c['system'] : undefined, code: c['code'] });}
  };
  if (Array.isArray(value['coding'])) {value['coding'].forEach(add);}
  else {add(value);}
  return out;
}

function systemName(system: string): string {
  if (system === 'http://snomed.info/sct') {return 'SNOMED CT';}
  if (system.includes('dmd')) {return 'dm+d';}
  return system;
}

/** Exact equality of JSON values (fixed[x]). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) {return true;}
  if (typeof a === 'number' && typeof b === 'number') {return a === b;}
  if (Array.isArray(a) && Array.isArray(b)) {return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));}
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/** Whether `value` contains everything in `pattern` (pattern[x] semantics: arrays match element-wise by containment). */
export function matchesPattern(value: unknown, pattern: unknown): boolean {
  if (Array.isArray(pattern)) {
    const values = Array.isArray(value) ? value : [value];
    return pattern.every((p) => values.some((v) => matchesPattern(v, p)));
  }
  if (isRecord(pattern)) {
    if (!isRecord(value)) {return false;}
    return Object.entries(pattern).every(([k, p]) => value[k] !== undefined && matchesPattern(value[k], p));
  }
  return value === pattern;
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toArray(value: unknown): unknown[] {
  if (value === undefined) {return [];}
  return Array.isArray(value) ? value : [value];
}

function describe(value: unknown): string {
  if (value === null) {return 'null';}
  if (Array.isArray(value)) {return 'an array';}
  return typeof value === 'string' ? `the string "${value}"` : typeof value;
}

function itemIndex(expression: string): number {
  const m = /\[(\d+)\]$/.exec(expression);
  return m?.[1] ? Number(m[1]) : -1;
}

function itemsBase(items: readonly Item[]): string {
  const first = items[0]?.expression ?? '';
  return first.replace(/\[\d+\]$/, '');
}

function hintForUnknown(name: string, keyMap: ReadonlyMap<string, unknown>): string | undefined {
  const lower = name.toLowerCase();
  for (const key of keyMap.keys()) {if (key.toLowerCase() === lower) {return `Did you mean "${key}"? Property names are case-sensitive.`;}}
  return undefined;
}

function dedupe(issues: ConformanceIssue[]): ConformanceIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.code}|${i.severity}|${i.expression}|${i.message}`;
    if (seen.has(key)) {return false;}
    seen.add(key);
    return true;
  });
}
