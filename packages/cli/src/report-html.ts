/**
 * Renders the submission report: one static, self-contained HTML file (inline CSS and SVG, no scripts, no
 * network), built from the ledger. Data in, text out: {@link reportData} reads, {@link renderReport} writes.
 */
import type { Ledger, LedgerRecord, MeshErrorEntry, RecordState } from '@cadmap/ledger';
import { recordStates } from '@cadmap/ledger';
import { adsItems } from './ads-items.js';

/** One group of errors: the same mapping rule and source column. */
export interface ErrorGroup {
  readonly rule: string;
  readonly ruleId?: string;
  readonly column: string;
  readonly codes: readonly string[];
  readonly source: 'mapping or check' | 'DPS (MESH)';
  readonly message: string;
  readonly records: readonly { readonly id: number; readonly key: string; readonly row?: number }[];
}

export interface MappingSection {
  readonly mapping: string;
  readonly target: string;
  readonly mappingFile?: string;
  readonly counts: Record<RecordState, number>;
  /** Records with a bundle (mapped), the denominator of the fill shares. */
  readonly mapped: number;
  readonly fill: readonly { readonly id: string; readonly label: string; readonly section: string; readonly filled: number }[];
  readonly errors: readonly ErrorGroup[];
  readonly meshErrors: { readonly matched: number; readonly unmatched: number };
  /** Records worth a row in the report (not accepted, or with errors), with anchors the error groups link to. */
  readonly rows: readonly { readonly record: LedgerRecord; readonly firstError?: string }[];
  readonly rowsLeftOut: number;
}

export interface ReportData {
  readonly title: string;
  readonly generatedAt: string;
  readonly ledger: string;
  readonly sections: readonly MappingSection[];
  readonly unmatchedMeshErrors: readonly MeshErrorEntry[];
}

const maxRows = 2_000;
const maxLinks = 25;
const sendable = (record: LedgerRecord): boolean => record.state !== 'mapping-failed' && record.state !== 'skipped';
const isError = (severity: string): boolean => severity === 'error' || severity === 'fatal';

