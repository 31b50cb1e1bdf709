import { readFile, realpath } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isAlias, isMap, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import type { Diagnostic, RuleSpan } from '../diagnostics/diagnostic.js';
import { hasErrors } from '../diagnostics/diagnostic.js';
import { mappingNamespace } from '../bundle/ids.js';
import { compileExpression } from '../expressions/index.js';
import type { CompiledExpression, EvalReport, ExpressionEnv } from '../expressions/types.js';
import { compileDatePattern, isKnownTimeZone, loadLookupFile } from '../functions/index.js';
import { compileTemplate, pathText, type TemplateCompiler, type TemplateNode } from '../transform/template.js';
import type { MappingTarget } from '../targets.js';
import { defaultChecks, defaultRecordBudgets, defaultSourceLimits, type CsvTable, type LookupTable, type LookupTarget, type MappingChecks, type RecordBudgets, type SourceLimits, type SourceSpec } from './model.js';
import { loadDeclaredFields, undeclaredReads, type FieldsDocument } from './declared-fields.js';
import { checkAgainstSchema } from './schema.js';
import { compactStrings } from './compact-strings.js';
import { YamlSpans } from './yaml-spans.js';
import { confineMappingFile, markedRoot, realRoot, type MappingFileKind } from './confine.js';

/** A resource rule, compiled. */
export interface CompiledRule {
  readonly id: string;
  readonly resourceType: string;
  readonly key: readonly KeyPart[];
  readonly when?: CompiledExpression;
  readonly forEach?: CompiledExpression;
  readonly as?: string;
  /** Named values computed once per entry, in order, before `when`, the key and the template. */
  readonly let: readonly (readonly [string, CompiledExpression])[];
  readonly template: TemplateNode;
  readonly span: RuleSpan;
}

export type KeyPart = { readonly kind: 'literal'; readonly value: string } | { readonly kind: 'expression'; readonly expression: CompiledExpression };

/** For non-bundle targets: the document built per record. */
export interface CompiledDocument {
  readonly key?: readonly KeyPart[];
  readonly template: TemplateNode;
  readonly span: RuleSpan;
}

export interface CompiledBundle {
  readonly type: KeyPart;
  readonly key?: readonly KeyPart[];
  readonly template?: TemplateNode;
  readonly span: RuleSpan;
}

/** A loaded, checked and compiled mapping, ready to run. */
export interface Mapping {
  /** The mapping file path as given. */
  readonly file: string;
  readonly id: string;
  readonly title?: string;
  readonly namespace: string;
  /** What each record becomes. */
  readonly target: MappingTarget;
  readonly source: SourceSpec;
  readonly constants: Readonly<Record<string, unknown>>;
  readonly lookups: ReadonlyMap<string, LookupTable>;
  /** How values the mapping cannot use are reported (`checks:`, with the defaults filled in). */
  readonly checks: MappingChecks;
  readonly bundle: CompiledBundle;
  /** fhir-bundle: the resource rules (none for other targets). */
  readonly rules: readonly CompiledRule[];
  /** Other targets: the document template. */
  readonly document?: CompiledDocument;
  readonly env: ExpressionEnv;
  /** Every file the mapping was built from: the mapping, its imports, lookup files. */
  readonly files: readonly string[];
  /** What building one record's output may take. */
  readonly budgets: RecordBudgets;
}

export interface LoadMappingResult {
  /** Present when the mapping has no errors. */
  readonly mapping?: Mapping;
  readonly diagnostics: readonly Diagnostic[];
}

export interface LoadMappingOptions {
  /**
   * The folder every file the mapping names (imports, lookup files, ConceptMaps) must lie in, symbolic links
   * resolved. Defaults to the nearest folder at or above the mapping's holding a `.cadmap-root` file, else the
   * mapping file's own folder.
   */
  readonly root?: string;
  /** Reads a file as UTF-8 text once it has passed the root check; defaults to the file system. */
  readonly readText?: (path: string) => Promise<string>;
}

const defaultDateFormats = [
  "yyyy-MM-dd'T'HH:mm:ss.SSS",
  "yyyy-MM-dd'T'HH:mm:ss",
  'yyyy-MM-dd HH:mm:ss',
  "yyyy-MM-dd'T'HH:mm",
  'yyyy-MM-dd HH:mm',
  'yyyy-MM-dd',
];

/** Variables the engine itself provides to every expression. */
export const engineVariables = ['record', 'index', 'key'] as const;

