import type { Diagnostic, InputSpan, RuleSpan } from './diagnostic.js';
import { escapeControls } from './text.js';
import { isNhsNumberField, maskTenDigitRuns } from '../privacy/redact.js';

const maskOptional = (text: string | undefined): string | undefined => (text === undefined ? undefined : maskTenDigitRuns(text));

export interface RenderOptions {
  /** Returns line `line` (1-based) of `file`, without its line break, when it can be shown. */
  readonly lineOf?: (file: string, line: number) => string | undefined;
  /** Rewrites file paths for display (e.g. relative to the working directory). */
  readonly displayPath?: (file: string) => string;
  /** ANSI colours. */
  readonly color?: boolean;
}

const maxFrameWidth = 110;

/**
 * Renders diagnostics as text with code frames of the mapping rule and of the input row. Control characters from
 * the data (ESC sequences, a lone CR, bidirectional overrides) are written as visible escapes, never raw.
 */
export function renderDiagnostics(diagnostics: readonly Diagnostic<string>[], options: RenderOptions = {}): string {
  return diagnostics.map((d) => renderDiagnostic(d, options)).join('\n\n');
}

export function renderDiagnostic(diagnostic: Diagnostic<string>, options: RenderOptions = {}): string {
  const paint = painter(options.color === true);
  const display = options.displayPath ?? ((file: string) => file);
  const lines: string[] = [];
  const severityColor = diagnostic.severity === 'warning' ? 'yellow' : diagnostic.severity === 'information' ? 'blue' : 'red';
  lines.push(`${paint(severityColor, `${diagnostic.severity} ${escapeControls(diagnostic.code)}`)}: ${escapeControls(diagnostic.message)}`);
  if (diagnostic.rule) {
    lines.push(`  ${paint('dim', '-->')} ${escapeControls(formatRule(diagnostic.rule, display))}`);
    lines.push(...frame(diagnostic.rule.file, diagnostic.rule.line, diagnostic.rule.column, ruleWidth(diagnostic.rule), options, paint));
  }
  if (diagnostic.input) {
    lines.push(`  ${paint('dim', '-->')} ${escapeControls(formatInput(diagnostic.input, display))}`);
    if (diagnostic.input.line !== undefined) {
      const text = options.lineOf?.(diagnostic.input.file, diagnostic.input.line);
      const located = text !== undefined ? locateInLine(text, diagnostic.input) : undefined;
      // the row around an NHS number that failed its check: the redactor cannot tell its digits from others'
      const nhsField = diagnostic.code === 'MAP_NHS_NUMBER_INVALID' || (diagnostic.input.field !== undefined && isNhsNumberField(diagnostic.input.field));
      const frameOptions = nhsField && options.lineOf !== undefined ? { ...options, lineOf: (file: string, line: number) => maskOptional(options.lineOf!(file, line)) } : options;
      lines.push(...frame(diagnostic.input.file, diagnostic.input.line, located?.column ?? diagnostic.input.column, located?.width ?? 1, frameOptions, paint));
    }
  }
  if (diagnostic.expression) {
    lines.push(`  ${paint('dim', '= element:')} ${escapeControls(diagnostic.expression)}`);
  }
  if (diagnostic.hint) {
    lines.push(`  ${paint('cyan', '= hint:')} ${escapeControls(diagnostic.hint)}`);
  }
  return lines.join('\n');
}

export function formatRule(rule: RuleSpan, display: (file: string) => string = (f) => f): string {
  const where = `${display(rule.file)}:${rule.line}:${rule.column}`;
  const parts = [rule.ruleId !== undefined ? `rule '${rule.ruleId}'` : undefined, rule.yamlPath].filter((x) => x !== undefined);
  return parts.length > 0 ? `${where} (${parts.join(', ')})` : where;
}