/** Reads what the report shows from the ledger. */
export function reportData(ledger: Ledger, options: { readonly title?: string; readonly now?: Date } = {}): ReportData {
  const meshErrors = ledger.meshErrors();
  const meshByRecord = new Map<number, MeshErrorEntry[]>();
  for (const error of meshErrors) {
    if (error.recordId !== undefined) {
      meshByRecord.set(error.recordId, [...(meshByRecord.get(error.recordId) ?? []), error]);
    }
  }
  const sections = ledger.groups().map(({ target, mapping, counts }): MappingSection => {
    const records = ledger.records({ target, mapping });
    const mapped = records.filter((r) => sendable(r) && r.bundleHash !== undefined);
    const fill = adsItems.map((item) => ({ id: item.id, label: item.label, section: item.section, filled: mapped.filter((r) => r.filled.includes(item.id)).length }));
    const groups = new Map<string, { rule: string; ruleId?: string; column: string; codes: Set<string>; source: ErrorGroup['source']; message: string; records: Map<number, { id: number; key: string; row?: number }> }>();
    const add = (record: LedgerRecord, source: ErrorGroup['source'], code: string, message: string, rule: { file: string; line: number; column: number; ruleId?: string } | undefined, column: string | undefined, row: number | undefined): void => {
      const ruleText = rule ? `${rule.file}:${rule.line}:${rule.column}` : '(no rule)';
      const id = `${source}\u0000${ruleText}\u0000${column ?? ''}`;
      let group = groups.get(id);
      if (!group) {
        group = { rule: ruleText, ...(rule?.ruleId !== undefined ? { ruleId: rule.ruleId } : {}), column: column ?? '(record)', codes: new Set(), source, message, records: new Map() };
        groups.set(id, group);
      }
      group.codes.add(code);
      group.records.set(record.id, { id: record.id, key: record.key, ...(row !== undefined ? { row } : {}) });
    };
    const rows: { record: LedgerRecord; firstError?: string }[] = [];
    let rowsLeftOut = 0;
    for (const record of records) {
      const issues = record.issues.filter((issue) => isError(issue.severity));
      for (const issue of issues) {
        add(record, 'mapping or check', issue.code, issue.message, issue.rule, issue.input?.field, issue.input?.row ?? record.source?.row);
      }
      const notified = meshByRecord.get(record.id) ?? [];
      for (const error of notified) {
        add(record, 'DPS (MESH)', error.code ?? 'error', error.message, error.rule, error.location, record.source?.row);
      }
      if (record.state !== 'accepted' || issues.length > 0 || notified.length > 0) {
        if (rows.length < maxRows) {
          const first = issues[0] ? `${issues[0].code}: ${issues[0].message}` : notified[0] ? `DPS ${notified[0].code ?? 'error'}: ${notified[0].message}${notified[0].location !== undefined ? ` at ${notified[0].location}` : ''}` : undefined;
          rows.push({ record, ...(first !== undefined ? { firstError: first } : {}) });
        } else {
          rowsLeftOut++;
        }
      }
    }
    const ids = new Set(records.map((r) => r.id));
    const sectionMesh = meshErrors.filter((e) => e.recordId !== undefined && ids.has(e.recordId));
    return {
      mapping,
      target,
      ...(records[0]?.mappingFile !== undefined ? { mappingFile: records[0].mappingFile } : {}),
      counts,
      mapped: mapped.length,
      fill,
      errors: [...groups.values()]
        .map((g) => ({ rule: g.rule, ...(g.ruleId !== undefined ? { ruleId: g.ruleId } : {}), column: g.column, codes: [...g.codes].sort(), source: g.source, message: g.message, records: [...g.records.values()] }))
        .sort((a, b) => b.records.length - a.records.length),
      meshErrors: { matched: sectionMesh.length, unmatched: 0 },
      rows,
      rowsLeftOut,
    };
  });
  return {
    title: options.title ?? 'cadmap submission report',
    generatedAt: (options.now ?? new Date()).toISOString(),
    ledger: ledger.path,
    sections,
    unmatchedMeshErrors: meshErrors.filter((e) => e.recordId === undefined),
  };
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
const percent = (part: number, whole: number): string => (whole === 0 ? '—' : `${((100 * part) / whole).toFixed(part === whole || part === 0 ? 0 : 1)}%`);
const anchor = (section: number, record: number): string => `m${section}-r${record}`;

const stateColours: Record<RecordState, string> = {
  accepted: '#2e7d32',
  rejected: '#c62828',
  failed: '#d84315',
  sending: '#f9a825',
  pending: '#90a4ae',
  'held-back': '#6a1b9a',
  'mapping-failed': '#ad1457',
  skipped: '#bdbdbd',
};

/** Horizontal bars: the share of mapped calls filling each ADS item. */
function fillChart(section: MappingSection): string {
  const rowHeight = 20;
  const labelWidth = 250;
  const barWidth = 360;
  const height = section.fill.length * rowHeight + 10;
  const bars = section.fill
    .map((item, i) => {
      const share = section.mapped === 0 ? 0 : item.filled / section.mapped;
      const y = i * rowHeight + 5;
      return `<g><text x="${labelWidth - 6}" y="${y + 14}" text-anchor="end">${escapeHtml(`${item.id} ${item.label}`)}</text><rect x="${labelWidth}" y="${y + 3}" width="${barWidth}" height="14" fill="#eceff1"/><rect class="bar" x="${labelWidth}" y="${y + 3}" width="${(share * barWidth).toFixed(1)}" height="14" fill="${share === 1 ? '#2e7d32' : share === 0 ? '#c62828' : '#1565c0'}"/><text x="${labelWidth + barWidth + 6}" y="${y + 14}">${percent(item.filled, section.mapped)}</text></g>`;
    })
    .join('');
  return `<svg class="chart fill-chart" role="img" aria-label="Share of calls filling each ADS item" width="${labelWidth + barWidth + 60}" height="${height}" viewBox="0 0 ${labelWidth + barWidth + 60} ${height}">${bars}</svg>`;
}

/** One stacked bar of records by state, with a legend. */
function stateChart(counts: Record<RecordState, number>): string {
  const total = recordStates.reduce((sum, state) => sum + counts[state], 0);
  const width = 600;
  let x = 0;
  const segments = recordStates
    .filter((state) => counts[state] > 0)
    .map((state) => {
      const w = total === 0 ? 0 : (counts[state] / total) * width;
      const rect = `<rect class="state-${state}" x="${x.toFixed(1)}" y="0" width="${w.toFixed(1)}" height="24" fill="${stateColours[state]}"><title>${state}: ${counts[state]}</title></rect>`;
      x += w;
      return rect;
    })
    .join('');
  const legend = recordStates
    .filter((state) => counts[state] > 0)
    .map((state, i) => `<g transform="translate(${(i % 4) * 150},${36 + Math.floor(i / 4) * 18})"><rect width="12" height="12" fill="${stateColours[state]}"/><text x="16" y="11">${state}: ${counts[state]}</text></g>`)
    .join('');
  const legendRows = Math.ceil(recordStates.filter((state) => counts[state] > 0).length / 4);
  return `<svg class="chart state-chart" role="img" aria-label="Records by submission state" width="${width}" height="${40 + legendRows * 18}" viewBox="0 0 ${width} ${40 + legendRows * 18}">${segments}${legend}</svg>`;
}

function errorTable(sectionIndex: number, section: MappingSection): string {
  if (section.errors.length === 0) {
    return '<p class="none">No errors: every record mapped, passed the check and no DPS error was reported.</p>';
  }
  const rows = section.errors
    .map((group) => {
      const links = group.records
        .slice(0, maxLinks)
        .map((r) => `<a href="#${anchor(sectionIndex, r.id)}">${escapeHtml(r.row !== undefined ? `row ${r.row}` : r.key)}</a>`)
        .join(', ');
      const more = group.records.length > maxLinks ? ` … and ${group.records.length - maxLinks} more` : '';
      return `<tr><td>${escapeHtml(group.ruleId ?? '')}<div class="muted">${escapeHtml(group.rule)}</div></td><td><code>${escapeHtml(group.column)}</code></td><td>${escapeHtml(group.codes.join(', '))}<div class="muted">${escapeHtml(group.message)}</div></td><td>${escapeHtml(group.source)}</td><td class="num">${group.records.length}</td><td>${links}${more}</td></tr>`;
    })
    .join('');
  return `<table class="errors"><thead><tr><th>Mapping rule</th><th>Source column / location</th><th>Code and first message</th><th>Found by</th><th>Records</th><th>Rows</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function recordTable(sectionIndex: number, section: MappingSection): string {
  if (section.rows.length === 0) {
    return '<p class="none">Every record was accepted without errors.</p>';
  }
  const rows = section.rows
    .map(({ record, firstError }) => {
      return `<tr id="${anchor(sectionIndex, record.id)}"><td>${escapeHtml(record.key)}</td><td><span class="state" style="background:${stateColours[record.state]}">${record.state}</span></td><td>${escapeHtml(record.source?.file ?? record.sourceFile ?? '')}${record.source?.row !== undefined ? ` row ${record.source.row}` : ''}${record.source?.line !== undefined ? ` (line ${record.source.line})` : ''}</td><td>${escapeHtml(record.receipt ?? '')}</td><td>${escapeHtml(firstError ?? '')}</td></tr>`;
    })
    .join('');
  const more = section.rowsLeftOut > 0 ? `<p class="muted">${section.rowsLeftOut} more records not shown; see <code>cadmap status --record &lt;key&gt;</code>.</p>` : '';
  return `<table class="records"><thead><tr><th>Record</th><th>State</th><th>Source</th><th>DPS receipt</th><th>First error</th></tr></thead><tbody>${rows}</tbody></table>${more}`;
}

const css = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1c2329;background:#fafbfc}
header{background:#005eb8;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;opacity:.9}
main{padding:8px 28px 40px;max-width:1200px}section.mapping{background:#fff;border:1px solid #dde3e8;border-radius:6px;padding:4px 20px 16px;margin:20px 0}
h2{font-size:19px;margin:14px 0 4px}h3{font-size:15px;margin:18px 0 6px}.muted{color:#5f6b75;font-size:12px}.none{color:#2e7d32}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{border-bottom:1px solid #e3e8ec;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f1f4f6;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr:target{background:#fff8c4}.state{color:#fff;border-radius:3px;padding:1px 6px;font-size:12px}
.chart text{font-size:12px;fill:#1c2329}.summary{display:flex;gap:12px;flex-wrap:wrap;margin:8px 0}.summary div{background:#f1f4f6;border-radius:4px;padding:6px 12px}.summary b{display:block;font-size:20px}
`;

/** The report as one HTML document. */
export function renderReport(data: ReportData): string {
  const sections = data.sections
    .map((section, index) => {
      const total = recordStates.reduce((sum, state) => sum + section.counts[state], 0);
      return `<section class="mapping" id="mapping-${index}">
<h2>${escapeHtml(section.mapping)}</h2>
<p class="muted">target ${escapeHtml(section.target)}${section.mappingFile !== undefined ? ` · mapping ${escapeHtml(section.mappingFile)}` : ''}</p>
<div class="summary"><div><b>${total}</b>records</div><div><b>${section.counts.accepted}</b>accepted</div><div><b>${section.counts.rejected}</b>rejected by DPS (MESH)</div><div><b>${section.counts.failed + section.counts.sending + section.counts.pending}</b>not acknowledged</div><div><b>${section.counts['held-back'] + section.counts['mapping-failed']}</b>not sent (mapping or check)</div><div><b>${section.meshErrors.matched}</b>DPS errors reconciled</div></div>
<h3>Submission and reconciliation states</h3>
${stateChart(section.counts)}
<h3>ADS items filled (share of ${section.mapped} mapped calls)</h3>
${fillChart(section)}
<h3>Errors by mapping rule and source column</h3>
${errorTable(index, section)}
<h3>Records needing attention</h3>
${recordTable(index, section)}
</section>`;
    })
    .join('\n');
  const unmatched =
    data.unmatchedMeshErrors.length === 0
      ? ''
      : `<section class="mapping"><h2>DPS errors matching no record</h2><table><thead><tr><th>Notification</th><th>Code</th><th>Message</th><th>Identifiers</th></tr></thead><tbody>${data.unmatchedMeshErrors.map((e) => `<tr><td>${escapeHtml(`${e.notificationId} #${e.index}`)}</td><td>${escapeHtml(e.code ?? '')}</td><td>${escapeHtml(e.message)}</td><td>${escapeHtml([e.receipt, e.bundleId, e.callId].filter((v) => v !== undefined).join(' · '))}</td></tr>`).join('')}</tbody></table></section>`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(data.title)}</title><style>${css}</style></head>
<body><header><h1>${escapeHtml(data.title)}</h1><p>Generated ${escapeHtml(data.generatedAt)} from the ledger ${escapeHtml(data.ledger)}</p></header>
<main>
${data.sections.length === 0 ? '<p>The ledger holds no records yet: run <code>cadmap submit</code> first.</p>' : ''}
${sections}
${unmatched}
</main></body></html>
`;
}
