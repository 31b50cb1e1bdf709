/**
 * Synthetic NHS Pathways case exports (one `NHSPathways/PathwaysCase` XML file per triage, as Pathways host systems
 * write them; shape from docs/cqi.md §3.1) for the `pathways-cqi` sample mapping. Seeded, so byte-identical every run:
 *
 *   npx tsx test/support/sample-data/pathways.ts   ⟶ mappings/pathways-cqi/sample/ and tests/flawed/input/
 *
 * All content is invented: codes have the Pathways shapes (Dx, SG, SD, PW…) but the texts are not Pathways content.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Random } from './random.js';

export interface PathwaysSampleOptions {
  readonly seed?: number;
  /** Cases in the sample; one of them is partial (no disposition yet) and one has a malformed Dx code (a warning). */
  readonly cases?: number;
}

const releases = [['10.0.0', 1], ['25.2.0_internalV3', 2], ['34.2.0', 3], ['36.2.0', 4]] as const;
const skillsets = { callHandler: [5, '111 Call Handler'], clinician: [12, 'Senior Clinician Module'] } as const;
const pathways = [
  ['PW1751', 'Mental Health Problems', '1203'],
  ['PW1546', 'Chest and Upper Back Pain', '1010'],
  ['PW1684', 'Headache', '1035'],
  ['PW1587', 'Abdominal Pain', '1160'],
  ['PW1620', 'Breathing Problems', '1172'],
  ['PW1772', 'Rash, Itch, Hives or Swelling', '1206'],
] as const;
const dispositions = [
  ['Dx02', 'Attend Emergency Treatment Centre within 1 hour', 1002],
  ['Dx05', 'To contact a Primary Care Service within 2 hours', 1005],
  ['Dx012', 'Speak to a Clinician from our service Immediately', 11012],
  ['Dx75', 'MUST contact own GP Practice within 3 working days', 1075],
  ['Dx80', 'Contact Dentist within 24 hours', 1080],
  ['Dx85', 'Contact a Pharmacist within 12 hours', 1085],
  ['Dx118', 'Emergency Ambulance Response (Category 3)', 1118],
  ['Dx0121', 'Speak to a Clinician from our service within 20 minutes', undefined],
  ['Dx01121', 'Speak to a Clinician within 1 hour', undefined],
] as const;
const modules = ['PFA1', 'PMA1', 'PMC1', 'PMI'] as const;
const questions = ['Is the person conscious and breathing?', 'Is there any new confusion?', 'How long has this been going on?', 'Is the pain getting worse?', 'Have they been sick?', 'Is there a temperature?', 'Any new rash that does not fade?', 'Are they taking any medicine for this?'];
const answers = ['Yes', 'No', "Don't know", 'Less than 24 hours', 'More than 7 days', 'I have a different problem'];
const careAdvice = [['Cx221203', 'HEADACHE|PAIN RELIEF'], ['Cx220015', 'WORSENING'], ['Cx221840', 'MENTAL HEALTH|CRISIS LINE'], ['Cx220020', 'MEDICATION']] as const;

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function guid(random: Random): string {
  const hex = (n: number): string => Array.from({ length: n }, () => random.int(0, 15).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${random.pick(['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`;
}

/** An instant written as Pathways does: UTC with 7 fractional digits, from epoch milliseconds plus sub-ms ticks. */
function instant(millis: number, random: Random): string {
  return `${new Date(millis).toISOString().slice(0, 19)}.${String(millis % 1000).padStart(3, '0')}${String(random.int(0, 9999)).padStart(4, '0')}Z`;
}

class Xml {
  private readonly lines: string[] = [];
  private depth = 0;
  open(name: string): this {
    this.lines.push(`${'  '.repeat(this.depth++)}<${name}>`);
    return this;
  }
  close(name: string): this {
    this.lines.push(`${'  '.repeat(--this.depth)}</${name}>`);
    return this;
  }
  leaf(name: string, value: string | number | undefined): this {
    this.lines.push(value === undefined || value === '' ? `${'  '.repeat(this.depth)}<${name} />` : `${'  '.repeat(this.depth)}<${name}>${escape(String(value))}</${name}>`);
    return this;
  }
  toString(): string {
    return `<?xml version="1.0" encoding="utf-8"?>\n${this.lines.join('\n')}\n`;
  }
}

type Flaw = 'none' | 'line-time-order' | 'triage-time-order' | 'malformed-dx' | 'partial';

function writeCase(random: Random, index: number, flaw: Flaw): { name: string; xml: string } {
  const [releaseId] = random.weighted(releases.map((r) => [r, r[1]] as const));
  const major = Number(releaseId.split('.')[0]);
  const clinician = random.chance(0.3);
  const skillset = clinician ? skillsets.clinician : skillsets.callHandler;
  const userId = clinician ? guid(random) : random.pick(['JW', 'AB', 'KM', 'RT', 'SP']);
  const [pathwayId, pathwayName, sg] = random.pick(pathways);
  const triage = random.pick(dispositions);
  const overridden = flaw === 'none' && random.chance(0.3);
  const final = overridden ? random.pick(dispositions.filter((d) => d[0] !== triage[0])) : triage;
  const caseId = guid(random);
  let clock = Date.UTC(2024, 2, 1 + (index % 28), random.int(8, 17), random.int(0, 59), random.int(0, 59)) + random.int(0, 999);
  const start = instant(clock, random);
  const lineCount = random.int(15, 60);
  const badLine = flaw === 'line-time-order' ? random.int(3, lineCount - 3) : -1;

  const x = new Xml();
  x.open('NHSPathways xmlns="http://www.nhspathways.org/webservices/pathways/pathwaysCase"').open('PathwaysCase');
  x.leaf('PathwaysReleaseID', releaseId).leaf('CaseID', caseId).leaf('CADCaseID', random.chance(0.4) ? guid(random) : undefined).leaf('HostCaseID', guid(random));
  if (major >= 34) {
    x.leaf('JourneyId', guid(random)).leaf('SiteId', '22').leaf('NhsEnglandCode', '111AD9');
  }
  if (major === 10) {
    x.leaf('DOStransactionID', undefined);
  }
  const lines: Xml[] = [];
  const sds: string[] = [];
  const body = new Xml();
  for (let n = 1; n <= lineCount; n++) {
    const timeIn = clock + random.int(200, 3000);
    let timeOut = timeIn + random.int(1500, 40_000);
    if (n === badLine) {
      timeOut = timeIn - 2_000;
    }
    clock = Math.max(timeIn, timeOut);
    const last = n === lineCount;
    const dispositionLine = n === lineCount - 2;
    const dosLine = n === lineCount - 1;
    const adviceLine = !dispositionLine && !dosLine && !last && n > lineCount - 6;
    const module = n <= 3 ? modules[Math.min(n - 1, 3)]! : random.chance(0.15) ? `PA${random.int(10, 199)}` : random.chance(0.05) ? `PT${random.int(1, 30)}` : pathwayId;
    const nodeId = dispositionLine ? `Dx${String(random.int(220000, 229999))}` : dosLine ? 'DOS' : adviceLine ? random.pick(careAdvice)[0] : `Tx${random.int(220000, 229999)}`;
    const sd = !dispositionLine && !dosLine && !adviceLine && random.chance(0.07) ? String(random.int(4052, 4717)) : undefined;
    if (sd !== undefined) {
      sds.push(sd);
    }
    const action = last ? 'Save and close' : random.chance(0.06) ? random.pick(['Back', 'Change']) : 'Next';
    body.open('TriageLine');
    body.leaf('UserID', userId).leaf('IncludeInReport', random.chance(0.85) ? 'True' : 'False').leaf('InterfaceID', random.pick([0, 3, 4, 5, 6, 7, 12]));
    body.leaf('TimeIn', instant(timeIn, random)).leaf('TimeOut', instant(timeOut, random)).leaf('AnswerNumber', random.int(0, 8));
    body.leaf('PathwayID', module).leaf('OrderNumber', n <= 3 ? 5 * n : random.int(100, 25800));
    body.leaf('QuestionText', dispositionLine ? triage[1] : dosLine ? 'Directory of Services search' : sd !== undefined ? `SD${sd} ${random.pick(questions)}` : random.pick(questions));
    body.leaf('AnswerText', dispositionLine || dosLine ? undefined : random.pick(answers)).leaf('AdditionalText', random.chance(0.1) ? 'Caller is worried' : undefined);
    body.leaf('ReportText', random.chance(0.7) ? `Report: ${random.pick(answers).toLowerCase()}` : undefined).leaf('QuestionType', nodeId).leaf('Action', action);
    body.leaf('SystemFlag', random.chance(0.1) ? random.pick(['0', '1', 'Trauma', 'Non Trauma']) : undefined);
    body.open('Disposition');
    body.leaf('DispositionCode', dispositionLine ? triage[0] : undefined).leaf(major === 10 ? 'DispositionRational' : 'DispositionRationale', dispositionLine ? 'Reached by triage' : undefined);
    body.leaf('DispositionOverrideID', dispositionLine && overridden ? random.pick(['1', '2']) : undefined).leaf('DispositionOverrideText', dispositionLine && overridden ? `Overridden to ${final[0]}` : undefined);
    body.leaf('DispositionRatText', dispositionLine && overridden ? 'Caller would rather be seen in person' : undefined);
    body.close('Disposition');
    body.open('CareAdvice').leaf('CxKeywords', adviceLine ? careAdvice.find((c) => c[0] === nodeId)![1] : undefined).leaf('SymptomDiscriminator', sd ?? '0').close('CareAdvice');
    body.close('TriageLine');
    lines.push(body);
  }
  const end = flaw === 'partial' ? undefined : flaw === 'triage-time-order' ? instant(Date.parse(start) - 60_000, random) : instant(clock + random.int(500, 4000), random);
  x.leaf('CaseTriageStart', start).leaf('CaseTriageEnd', end);
  x.leaf('PostCode', random.chance(0.9) ? random.pick(['LS1 4AP', 'ls6 2ab', 'BD1 1HY', 'HG1 2RQ']) : undefined);
  x.open('CallReason').leaf('CallReason', random.chance(0.85) ? random.pick(['Feels unwell', 'Chest pain', 'Worried about headache', 'Breathing difficulty']) : undefined).close('CallReason');
  x.leaf('CallHandlerUserID', clinician ? undefined : userId).leaf('ClinicianUserID', clinician ? userId : undefined);
  x.leaf('SymptomGroup', sg).leaf('LaunchType', major >= 34 ? 0 : undefined);
  const trauma = random.chance(0.2);
  x.open('Trauma').leaf('TraumaID', trauma ? 1 : 0).leaf('TraumaDescription', trauma ? 'Trauma' : 'Non Trauma').close('Trauma');
  x.open('Skillset').leaf('SkillsetID', skillset[0]).leaf('SkillsetDescription', skillset[1]).close('Skillset');
  x.open('Party').leaf('Party', random.pick([1, 1, 3])).close('Party');
  const age = random.weighted([[[1, 'Adult'], 6], [[2, 'Child'], 2], [[4, 'Infant'], 1]] as const);
  const male = random.chance(0.5);
  x.open('Patient').open('Age').leaf('AgeID', age[0]).leaf('AgeDescription', age[1]).leaf('AgeHours', age[0] === 4 ? random.int(1, 8000) : undefined);
  x.leaf('DOBorYear', age[0] === 1 ? random.int(1935, 2007) : age[0] === 2 ? random.int(2009, 2019) : 2023).close('Age');
  x.open('Gender').leaf('GenderID', male ? 1 : 2).leaf('GenderDescription', male ? 'Male' : 'Female').close('Gender').close('Patient');
  x.open('TriageDisposition').leaf('DispositionCode', triage[0]).leaf('DispositionDescription', triage[1]).close('TriageDisposition');
  if (flaw !== 'partial') {
    x.open('FinalDisposition').leaf('DispositionCode', flaw === 'malformed-dx' ? 'Dx5' : final[0]).leaf('DispositionDescription', final[1]).close('FinalDisposition');
    x.leaf('FinalDispositionCMSID', final[2]);
  }
  x.open('DOS').leaf('DOStransactionID', undefined).leaf('ServiceID', undefined).leaf('ServiceName', undefined).close('DOS');
  x.open('Pathway').leaf('PathwayID', pathwayId).leaf('PathwayDescription', pathwayName).close('Pathway');
  const text = x.toString().trimEnd().split('\n').slice(1);
  const bodyLines = body.toString().trimEnd().split('\n').slice(1).map((l) => `      ${l}`);
  const xml = [
    '<?xml version="1.0" encoding="utf-8"?>',
    ...text,
    '    <TriageLineDetails>',
    ...bodyLines,
    '    </TriageLineDetails>',
    '  </PathwaysCase>',
    '</NHSPathways>',
    '',
  ].join('\n');
  return { name: `case_${String(index + 1).padStart(3, '0')}_${caseId.slice(0, 8)}.xml`, xml };
}

/** The sample cases as `{name, xml}`: all map, one with a warning. Same options ⟶ same bytes. */
export function pathwaysSampleCases(options: PathwaysSampleOptions = {}): { name: string; xml: string }[] {
  const random = new Random(options.seed ?? 6);
  const count = options.cases ?? 22;
  const flaws = Array.from({ length: count }, (_, i): Flaw => (i === 7 ? 'partial' : i === 17 ? 'malformed-dx' : 'none'));
  return flaws.map((flaw, index) => writeCase(random, index, flaw));
}

/** Two cases that break an invariant (a line ends before it starts; the triage ends before it starts), for a golden test. */
export function pathwaysFlawedCases(seed = 66): { name: string; xml: string }[] {
  const random = new Random(seed);
  return (['line-time-order', 'triage-time-order'] as const).map((flaw, index) => ({ ...writeCase(random, index, flaw), name: `flawed_${index + 1}_${flaw}.xml` }));
}

/** The repository root (this file sits in test/support/sample-data). */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Regenerates mappings/pathways-cqi/sample/ and tests/flawed/input/. Returns the files written. */
export function writePathwaysSample(root = repoRoot, options: PathwaysSampleOptions = {}): string[] {
  const write = (directory: string, cases: { name: string; xml: string }[]): string[] => {
    rmSync(directory, { recursive: true, force: true });
    mkdirSync(directory, { recursive: true });
    return cases.map(({ name, xml }) => {
      const file = join(directory, name);
      writeFileSync(file, xml);
      return file;
    });
  };
  const mappingDir = join(root, 'mappings', 'pathways-cqi');
  return [...write(join(mappingDir, 'sample'), pathwaysSampleCases(options)), ...write(join(mappingDir, 'tests', 'flawed', 'input'), pathwaysFlawedCases())];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const files = writePathwaysSample();
  console.log(`wrote ${files.length} Pathways case files to mappings/pathways-cqi/sample/ and tests/flawed/input/`);
}
