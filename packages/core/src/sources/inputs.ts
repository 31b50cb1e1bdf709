import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { FileLimitError, limitedBytes, limitProblem } from './limits.js';
import type { CsvTable, SourceSpec } from '../mapping/model.js';
import { inputName, type InputFile } from './types.js';

/** Base name of a path written with `/` or `\` separators. */
export function baseName(path: string): string {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return cut === -1 ? path : path.slice(cut + 1);
}

/** Compiles a file-name glob (`*`, `?`, `[abc]`, `[!abc]`, `[a-z]`) into a case-insensitive anchored RegExp. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      source += '.*';
    } else if (c === '?') {
      source += '.';
    } else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close === -1) {
        source += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, close);
      const negated = body.startsWith('!') || body.startsWith('^');
      if (negated) {
        body = body.slice(1);
      }
      source += `[${negated ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
    } else {
      source += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`, 'is');
}

export interface MatchedInput {
  readonly table: string;
  readonly input: InputFile;
  readonly file: string;
}

/**
 * Assigns each input to a table: its explicit `table`, else the table whose `files` globs match its base name.
 * Every input and every table is accounted for with a diagnostic when it cannot be matched.
 */
export function matchInputs(
  spec: SourceSpec,
  inputs: readonly InputFile[],
): { matched: MatchedInput[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const matched: MatchedInput[] = [];
  const tables = spec.tables;
  const patterns = tables.map((table) => table.files.map(globToRegExp));
  for (const input of inputs) {
    const file = inputName(input);
    if (input.table !== undefined) {
      if (tables.some((table) => table.name === input.table)) {
        matched.push({ table: input.table, input, file });
      } else {
        diagnostics.push({
          code: 'SRC_UNMATCHED_INPUT',
          severity: 'fatal',
          message: `Input ${file} is assigned to table "${input.table}", which the mapping does not declare (tables: ${tables.map((t) => t.name).join(', ')}).`,
          hint: 'Name one of the declared source tables, or add the table to source.tables.',
          input: { file },
        });
      }
      continue;
    }
    const name = baseName(file);
    const hits: CsvTable[] = tables.filter((_, index) => patterns[index]!.some((pattern) => pattern.test(name)));
    if (hits.length === 1) {
      matched.push({ table: hits[0]!.name, input, file });
    } else if (hits.length === 0) {
      diagnostics.push({
        code: 'SRC_UNMATCHED_INPUT',
        severity: 'error',
        message: `Input ${file} matches no source table (patterns: ${tables.map((t) => `${t.name}: ${t.files.join(' ')}`).join('; ')}); it is not read.`,
        hint: 'Rename the file, widen a table `files` pattern, or pass the table explicitly.',
        input: { file },
      });
    } else {
      diagnostics.push({
        code: 'SRC_AMBIGUOUS_INPUT',
        severity: 'fatal',
        message: `Input ${file} matches several source tables: ${hits.map((t) => t.name).join(', ')}.`,
        hint: 'Make the table `files` patterns disjoint, or pass the table explicitly.',
        input: { file },
      });
    }
  }
  for (const table of tables) {
    if (!matched.some((m) => m.table === table.name)) {
      diagnostics.push({
        code: 'SRC_NO_INPUT',
        severity: 'fatal',
        message: `No input file for source table "${table.name}" (patterns: ${table.files.join(' ')}).`,
        hint: 'Pass the missing export file, or check the table `files` pattern against the file names.',
        input: { file: table.files.join(' '), table: table.name },
        rule: table.span,
      });
    }
  }
  return { matched, diagnostics };
}

const chunkBytes = 64 * 1024;

/**
 * The bytes of an input, read lazily in chunks (a file is opened at the first read); past `maxFileBytes` the
 * stream fails with a FileLimitError, which `unreadable` reports as SRC_LIMIT.
 */
export function inputBytes(input: InputFile, maxFileBytes?: number): AsyncIterable<Uint8Array> {
  return limitedBytes(input, chunkBytes, maxFileBytes);
}

/** The diagnostic for an input that failed while being read (SRC_LIMIT when it is over `maxFileBytes`). */
export const unreadable = (file: string, error: Error, table?: string): Diagnostic =>
  error instanceof FileLimitError
    ? limitProblem('maxFileBytes', error.limit, 'the file', table === undefined ? { file } : { file, table }, error.found)
    : {
        code: 'SRC_FILE_UNREADABLE',
        severity: 'fatal',
        message: `Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? error.message}.`,
        hint: 'Check that the file exists, is a regular file and is readable.',
        input: table === undefined ? { file } : { file, table },
      };