export function formatInput(input: InputSpan, display: (file: string) => string = (f) => f): string {
  let where = display(input.file);
  if (input.line !== undefined) {
    where += `:${input.line}`;
    if (input.column !== undefined) {
      where += `:${input.column}`;
    }
  }
  const details: string[] = [];
  if (input.table !== undefined) {
    details.push(`table ${input.table}`);
  }
  if (input.row !== undefined) {
    details.push(`row ${input.row}`);
  }
  if (input.field !== undefined) {
    details.push(input.fieldIndex !== undefined ? `column ${input.fieldIndex} '${input.field}'` : `field '${input.field}'`);
  }
  if (input.xpath !== undefined) {
    details.push(input.xpath);
  }
  if (input.pointer !== undefined) {
    details.push(`pointer ${input.pointer === '' ? '(record)' : input.pointer}`);
  }
  if (input.recordKey !== undefined && input.recordKey !== '') {
    details.push(`record ${input.recordKey}`);
  }
  return details.length > 0 ? `${where} (${details.join(', ')})` : where;
}

function ruleWidth(rule: RuleSpan): number {
  return rule.endLine === rule.line && rule.endColumn !== undefined ? Math.max(1, rule.endColumn - rule.column) : 1;
}

type Paint = (color: 'red' | 'yellow' | 'blue' | 'cyan' | 'dim', text: string) => string;

function painter(enabled: boolean): Paint {
  const codes = { red: 31, yellow: 33, blue: 34, cyan: 36, dim: 2 } as const;
  return (color, text) => (enabled ? `\u001b[${codes[color]}m${text}\u001b[0m` : text);
}

function frame(file: string, line: number, column: number | undefined, width: number, options: RenderOptions, paint: Paint): string[] {
  const text = options.lineOf?.(file, line);
  if (text === undefined) {
    return [];
  }
  const gutter = String(line);
  const pad = ' '.repeat(gutter.length);
  let shown = text.replace(/\t/g, ' ');
  let caretColumn = column ?? 1;
  if (shown.length > maxFrameWidth) {
    const start = Math.max(0, Math.min(caretColumn - 1 - 30, shown.length - maxFrameWidth));
    shown = `${start > 0 ? '…' : ''}${shown.slice(start, start + maxFrameWidth)}${start + maxFrameWidth < text.length ? '…' : ''}`;
    caretColumn = caretColumn - start + (start > 0 ? 1 : 0);
  }
  // each control character shows as an escape several characters wide: the caret moves right by the difference
  const escaped = escapeControls(shown);
  if (escaped !== shown) {
    caretColumn += escapeControls(shown.slice(0, Math.max(0, caretColumn - 1))).length - Math.max(0, caretColumn - 1);
    shown = escaped;
  }
  const out = [`   ${paint('dim', `${gutter} |`)} ${shown}`];
  if (column !== undefined) {
    const carets = '^'.repeat(Math.max(1, Math.min(width, shown.length - caretColumn + 1)));
    out.push(`   ${paint('dim', `${pad} |`)} ${' '.repeat(Math.max(0, caretColumn - 1))}${paint('red', carets)}`);
  }
  return out;
}

/** For CSV rows: the character column and width of field number `fieldIndex` in the line. */
function locateInLine(text: string, input: InputSpan): { column: number; width: number } | undefined {
  if (input.fieldIndex === undefined) {
    return input.column !== undefined ? { column: input.column, width: 1 } : undefined;
  }
  const delimiter = guessDelimiter(text);
  let fieldStart = 0;
  let index = 1;
  let inQuotes = false;
  for (let i = 0; i <= text.length; i++) {
    const char = text[i];
    if (char === '"') {
      inQuotes = !inQuotes;
    } else if ((char === delimiter && !inQuotes) || i === text.length) {
      if (index === input.fieldIndex) {
        return { column: fieldStart + 1, width: Math.max(1, i - fieldStart) };
      }
      index++;
      fieldStart = i + 1;
    }
  }
  return undefined;
}

function guessDelimiter(text: string): string {
  let best = ',';
  let bestCount = -1;
  for (const candidate of [',', ';', '\t', '|']) {
    const count = text.split(candidate).length;
    if (count > bestCount) {
      best = candidate;
      bestCount = count;
    }
  }
  return best;
}