/** Loads a mapping file: YAML with positions, schema check, imports, lookups, and compiles every expression. */
export async function loadMapping(file: string, options: LoadMappingOptions = {}): Promise<LoadMappingResult> {
  const readText = options.readText ?? ((path: string) => readFile(path, 'utf8'));
  const diagnostics: Diagnostic[] = [];
  const files: string[] = [];

  const parsed = await readYaml(file, readText, 'mapping', diagnostics, files);
  if (!parsed) {
    return { diagnostics };
  }
  const mappingDir = (await realRoot(dirname(resolve(file)))) ?? dirname(resolve(file));
  const root = options.root === undefined ? await markedRoot(mappingDir) : await realRoot(resolve(options.root));
  if (root === undefined) {
    diagnostics.push({
      code: 'MAP_FILE_UNREADABLE',
      severity: 'fatal',
      message: `The mapping root ${options.root ?? ''} is not a folder that can be opened.`,
      hint: 'Give an existing folder that holds the mapping and the files it names.',
    });
    return { diagnostics };
  }
  const confined: Confinement = { root, diagnostics, files };
  const { doc, spans, value } = parsed;
  if (hasErrors(diagnostics)) {
    return { diagnostics };
  }
  const mappingValue = value as MappingDocument;

  const constants: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const lookupDocs = new Map<string, { value: LookupDocument; spans: YamlSpans; node: Node | undefined; baseDir: string }>();
  await collectImports(mappingValue.imports ?? [], doc, spans, mappingDir, readText, confined, constants, lookupDocs, [await realpath(file).catch(() => resolve(file))]);
  Object.assign(constants, mappingValue.constants ?? {});
  for (const name of Object.keys(constants)) {
    constants[name] = withoutPrototypes(constants[name]);
  }
  for (const [name, lookup] of Object.entries(mappingValue.lookups ?? {})) {
    lookupDocs.set(name, { value: lookup, spans, node: nodeAt(doc, ['lookups', name]), baseDir: mappingDir });
  }
  const lookups = new Map<string, LookupTable>();
  for (const [name, entry] of lookupDocs) {
    const table = await buildLookup(name, entry.value, entry.spans, entry.node, entry.baseDir, confined);
    lookups.set(name, table);
  }

  const builtSource = buildSource(mappingValue.source, doc, spans, diagnostics);
  const fieldsSpan = spans.ofNode(nodeAt(doc, ['source', 'fields']), { yamlPath: 'source.fields' });
  const fieldsDocument = await confinedFields(mappingValue.source.fields, confined, mappingDir, fieldsSpan);
  const declared = fieldsDocument === undefined ? undefined : await loadDeclaredFields(fieldsDocument, mappingDir, builtSource.xml, fieldsSpan, files);
  diagnostics.push(...(declared?.diagnostics ?? []));
  const source: SourceSpec = declared?.fields === undefined ? builtSource : { ...builtSource, fields: declared.fields };
  const checks: MappingChecks = { ...defaultChecks, ...mappingValue.checks };
  const namespace = mappingNamespace(mappingValue.id, mappingValue.namespace);
  const ruleTypes = new Map<string, string>();
  const ruleIdSpans = new Map<string, RuleSpan>();
  const resourceRules = mappingValue.resources ?? [];
  resourceRules.forEach((rule, index) => {
    const span = spans.ofNode(nodeAt(doc, ['resources', String(index), 'id']), { ruleId: rule.id });
    const earlier = ruleIdSpans.get(rule.id);
    if (earlier) {
      diagnostics.push({
        code: 'MAP_DUPLICATE_ID',
        severity: 'error',
        message: `Rule id '${rule.id}' is already used at line ${earlier.line}.`,
        hint: 'Rule ids must be unique: ref() finds entries by rule id.',
        rule: span,
      });
    }
    ruleIdSpans.set(rule.id, span);
    ruleTypes.set(rule.id, rule.resourceType);
  });

  const baseVariables = new Set<string>([...engineVariables, ...Object.keys(constants)]);
  const scope: string[] = [];
  const envs = new Map<string, ExpressionEnv>();
  const env = (): ExpressionEnv => {
    const scopeKey = scope.join(',');
    let current = envs.get(scopeKey);
    if (!current) {
      current = {
        timeZone: source.timeZone,
        dateFormats: source.dateFormats,
        ambiguousTime: source.ambiguousTime,
        lookups,
        namespace,
        rules: ruleTypes,
        variables: new Set([...baseVariables, ...scope]),
        checks,
      };
      envs.set(scopeKey, current);
    }
    return current;
  };
  const constantScope = Object.freeze(Object.assign(Object.create(null) as Record<string, unknown>, constants));
  /** Whether an expression reads nothing but constants (no field, no `$this`, no record or scope variable). */
  const readsOnlyConstants = (expression: CompiledExpression): boolean =>
    !expression.readsContext &&
    expression.variables.every((name) => Object.hasOwn(constants, name) && !scope.includes(name) && !(engineVariables as readonly string[]).includes(name));
  const fold = (expression: CompiledExpression): { readonly value: unknown } | undefined => {
    if (!readsOnlyConstants(expression)) {
      return undefined;
    }
    const reports: EvalReport[] = [];
    const values = expression.evaluate(undefined, constantScope, { report: (r) => reports.push(r) });
    for (const report of reports) {
      diagnostics.push({ ...report, rule: expression.span });
    }
    const present = values.filter((v) => v !== '' && v !== null && v !== undefined);
    return present.length > 1 ? undefined : { value: present[0] };
  };
  /**
   * A rule's `forEach` that depends only on the constants (e.g. `=(%submitterOds | %providerOds)`) evaluated
   * once: the same collection for every record. Left as it is when it reports anything, so reports stay per record.
   */
  const foldCollection = (expression: CompiledExpression): CompiledExpression => {
    if (!readsOnlyConstants(expression)) {
      return expression;
    }
    let reported = false;
    const values = expression.evaluate(undefined, constantScope, { report: () => (reported = true) });
    return reported ? expression : { ...expression, evaluate: () => values };
  };
  const makeCompiler = (ruleId: string | undefined): TemplateCompiler => ({
    spans,
    ruleId,
    diagnostics,
    fold,
    compile(text, span) {
      const result = compileExpression(text, span, env());
      diagnostics.push(...result.diagnostics);
      return result.expression;
    },
    withVariable(name, body) {
      scope.push(name);
      try {
        return body();
      } finally {
        scope.pop();
      }
    },
  });

  const bundleNode = nodeAt(doc, ['bundle']);
  const bundleCompiler = makeCompiler(undefined);
  const bundleDoc = mappingValue.bundle ?? {};
  const bundle: CompiledBundle = {
    type: compileKeyPart(bundleDoc.type ?? 'collection', ['bundle', 'type'], doc, bundleCompiler),
    ...(bundleDoc.key !== undefined ? { key: compileKey(bundleDoc.key, ['bundle', 'key'], doc, bundleCompiler) } : {}),
    ...(bundleDoc.template !== undefined
      ? { template: compileTemplate(nodeAt(doc, ['bundle', 'template'])!, ['bundle', 'template'], bundleCompiler) }
      : {}),
    span: spans.ofNode(bundleNode ?? doc.contents, { yamlPath: 'bundle' }),
  };

  const rules: CompiledRule[] = resourceRules.map((rule, index) => {
    const at = ['resources', String(index)];
    const compiler = makeCompiler(rule.id);
    const compiledForEach = rule.forEach !== undefined ? compileField(rule.forEach, [...at, 'forEach'], doc, compiler) : undefined;
    const forEach = compiledForEach && foldCollection(compiledForEach);
    const compileRest = (): Omit<CompiledRule, 'forEach' | 'as'> => {
      const bindings: (readonly [string, CompiledExpression])[] = [];
      const letNames = Object.keys(rule.let ?? {});
      const compileWithLets = (position: number): Omit<CompiledRule, 'forEach' | 'as'> => {
        if (position < letNames.length) {
          const name = letNames[position]!;
          const expression = compileField(rule.let![name]!, [...at, 'let', name], doc, compiler);
          if (expression) {
            bindings.push([name, expression]);
          }
          return compiler.withVariable(name, () => compileWithLets(position + 1));
        }
        const when = rule.when !== undefined ? compileField(rule.when, [...at, 'when'], doc, compiler) : undefined;
        return {
          id: rule.id,
          resourceType: rule.resourceType,
          key: compileKey(rule.key, [...at, 'key'], doc, compiler),
          ...(when ? { when } : {}),
          let: bindings,
          template: compileTemplate(nodeAt(doc, [...at, 'template'])!, [...at, 'template'], compiler),
          span: spans.ofNode(nodeAt(doc, at), { ruleId: rule.id, yamlPath: `resources[${index}]` }),
        };
      };
      return compileWithLets(0);
    };
    const rest = rule.as !== undefined ? compiler.withVariable(rule.as, compileRest) : compileRest();
    return { ...rest, ...(forEach ? { forEach } : {}), ...(rule.as !== undefined ? { as: rule.as } : {}) };
  });

  const documentDoc = mappingValue.document;
  const documentCompiler = makeCompiler(undefined);
  const document: CompiledDocument | undefined = documentDoc
    ? {
        ...(documentDoc.key !== undefined ? { key: compileKey(documentDoc.key, ['document', 'key'], doc, documentCompiler) } : {}),
        template: compileTemplate(nodeAt(doc, ['document', 'template'])!, ['document', 'template'], documentCompiler),
        span: spans.ofNode(nodeAt(doc, ['document']), { yamlPath: 'document' }),
      }
    : undefined;

  if (hasErrors(diagnostics)) {
    return { diagnostics };
  }
  const mapping: Mapping = {
    file,
    id: mappingValue.id,
    ...(mappingValue.title !== undefined ? { title: mappingValue.title } : {}),
    namespace,
    target: mappingValue.target ?? 'fhir-bundle',
    source,
    constants,
    lookups,
    checks,
    bundle,
    rules,
    ...(document ? { document } : {}),
    env: env(),
    files,
    budgets: { ...defaultRecordBudgets, ...mappingValue.budgets },
  };
  diagnostics.push(...undeclaredReads(mapping));
  return hasErrors(diagnostics) ? { diagnostics } : { mapping, diagnostics };
}

