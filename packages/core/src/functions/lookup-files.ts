import { readFile } from 'node:fs/promises';
import { parse as parseCsv } from 'csv-parse/sync';
import type { Diagnostic, RuleSpan } from '../diagnostics/diagnostic.js';
import type { LookupTarget } from '../mapping/model.js';

/** Entries read from a lookup file (source value ⟶ target), the code system it declares, and problems found. */
export interface LoadedLookup {
  readonly entries: Map<string, LookupTarget>;
  readonly system?: string;
  readonly diagnostics: Diagnostic[];
}

/** ConceptMap equivalences that translate a code; `unmatched` and `disjoint` (and others) do not. */
const acceptedEquivalences = new Set(['equal', 'equivalent', 'wider', 'narrower', 'inexact', 'relatedto']);

/**
 * Loads a lookup table from a CSV file (`kind: 'csv'`) or a FHIR R4 ConceptMap JSON (`kind: 'conceptMap'`).
 * `span` is the mapping position of the lookup, used in diagnostics.
 */
export function loadLookupFile(kind: 'csv' | 'conceptMap', path: string, span?: RuleSpan): Promise<LoadedLookup> {
  return kind === 'csv' ? loadCsvLookup(path, span) : loadConceptMapLookup(path, span);
}

function problem(path: string, message: string, hint: string, span: RuleSpan | undefined, line?: number): Diagnostic {
  return {
    code: 'MAP_LOOKUP_FILE',
    severity: 'error',
    message,
    hint,
    ...(span ? { rule: span } : {}),
    input: { file: path, ...(line !== undefined ? { line } : {}) },
  };
}

async function readText(path: string, span: RuleSpan | undefined, diagnostics: Diagnostic[]): Promise<string | undefined> {
  try {
    const text = await readFile(path, 'utf8');
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch (error) {
    diagnostics.push(
      problem(
        path,
        `Lookup file ${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`,
        'Check the path; it is relative to the mapping file.',
        span,
      ),
    );
    return undefined;
  }
}

/**
 * Loads a CSV lookup: a header row naming the columns `source`, `code` and optionally `display` and
 * `system` (any order, case-insensitive), then one row per source value. Rows with a missing source or
 * code, and repeated sources, are reported with their line; the first occurrence of a source wins.
 */
export async function loadCsvLookup(path: string, span?: RuleSpan): Promise<LoadedLookup> {
  const diagnostics: Diagnostic[] = [];
  const entries = new Map<string, LookupTarget>();
  const text = await readText(path, span, diagnostics);
  if (text === undefined) {
    return { entries, diagnostics };
  }
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parseCsv(text, { info: true, relax_column_count: true, skip_empty_lines: true }) as unknown as typeof rows;
  } catch (error) {
    const line = (error as { lines?: number }).lines;
    diagnostics.push(problem(path, `Lookup file ${path} is not valid CSV${line !== undefined ? ` (line ${line})` : ''}.`, 'Fix the quoting on that line.', span));
    return { entries, diagnostics };
  }
  const header = rows[0];
  if (!header) {
    diagnostics.push(problem(path, `Lookup file ${path} is empty.`, 'Add a header row "source,code,display,system" and one row per value.', span, 1));
    return { entries, diagnostics };
  }
  const columns = header.record.map((name) => name.trim().toLowerCase());
  const sourceIndex = columns.indexOf('source');
  const codeIndex = columns.indexOf('code');
  const displayIndex = columns.indexOf('display');
  const systemIndex = columns.indexOf('system');
  if (sourceIndex < 0 || codeIndex < 0) {
    diagnostics.push(
      problem(
        path,
        `Lookup file ${path} has no ${sourceIndex < 0 ? 'source' : 'code'} column in its first row.`,
        'The first row must name the columns: source,code[,display][,system].',
        span,
      ),
    );
    return { entries, diagnostics };
  }
  for (const { record, info } of rows.slice(1)) {
    const source = record[sourceIndex]?.trim() ?? '';
    const code = record[codeIndex]?.trim() ?? '';
    if (source === '' || code === '') {
      diagnostics.push(
        problem(path, `Lookup file ${path} line ${info.lines}: ${source === '' ? 'source' : 'code'} is empty.`, 'Fill in both source and code, or delete the row.', span, info.lines),
      );
      continue;
    }
    if (entries.has(source)) {
      diagnostics.push(problem(path, `Lookup file ${path} line ${info.lines}: source "${source}" appears again; the first row is kept.`, 'Remove the repeated row.', span, info.lines));
      continue;
    }
    const display = displayIndex >= 0 ? record[displayIndex]?.trim() : undefined;
    const system = systemIndex >= 0 ? record[systemIndex]?.trim() : undefined;
    entries.set(source, {
      code,
      ...(display ? { display } : {}),
      ...(system ? { system } : {}),
    });
  }
  return { entries, diagnostics };
}

