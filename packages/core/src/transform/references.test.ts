import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { loadMapping } from '../mapping/load.js';
import { mapAll } from '../run.js';
import { scratchDirectory } from '../../../../test/support/fixtures.js';

/**
 * A dangling reference points at the input cell its key came from, also when the key is read through a
 * variable the rule rebinds per item (`as`), through `%record`, or from a `let`: these are remembered when the
 * reference is built and found again when the bundle is checked, after the frame has moved on.
 */
/** Maps calls.csv and contacts.csv (contacts joined to calls on IncidentId) with `resources`; every diagnostic. */
async function mapCallsAndContacts(id: string, calls: string, contacts: string, resources: string, provenance = false): Promise<Diagnostic[]> {
  const dir = scratchDirectory('cadmap-refs-');
  writeFileSync(join(dir, 'calls.csv'), calls);
  writeFileSync(join(dir, 'contacts.csv'), contacts);
  writeFileSync(
    join(dir, 'mapping.yaml'),
    `cadmap: 1
id: ${id}
source:
  format: csv
  tables:
    calls: { files: "calls.csv", key: IncidentId }
    contacts: { files: "contacts.csv", parent: calls, on: { IncidentId: IncidentId } }
resources:
${resources}`,
  );
  const { mapping, diagnostics } = await loadMapping(join(dir, 'mapping.yaml'));
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const { results } = await mapAll(mapping!, [{ path: join(dir, 'calls.csv') }, { path: join(dir, 'contacts.csv') }], { provenance });
  return results.flatMap((result) => result.diagnostics);
}

/** Where each dangling reference was reported: the element and the input line (and field). */
const danglingIn = (diagnostics: readonly Diagnostic[]): string[] =>
  diagnostics
    .filter((d) => d.code === 'MAP_DANGLING_REFERENCE')
    .map((d) => `${d.expression} ← ${d.input?.file.split('/').pop()}:${d.input?.line}${d.input?.field === undefined ? '' : ` ${d.input.field}`}`);

/** A rule for vehicle Locations that builds none, so every reference to one dangles. */
const vehicleNeverBuilt = `  - id: vehicle
    resourceType: Location
    forEach: =contacts
    when: =false
    key: =Vehicle
    template: { name: =Vehicle }
`;

/** An encounter rule per contact row with `elements` (YAML at template depth) after its status. */
const encounterPerContact = (elements: string): string => `  - id: encounter
    resourceType: Encounter
    forEach: =contacts
    key: [=%record.IncidentId, =PatientNo]
    template:
      status: finished
${elements}`;

describe('dangling references', () => {
  it('locate the cell read through an `as` variable or %record, and the row of a `let`', async () => {
    const diagnostics = await mapCallsAndContacts(
      'dangling',
      'IncidentId,Site\n100,RX1\n',
      'IncidentId,PatientNo,Vehicle\n100,1,V1\n100,2,V2\n',
      `  - id: encounter
    resourceType: Encounter
    forEach: =contacts
    as: contact
    let:
      ride: =%contact.Vehicle
    key: [=%record.IncidentId, =PatientNo]
    template:
      status: finished
      subject:
        reference: =ref('patient', %contact.PatientNo)
      location:
        - location:
            reference: =ref('vehicle', %ride)
      serviceProvider:
        reference: =ref('site', %record.Site)
  - id: patient
    resourceType: Patient
    forEach: =contacts
    when: =false
    key: =PatientNo
    template: { active: true }
${vehicleNeverBuilt}  - id: site
    resourceType: Location
    when: =false
    key: =Site
    template: { name: =Site }
`,
    );
    expect(danglingIn(diagnostics)).toEqual([
      'Bundle.entry[0].resource.subject.reference ← contacts.csv:2 PatientNo',
      // a `let` holds a value, not a cell: the row of the item it was computed for
      'Bundle.entry[0].resource.location[0].location.reference ← contacts.csv:2',
      'Bundle.entry[0].resource.serviceProvider.reference ← calls.csv:2 Site',
      'Bundle.entry[1].resource.subject.reference ← contacts.csv:3 PatientNo',
      'Bundle.entry[1].resource.location[0].location.reference ← contacts.csv:3',
      'Bundle.entry[1].resource.serviceProvider.reference ← calls.csv:2 Site',
    ]);
  });

  it('are not reported for an entry left out because another has its key, and point at the entry kept', async () => {
    // patient 1 twice with different vehicles: the second encounter conflicts with the first and is left out
    const diagnostics = await mapCallsAndContacts(
      'dangling-conflict',
      'IncidentId\n100\n',
      'IncidentId,PatientNo,Vehicle\n100,1,V1\n100,1,V2\n100,2,V3\n',
      `${encounterPerContact(`      location:
        - location:
            reference: =ref('vehicle', Vehicle)`)}
${vehicleNeverBuilt}`,
    );
    expect(diagnostics.filter((d) => d.code === 'MAP_KEY_CONFLICT')).toHaveLength(1);
    expect(danglingIn(diagnostics)).toEqual(['Bundle.entry[0].resource.location[0].location.reference ← contacts.csv:2 Vehicle', 'Bundle.entry[1].resource.location[0].location.reference ← contacts.csv:4 Vehicle']);
  });

  it.each([false, true])('are only urn:uuid: references: other text under `reference` is left alone (provenance %s)', async (provenance) => {
    const diagnostics = await mapCallsAndContacts(
      'dangling-text',
      'IncidentId,Site\n100,RX1\n',
      'IncidentId,PatientNo,Vehicle\n100,1,V1\n',
      `${encounterPerContact(`      serviceProvider:
        reference: ='Organization/' + %record.Site
      subject:
        reference: https://example.org/Patient/1
      location:
        - location:
            reference: =ref('vehicle', Vehicle)`)}
${vehicleNeverBuilt}`,
      provenance,
    );
    expect(danglingIn(diagnostics)).toEqual(['Bundle.entry[0].resource.location[0].location.reference ← contacts.csv:2 Vehicle']);
  });
});