interface MappingDocument {
  cadmap: 1;
  id: string;
  title?: string;
  namespace?: string;
  target?: MappingTarget;
  document?: { key?: string | string[]; template: Record<string, unknown> };
  imports?: string[];
  constants?: Record<string, unknown>;
  lookups?: Record<string, LookupDocument>;
  source: SourceDocument;
  checks?: Partial<MappingChecks>;
  bundle?: { type?: string; key?: string | string[]; template?: Record<string, unknown> };
  budgets?: Partial<RecordBudgets>;
  resources?: { id: string; resourceType: string; key: string | string[]; when?: string; forEach?: string; as?: string; let?: Record<string, string>; template: Record<string, unknown> }[];
}

interface LookupDocument {
  system?: string;
  entries?: Record<string, string | LookupTarget>;
  file?: string;
  conceptMap?: string;
  default?: string | LookupTarget;
  onMissing?: 'error' | 'warning';
  caseSensitive?: boolean;
}

interface SourceDocument {
  format: SourceSpec['format'];
  encoding?: SourceSpec['encoding'];
  timeZone?: string;
  dateFormats?: string[];
  ambiguousTime?: 'earlier' | 'later';
  key?: string;
  csv?: { delimiter?: string; quote?: string | null; escape?: string; trim?: boolean; comment?: string };
  tables?: Record<string, { files: string | string[]; key?: string | string[]; parent?: string; on?: Record<string, string>; columns?: string[] }>;
  order?: 'sorted' | 'any';
  xml?: { record: string; attributePrefix?: string; textName?: string; namespaces?: 'strip' | 'keep' };
  json?: { record?: string };
  limits?: Partial<SourceLimits>;
  fields?: FieldsDocument;
}