interface ConceptMapTarget {
  code?: unknown;
  display?: unknown;
  equivalence?: unknown;
}

/**
 * Loads a FHIR R4 ConceptMap: each `group[].element[].code` maps to its first `target[]` whose equivalence
 * translates (equal, equivalent, wider, narrower, inexact, relatedto), with the group's target system.
 * Elements whose targets are all unmatched or disjoint (or missing) are reported, with the JSON line where
 * it can be found. The returned system is the target system when all groups share one.
 */
export async function loadConceptMapLookup(path: string, span?: RuleSpan): Promise<LoadedLookup> {
  const diagnostics: Diagnostic[] = [];
  const entries = new Map<string, LookupTarget>();
  const text = await readText(path, span, diagnostics);
  if (text === undefined) {
    return { entries, diagnostics };
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    const line = position === undefined ? undefined : text.slice(0, Number(position)).split('\n').length;
    diagnostics.push(problem(path, `ConceptMap ${path} is not valid JSON${line !== undefined ? ` (line ${line})` : ''}.`, 'Fix the JSON syntax.', span));
    return { entries, diagnostics };
  }
  const lineOf = (needle: string): number | undefined => {
    const index = text.indexOf(needle);
    return index < 0 ? undefined : text.slice(0, index).split('\n').length;
  };
  if (!isObject(document) || document['resourceType'] !== 'ConceptMap') {
    diagnostics.push(problem(path, `${path} is not a FHIR ConceptMap (resourceType must be "ConceptMap").`, 'Point the lookup at a ConceptMap JSON file.', span));
    return { entries, diagnostics };
  }
  const groups = Array.isArray(document['group']) ? (document['group'] as unknown[]) : [];
  if (groups.length === 0) {
    diagnostics.push(problem(path, `ConceptMap ${path} has no group.`, 'Add group[].element[] entries.', span, lineOf('"resourceType"')));
  }
  const systems = new Set<string>();
  for (const group of groups) {
    if (!isObject(group)) {
      continue;
    }
    const targetSystem = typeof group['target'] === 'string' ? group['target'] : undefined;
    if (targetSystem !== undefined) {
      systems.add(targetSystem);
    }
    const elements = Array.isArray(group['element']) ? (group['element'] as unknown[]) : [];
    for (const element of elements) {
      if (!isObject(element) || typeof element['code'] !== 'string') {
        diagnostics.push(problem(path, `ConceptMap ${path}: an element has no code.`, 'Give every group.element a code.', span));
        continue;
      }
      const code = element['code'];
      const line = lineOf(`"code": ${JSON.stringify(code)}`) ?? lineOf(`"code":${JSON.stringify(code)}`);
      const targets = Array.isArray(element['target']) ? (element['target'] as ConceptMapTarget[]) : [];
      const usable = targets.find(
        (t) => isObject(t) && typeof t.code === 'string' && (t.equivalence === undefined || (typeof t.equivalence === 'string' && acceptedEquivalences.has(t.equivalence))),
      );
      if (!usable || typeof usable.code !== 'string') {
        const equivalences = targets.map((t) => (isObject(t) && typeof t.equivalence === 'string' ? t.equivalence : 'none'));
        diagnostics.push({
          ...problem(
            path,
            `ConceptMap ${path}: source code "${code}" has no usable target (${equivalences.length > 0 ? equivalences.join(', ') : 'no target'}); values with this code will miss the lookup.`,
            'Only equal, equivalent, wider, narrower, inexact and relatedto targets translate; add a default to the lookup if needed.',
            span,
            line,
          ),
          severity: 'warning',
        });
        continue;
      }
      if (entries.has(code)) {
        continue;
      }
      entries.set(code, {
        code: usable.code,
        ...(typeof usable.display === 'string' ? { display: usable.display } : {}),
        ...(targetSystem !== undefined ? { system: targetSystem } : {}),
      });
    }
  }
  const [onlySystem] = systems;
  return { entries, ...(systems.size === 1 && onlySystem !== undefined ? { system: onlySystem } : {}), diagnostics };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
