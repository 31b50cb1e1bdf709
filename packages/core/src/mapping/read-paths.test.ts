import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureTree } from '../../../../test/support/fixtures.js';
import { loadMapping, type Mapping } from './load.js';
import { fieldPathText, readPathsOf } from './read-paths.js';

async function load(text: string): Promise<Mapping> {
  const root = fixtureTree({ 'mapping.yaml': text });
  const { mapping, diagnostics } = await loadMapping(join(root, 'mapping.yaml'));
  if (!mapping) {
    throw new Error(JSON.stringify(diagnostics, null, 2));
  }
  return mapping;
}

/** Every expression text of the mapping with the paths it reads, from the record's root. */
const pathsByExpression = (mapping: Mapping): Record<string, string[]> => {
  const out: Record<string, string[]> = {};
  for (const read of readPathsOf(mapping)) {
    const paths = (out[read.expression.text] ??= []);
    if (!paths.includes(fieldPathText(read.segments))) {
      paths.push(fieldPathText(read.segments));
    }
  }
  return out;
};

describe('the paths a mapping reads', () => {
  it('follows forEach items, as and let variables, where, iif, select, unions and $this back to the record', async () => {
    const mapping = await load(`
cadmap: 1
id: paths
constants: { system: https://example.org }
source: { format: ndjson, key: id }
bundle: { key: =id }
resources:
  - id: call
    resourceType: Encounter
    key: =id
    when: =flags.aqi.exists()
    template:
      status: =iif(outcome.stopCode.exists(), 'cancelled', %system)
      period:
        start: "=iif(times.left.exists(), times.left, times.clear).dateTime()"
      reasonCode:
        - $forEach: =(\`Unit 1\` | \`Unit 2\`)
          text: =$this.upper()
      type:
        - $forEach: =patients.select(condition)
          $as: condition
          text: =code
  - id: patient
    resourceType: Patient
    forEach: =patients
    as: contact
    let:
      attending: =%record.units.where(unitId in %contact.unitRefs)
    key: [=%record.id, =seq]
    template:
      gender: =sex
      extension:
        - $forEach: =%attending
          url: =%system
          valueString: =times.onScene
      identifier:
        - value: =%record.patients.unitRefs.where($this = %contact.nhsNo).first()
  - id: org
    resourceType: Organization
    forEach: =(%system | %system)
    as: org
    key: =%org
    template:
      name: =%org
`);
    expect(pathsByExpression(mapping)).toEqual({
      id: ['id'],
      'flags.aqi.exists()': ['flags', 'flags.aqi'],
      "iif(outcome.stopCode.exists(), 'cancelled', %system)": ['outcome', 'outcome.stopCode'],
      'iif(times.left.exists(), times.left, times.clear).dateTime()': ['times', 'times.left', 'times.clear'],
      '(`Unit 1` | `Unit 2`)': ['`Unit 1`', '`Unit 2`'],
      'patients.select(condition)': ['patients', 'patients.condition'],
      code: ['patients.condition.code'],
      patients: ['patients'],
      '%record.units.where(unitId in %contact.unitRefs)': ['units', 'units.unitId', 'patients.unitRefs'],
      '%record.id': ['id'],
      seq: ['patients.seq'],
      sex: ['patients.sex'],
      'times.onScene': ['units.times', 'units.times.onScene'],
      '%record.patients.unitRefs.where($this = %contact.nhsNo).first()': ['patients', 'patients.unitRefs', 'patients.nhsNo'],
    });
  });

  it('reads CSV child tables and columns with spaces through the join', async () => {
    const mapping = await load(`
cadmap: 1
id: csv-paths
source:
  format: csv
  tables:
    calls: { files: calls.csv, key: IncidentId }
    units: { files: units.csv, parent: calls, on: { IncidentId: IncidentId } }
bundle: { key: =IncidentId }
resources:
  - id: call
    resourceType: Communication
    key: =IncidentId
    let:
      first: =units.first()
    template:
      sent: =%first.\`Unit Arrived\`.dateTime()
      note:
        - text: =%record.units.\`Call Sign\`
`);
    expect(pathsByExpression(mapping)).toEqual({
      IncidentId: ['IncidentId'],
      'units.first()': ['units'],
      '%first.`Unit Arrived`.dateTime()': ['units.`Unit Arrived`'],
      '%record.units.`Call Sign`': ['units', 'units.`Call Sign`'],
    });
  });
});