async function readYaml(
  file: string,
  readText: (path: string) => Promise<string>,
  kind: 'mapping' | 'library',
  diagnostics: Diagnostic[],
  files: string[],
  importedFrom?: RuleSpan,
): Promise<{ doc: Document; spans: YamlSpans; value: unknown } | undefined> {
  let text: string;
  try {
    text = await readText(file);
  } catch (error) {
    diagnostics.push({
      code: 'MAP_FILE_UNREADABLE',
      severity: 'fatal',
      message: `Cannot read ${kind === 'mapping' ? 'mapping' : 'imported'} file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`,
      hint: 'Check the path; imports are relative to the file that imports them.',
      ...(importedFrom ? { rule: importedFrom } : {}),
    });
    return undefined;
  }
  files.push(file);
  const lineCounter = new LineCounter();
  // YAML 1.1 tags (!!binary, !!timestamp, !!set…) would turn values into buffers, dates and sets: left as text
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, resolveKnownTags: false });
  const spans = new YamlSpans(file, lineCounter);
  for (const error of doc.errors) {
    diagnostics.push({
      code: 'MAP_YAML_SYNTAX',
      severity: 'error',
      message: `YAML: ${error.message.split('\n')[0]}`,
      hint: yamlHint(error.code),
      rule: spans.at(error.pos[0], error.pos[1]),
    });
  }
  for (const warning of doc.warnings) {
    diagnostics.push({
      code: 'MAP_YAML_SYNTAX',
      severity: 'warning',
      message: `YAML: ${warning.message.split('\n')[0]}`,
      hint: warning.code === 'TAG_RESOLVE_FAILED' ? 'Tags (`!name`, `!!type`) mean nothing in a mapping: remove the tag; the value is read as the text written.' : yamlHint(warning.code),
      rule: spans.at(warning.pos[0], warning.pos[1]),
    });
  }
  if (doc.errors.length > 0) {
    return undefined;
  }
  const structure = structureProblems(doc, spans);
  if (structure.problems.length > 0) {
    diagnostics.push(...structure.problems);
    return undefined;
  }
  let value: unknown;
  try {
    value = compactStrings(doc.toJS({ maxAliasCount: maxAliasExpansion }));
  } catch (error) {
    // the yaml library's guard against alias bombs (the only error left once aliases resolve)
    diagnostics.push({
      code: 'MAP_YAML_SYNTAX',
      severity: 'error',
      message: `YAML: ${error instanceof Error ? error.message : String(error)}.`,
      hint: `Aliases here expand to more than ${maxAliasExpansion} copies of one anchored node; write the repeated parts out, or move them to an imported file.`,
      rule: spans.at(0),
    });
    return undefined;
  }
  if (structure.aliases) {
    expandAliases(doc);
  }
  diagnostics.push(...checkAgainstSchema(value, doc, spans, kind));
  return { doc, spans, value };
}

/** How many copies of anchored nodes aliases may expand to (the yaml library's resource-exhaustion guard). */
const maxAliasExpansion = 100;

/**
 * What the yaml library parses without errors but cannot turn into a mapping value: aliases that name no anchor
 * before them, or sit inside the node they name (it throws, or builds a value containing itself), and keys that
 * are lists or maps (it turns them into text and prints a warning on the process). Also says whether there are
 * aliases at all, so that they are expanded only then.
 */
function structureProblems(doc: Document, spans: YamlSpans): { readonly problems: Diagnostic[]; readonly aliases: boolean } {
  const problems: Diagnostic[] = [];
  let aliases = false;
  const anchored = new Map<string, unknown>();
  // the same document order the yaml library resolves aliases in: the last anchor of a name before the alias
  visit(doc, {
    Node: (key, node, path) => {
      const named = isAlias(node) ? anchored.get(node.source) : node;
      if (key === 'key' && (isMap(named) || isSeq(named))) {
        problems.push({
          code: 'MAP_YAML_SYNTAX',
          severity: 'error',
          message: `YAML: a key here is a ${isMap(named) ? 'map' : 'list'}; keys of a mapping must be plain names.`,
          hint: 'Write the key as a name (quote it if it holds characters such as `[`, `{` or `:`), or indent the value under a named key.',
          rule: spans.ofNode(node),
        });
      }
      if (isAlias(node)) {
        aliases = true;
        const target = anchored.get(node.source);
        if (target === undefined || path.includes(target as never)) {
          problems.push({
            code: 'MAP_YAML_SYNTAX',
            severity: 'error',
            message:
              target === undefined
                ? `YAML: the alias *${node.source} names no anchor &${node.source} before it.`
                : `YAML: the alias *${node.source} is inside the node anchored &${node.source}, so that node would contain itself.`,
            hint:
              target === undefined
                ? `Define \`&${node.source}\` on the node to repeat, earlier in the file than \`*${node.source}\` (anchors are not shared between files), or write the value out.`
                : 'Write the value out: an alias can only repeat a node that is complete before it.',
            rule: spans.ofNode(node),
          });
        }
      } else if (node.anchor !== undefined) {
        anchored.set(node.anchor, node);
      }
    },
  });
  return { problems, aliases };
}

/**
 * Replaces every alias by a copy of the node it names, so the compiler, which walks the nodes for their
 * positions, sees what the value holds; the copies keep the positions of the anchored text.
 */
function expandAliases(doc: Document): void {
  visit(doc, {
    Alias: (_key, alias) => {
      const copy = alias.resolve(doc)?.clone() as Scalar | YAMLMap | YAMLSeq | undefined;
      if (copy !== undefined) {
        delete copy.anchor;
      }
      return copy;
    },
  });
}

function yamlHint(code: string): string {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'Each key may appear once in a mapping; remove or rename one of them.';
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
      return 'Check the indentation: YAML uses spaces, and children are indented under their parent.';
    case 'BAD_SCALAR_START':
    case 'UNEXPECTED_TOKEN':
      return 'Inside { … } or [ … ] a comma ends the value: quote expressions that contain commas (`"=ref(\'x\', a, b)"`) or write the element in block style, one key per line.';
    case 'TAB_AS_INDENT':
      return 'Replace the tab with spaces.';
    default:
      return 'Fix the YAML syntax here. In an unquoted value, ": " and " #" have a meaning in YAML: quote expressions that contain them, e.g. `text: "=Code + \': \' + Text"`.';
  }
}

/** Where the files a mapping names must lie, and where problems with them and the files read are noted. */
interface Confinement {
  readonly root: string;
  readonly diagnostics: Diagnostic[];
  readonly files: string[];
}

/** `source.fields` with the schema file it names checked against the mapping root (undefined when refused or absent). */
async function confinedFields(value: FieldsDocument | undefined, confined: Confinement, baseDir: string, span: RuleSpan): Promise<FieldsDocument | undefined> {
  if (value === undefined || Array.isArray(value)) {
    return value;
  }
  const declaration = value as { readonly jsonSchema?: string; readonly xsd?: string };
  const kind = declaration.jsonSchema !== undefined ? 'jsonSchema' : 'xsd';
  const path = await confine(confined, baseDir, declaration.jsonSchema ?? declaration.xsd ?? '', kind, span);
  return path === undefined ? undefined : ({ ...value, [kind]: path });
}

/** Checks a named file against the mapping root; reports a refusal by the name written, never the file's content. */
async function confine(confined: Confinement, baseDir: string, named: string, kind: MappingFileKind, span: RuleSpan): Promise<string | undefined> {
  const checked = await confineMappingFile(confined.root, baseDir, named, kind);
  if (checked.ok) {
    return checked.path;
  }
  const what = { import: 'Imported file', lookup: 'Lookup file', conceptMap: 'ConceptMap file', jsonSchema: 'JSON Schema', xsd: 'XSD' }[kind];
  confined.diagnostics.push({
    code: checked.missing !== true ? 'MAP_FILE_REFUSED' : kind === 'import' ? 'MAP_FILE_UNREADABLE' : kind === 'lookup' || kind === 'conceptMap' ? 'MAP_LOOKUP_FILE' : 'MAP_FIELDS_FILE',
    severity: 'error',
    message: `${what} ${JSON.stringify(named)} ${checked.reason}; it is not read.`,
    hint: checked.hint,
    rule: span,
  });
  return undefined;
}

async function collectImports(
  imports: readonly string[],
  doc: Document,
  spans: YamlSpans,
  baseDir: string,
  readText: (path: string) => Promise<string>,
  confined: Confinement,
  constants: Record<string, unknown>,
  lookupDocs: Map<string, { value: LookupDocument; spans: YamlSpans; node: Node | undefined; baseDir: string }>,
  chain: readonly string[],
): Promise<void> {
  const { diagnostics, files } = confined;
  for (const [index, relative] of imports.entries()) {
    const importSpan = spans.ofNode(nodeAt(doc, ['imports', String(index)]), { yamlPath: `imports[${index}]` });
    const path = await confine(confined, baseDir, relative, 'import', importSpan);
    if (path === undefined) {
      continue;
    }
    if (chain.includes(path)) {
      diagnostics.push({
        code: 'MAP_SCHEMA',
        severity: 'error',
        message: `Import cycle: ${[...chain, path].join(' → ')}.`,
        hint: 'Remove one of the imports.',
        rule: importSpan,
      });
      continue;
    }
    const parsed = await readYaml(path, readText, 'library', diagnostics, files, importSpan);
    if (!parsed) {
      continue;
    }
    const library = parsed.value as { imports?: string[]; constants?: Record<string, unknown>; lookups?: Record<string, LookupDocument> };
    await collectImports(library.imports ?? [], parsed.doc, parsed.spans, dirname(path), readText, confined, constants, lookupDocs, [...chain, path]);
    Object.assign(constants, library.constants ?? {});
    for (const [name, lookup] of Object.entries(library.lookups ?? {})) {
      lookupDocs.set(name, { value: lookup, spans: parsed.spans, node: nodeAt(parsed.doc, ['lookups', name]), baseDir: dirname(path) });
    }
  }
}

async function buildLookup(
  name: string,
  value: LookupDocument,
  spans: YamlSpans,
  node: Node | undefined,
  baseDir: string,
  confined: Confinement,
): Promise<LookupTable> {
  const { diagnostics, files } = confined;
  const span = spans.ofNode(node, { yamlPath: `lookups.${name}` });
  const entries = new Map<string, LookupTarget>();
  let system = value.system;
  const caseSensitive = value.caseSensitive ?? false;
  const normalise = (key: string): string => (caseSensitive ? key.trim() : key.trim().toLowerCase());
  const sources = [value.file !== undefined ? 'file' : undefined, value.conceptMap !== undefined ? 'conceptMap' : undefined].filter((x) => x !== undefined);
  if (sources.length > 1) {
    diagnostics.push({ code: 'MAP_SCHEMA', severity: 'error', message: `Lookup '${name}' declares both file and conceptMap.`, hint: 'Use one of them (entries may add to either).', rule: span });
  }
  const fileKind = value.conceptMap !== undefined ? 'conceptMap' : value.file !== undefined ? 'csv' : undefined;
  const relative = value.conceptMap ?? value.file;
  const path = fileKind !== undefined && relative !== undefined ? await confine(confined, baseDir, relative, fileKind === 'csv' ? 'lookup' : 'conceptMap', span) : undefined;
  if (fileKind !== undefined && path !== undefined) {
    const loaded = await loadLookupFile(fileKind, path, span);
    diagnostics.push(...loaded.diagnostics);
    files.push(path);
    system ??= loaded.system;
    for (const [key, target] of loaded.entries) {
      entries.set(normalise(key), target);
    }
  }
  for (const [key, target] of Object.entries(value.entries ?? {})) {
    entries.set(normalise(key), typeof target === 'string' ? { code: target } : target);
  }
  const defaultTarget = value.default === undefined ? undefined : typeof value.default === 'string' ? { code: value.default } : value.default;
  return {
    name,
    ...(system !== undefined ? { system } : {}),
    entries,
    ...(defaultTarget ? { default: defaultTarget } : {}),
    caseSensitive,
    onMissing: value.onMissing ?? 'error',
    span,
  };
}

function buildSource(value: SourceDocument, doc: Document, spans: YamlSpans, diagnostics: Diagnostic[]): SourceSpec {
  const span = spans.ofNode(nodeAt(doc, ['source']), { yamlPath: 'source' });
  const tables: CsvTable[] = [];
  for (const [name, table] of Object.entries(value.tables ?? {})) {
    const tableSpan = spans.ofNode(nodeAt(doc, ['source', 'tables', name]), { yamlPath: `source.tables.${name}` });
    tables.push({
      name,
      files: typeof table.files === 'string' ? [table.files] : table.files,
      key: table.key === undefined ? [] : typeof table.key === 'string' ? [table.key] : table.key,
      ...(table.parent !== undefined ? { parent: table.parent } : {}),
      on: table.on ?? {},
      columns: table.columns ?? [],
      span: tableSpan,
    });
  }
  if (value.format === 'csv') {
    checkTables(tables, span, diagnostics);
  } else if (tables.length > 0) {
    diagnostics.push({ code: 'MAP_SCHEMA', severity: 'error', message: `source.tables is for CSV sources; this source is ${value.format}.`, hint: 'Remove source.tables, or set format: csv.', rule: tables[0]!.span });
  }
  if (value.format === 'xml' && value.xml === undefined) {
    diagnostics.push({ code: 'MAP_SCHEMA', severity: 'error', message: 'An XML source needs source.xml.record, the path of the record elements.', hint: 'For example `xml: { record: /CadExport/Incidents/Incident }`.', rule: span });
  }
  if (value.format === 'json' && value.json?.record === undefined) {
    diagnostics.push({ code: 'MAP_SCHEMA', severity: 'error', message: 'A JSON source needs source.json.record, the JSON pointer of the record array.', hint: "Use `json: { record: '' }` for a top-level array, or e.g. `/incidents`.", rule: span });
  }
  (value.dateFormats ?? []).forEach((pattern, index) => {
    const compiled = compileDatePattern(pattern);
    if (compiled.error !== undefined) {
      diagnostics.push({
        code: 'MAP_SCHEMA',
        severity: 'error',
        message: `Date format ${JSON.stringify(pattern)} is not valid: ${compiled.error}`,
        hint: "Use the tokens yyyy MM dd HH mm ss SSS, with literal text in single quotes, e.g. \"dd/MM/yyyy HH:mm:ss\" or \"yyyy-MM-dd'T'HH:mm\".",
        rule: spans.ofNode(nodeAt(doc, ['source', 'dateFormats', String(index)]), { yamlPath: `source.dateFormats[${index}]` }),
      });
    }
  });
  const timeZone = value.timeZone ?? 'Europe/London';
  if (!isKnownTimeZone(timeZone)) {
    diagnostics.push({
      code: 'MAP_TIME_ZONE',
      severity: 'error',
      message: `Unknown time zone '${timeZone}'.`,
      hint: 'Use an IANA zone name such as Europe/London.',
      rule: spans.ofNode(nodeAt(doc, ['source', 'timeZone']), { yamlPath: 'source.timeZone' }),
    });
  }
  return {
    format: value.format,
    encoding: value.encoding ?? 'utf-8',
    timeZone,
    dateFormats: value.dateFormats ?? defaultDateFormats,
    ambiguousTime: value.ambiguousTime ?? 'earlier',
    csv: {
      delimiter: value.csv?.delimiter ?? ',',
      quote: value.csv?.quote === undefined ? '"' : value.csv.quote,
      escape: value.csv?.escape ?? '"',
      trim: value.csv?.trim ?? false,
      ...(value.csv?.comment !== undefined ? { comment: value.csv.comment } : {}),
    },
    tables,
    order: value.order ?? 'sorted',
    ...(value.xml
      ? { xml: { record: value.xml.record, attributePrefix: value.xml.attributePrefix ?? '', textName: value.xml.textName ?? 'text', namespaces: value.xml.namespaces ?? 'strip' } }
      : {}),
    ...(value.json ? { json: { record: value.json.record ?? '' } } : {}),
    ...(value.key !== undefined ? { key: value.key } : {}),
    limits: { ...defaultSourceLimits, ...value.limits },
    span,
  };
}

function checkTables(tables: readonly CsvTable[], span: RuleSpan, diagnostics: Diagnostic[]): void {
  if (tables.length === 0) {
    diagnostics.push({ code: 'MAP_SCHEMA', severity: 'error', message: 'A CSV source needs source.tables.', hint: 'Declare at least the root table, e.g. `tables: { calls: { files: "*.csv", key: IncidentId } }`.', rule: span });
    return;
  }
  const roots = tables.filter((t) => t.parent === undefined);
  if (roots.length !== 1) {
    diagnostics.push({
      code: 'MAP_SCHEMA',
      severity: 'error',
      message: roots.length === 0 ? 'No root table: every table has a parent.' : `Several root tables (${roots.map((t) => t.name).join(', ')}); exactly one table has no parent.`,
      hint: 'Give every table but the root a `parent:` and `on:`.',
      rule: (roots[1] ?? tables[0]!).span,
    });
  }
  const names = new Set(tables.map((t) => t.name));
  for (const table of tables) {
    if (table.parent === undefined) {
      if (table.key.length === 0) {
        diagnostics.push({ code: 'MAP_SCHEMA', severity: 'error', message: `Root table '${table.name}' needs a key column.`, hint: 'For example `key: IncidentId`.', rule: table.span });
      }
    } else if (!names.has(table.parent)) {
      diagnostics.push({ code: 'MAP_UNKNOWN_TABLE', severity: 'error', message: `Table '${table.name}' joins to unknown table '${table.parent}'.`, hint: `Declared tables: ${[...names].join(', ')}.`, rule: table.span });
    } else if (Object.keys(table.on).length === 0) {
      diagnostics.push({ code: 'MAP_SCHEMA', severity: 'error', message: `Child table '${table.name}' needs 'on:' (child column: parent column).`, hint: 'For example `on: { IncidentId: IncidentId }`.', rule: table.span });
    }
  }
}

function nodeAt(doc: Document, segments: readonly string[]): Node | undefined {
  let current: unknown = doc.contents;
  for (const segment of segments) {
    if (isMap(current)) {
      current = current.get(segment, true);
    } else if (isSeq(current)) {
      current = current.get(Number(segment), true);
    } else {
      return undefined;
    }
  }
  return (current as Node | null | undefined) ?? undefined;
}

function compileField(text: string, at: readonly string[], doc: Document, compiler: TemplateCompiler): CompiledExpression | undefined {
  const node = nodeAt(doc, at);
  if (!node) {
    return undefined;
  }
  return compiler.compile(text.slice(1), compiler.spans.ofExpression(node, { ...(compiler.ruleId !== undefined ? { ruleId: compiler.ruleId } : {}), yamlPath: pathText(at) }));
}

function compileKeyPart(text: string, at: readonly string[], doc: Document, compiler: TemplateCompiler): KeyPart {
  if (text.startsWith('=') && !text.startsWith('==')) {
    const expression = compileField(text, at, doc, compiler);
    if (!expression) {
      return { kind: 'literal', value: '' };
    }
    // a part that reads only constants (`type: =%bundleType`) is the same text for every record
    const value = compiler.fold(expression)?.value;
    return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? { kind: 'literal', value: String(value) } : { kind: 'expression', expression };
  }
  return { kind: 'literal', value: text.startsWith('==') ? text.slice(1) : text };
}

function compileKey(value: string | readonly string[], at: readonly string[], doc: Document, compiler: TemplateCompiler): KeyPart[] {
  if (typeof value === 'string') {
    return [compileKeyPart(value, at, doc, compiler)];
  }
  return value.map((part, index) => compileKeyPart(part, [...at, String(index)], doc, compiler));
}

/**
 * A copy of a YAML value whose objects have no prototype, so expressions such as `%obj.__proto__` or
 * `%obj.constructor` find nothing instead of reaching Object.prototype.
 */
function withoutPrototypes(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(withoutPrototypes);
  }
  if (typeof value !== 'object' || value === null || value instanceof Date) {
    return value;
  }
  const copy = Object.create(null) as Record<string, unknown>;
  for (const [key, item] of Object.entries(value)) {
    Object.defineProperty(copy, key, { value: withoutPrototypes(item), enumerable: true, writable: true, configurable: true });
  }
  return copy;
}
