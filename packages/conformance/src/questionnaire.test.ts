import { beforeAll, describe, expect, it } from 'vitest';
import { createChecker } from './checker.js';
import type { Checker } from './checker.js';
import { FhirPackageRegistry } from './registry.js';

const questionnaire = {
  resourceType: 'Questionnaire',
  url: 'http://example.org/Questionnaire/triage',
  status: 'active',
  item: [
    { linkId: 'conscious', text: 'Conscious?', type: 'boolean', required: true },
    { linkId: 'gcs', type: 'integer', enableWhen: [{ question: 'conscious', operator: '=', answerBoolean: false }], required: true, extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/minValue', valueInteger: 3 }, { url: 'http://hl7.org/fhir/StructureDefinition/maxValue', valueInteger: 15 }] },
    { linkId: 'onset', type: 'date', extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/maxValue', valueDate: '2024' }] },
    { linkId: 'colour', type: 'choice', answerOption: [{ valueCoding: { system: 'http://example.org/c', code: 'red' } }, { valueCoding: { system: 'http://example.org/c', code: 'none' }, extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/questionnaire-optionExclusive', valueBoolean: true }] }], repeats: true },
    { linkId: 'gender', type: 'choice', answerValueSet: 'http://hl7.org/fhir/ValueSet/administrative-gender' },
    { linkId: 'crew', type: 'group', repeats: true, item: [{ linkId: 'role', type: 'string', required: true }, { linkId: 'lead', type: 'boolean', enableWhen: [{ question: 'role', operator: '=', answerString: 'paramedic' }] }] },
    { linkId: 'note', type: 'display' },
  ],
};

const response = (items: unknown[], status = 'completed'): unknown => ({ resourceType: 'QuestionnaireResponse', questionnaire: questionnaire.url, status, item: items });

describe('QuestionnaireResponse against its Questionnaire', () => {
  let checker: Checker;
  beforeAll(() => {
    const registry = new FhirPackageRegistry();
    registry.loadR4Core();
    registry.addResource(questionnaire);
    checker = createChecker({ registry });
  });
  const errors = (r: unknown): string[] => checker.checkResource(r).issues.filter((i) => i.severity === 'error').map((i) => `${i.expression}: ${i.message}`);

  it('accepts a complete response', () => {
    expect(errors(response([
      { linkId: 'conscious', text: 'Conscious?', answer: [{ valueBoolean: false }] },
      { linkId: 'gcs', answer: [{ valueInteger: 9 }] },
      { linkId: 'colour', answer: [{ valueCoding: { system: 'http://example.org/c', code: 'red' } }] },
      { linkId: 'gender', answer: [{ valueCoding: { system: 'http://hl7.org/fhir/administrative-gender', code: 'female' } }] },
      { linkId: 'crew', item: [{ linkId: 'role', answer: [{ valueString: 'paramedic' }] }, { linkId: 'lead', answer: [{ valueBoolean: true }] }] },
      { linkId: 'crew', item: [{ linkId: 'role', answer: [{ valueString: 'driver' }] }] },
    ]))).toEqual([]);
  });

  it('required items, enableWhen in the nearest group, unknown linkIds, order and answer types', () => {
    expect(errors(response([
      { linkId: 'gcs', answer: [{ valueInteger: 9 }] },
      { linkId: 'conscious', answer: [{ valueString: 'yes' }] },
      { linkId: 'crew', item: [{ linkId: 'role', answer: [{ valueString: 'driver' }] }, { linkId: 'lead', answer: [{ valueBoolean: true }] }] },
      { linkId: 'nope', answer: [{ valueString: 'x' }] },
    ]))).toEqual([
      'QuestionnaireResponse.item[1]: The item "conscious" is out of order: items follow the order of the Questionnaire.',
      'QuestionnaireResponse.item[3]: LinkId "nope" is not found in the Questionnaire.',
      'QuestionnaireResponse.item[1].answer[0].valueString: The answer to "conscious" must be of type boolean, not string.',
      'QuestionnaireResponse.item[0]: Item "gcs" has an answer, even though it is not enabled (enableWhen).',
      'QuestionnaireResponse.item[2].item[1]: Item "lead" has an answer, even though it is not enabled (enableWhen).',
    ]);
    expect(errors(response([{ linkId: 'conscious', answer: [{ valueBoolean: false }] }]))).toEqual(['QuestionnaireResponse: No response answer found for required item "gcs".']);
    // In progress: missing answers are warnings.
    expect(errors(response([{ linkId: 'conscious', answer: [{ valueBoolean: false }] }], 'in-progress'))).toEqual([]);
  });

  it('minValue and maxValue (dates with their precision), options, exclusive options, value sets, repeats, display items', () => {
    expect(errors(response([
      { linkId: 'conscious', answer: [{ valueBoolean: false }, { valueBoolean: true }] },
      { linkId: 'gcs', answer: [{ valueInteger: 2 }] },
      { linkId: 'onset', answer: [{ valueDate: '2025-01-01' }] },
      { linkId: 'colour', answer: [{ valueCoding: { system: 'http://example.org/c', code: 'red' } }, { valueCoding: { system: 'http://example.org/c', code: 'none' } }, { valueCoding: { system: 'http://example.org/c', code: 'blue' } }] },
      { linkId: 'gender', answer: [{ valueCoding: { system: 'http://hl7.org/fhir/administrative-gender', code: 'woman' } }] },
      { linkId: 'note', answer: [{ valueString: 'x' }] },
    ]))).toEqual([
      'QuestionnaireResponse.item[4].answer[0].valueCoding.code: Code "woman" does not exist in code system http://hl7.org/fhir/administrative-gender.',
      'QuestionnaireResponse.item[0].answer[1]: Only one answer is allowed for "conscious": the question does not repeat.',
      'QuestionnaireResponse.item[1].answer[0].valueInteger: The value 2 is less than the allowed minimum of 3.',
      'QuestionnaireResponse.item[2].answer[0].valueDate: The value 2025-01-01 is greater than the allowed maximum of 2024.',
      'QuestionnaireResponse.item[3].answer[1].valueCoding: The answer http://example.org/c#none is an exclusive option: no other answer can be selected with it.',
      'QuestionnaireResponse.item[3].answer[2].valueCoding: The answer http://example.org/c#blue is not one of the options of the question.',
      'QuestionnaireResponse.item[4].answer[0].valueCoding: The code http://hl7.org/fhir/administrative-gender#woman is not in the answer value set http://hl7.org/fhir/ValueSet/administrative-gender of the question.',
      'QuestionnaireResponse.item[5].answer[0]: Items of type display cannot have answers ("note").',
    ]);
  });

  it('a questionnaire that is not loaded is a warning: the answers were not checked', () => {
    const result = checker.checkResource({ resourceType: 'QuestionnaireResponse', questionnaire: 'http://forms.nhs.example/Questionnaire/other', status: 'completed' });
    expect(result.issues).toContainEqual(expect.objectContaining({ code: 'CONF_QUESTIONNAIRE', severity: 'warning', expression: 'QuestionnaireResponse.questionnaire' }));
  });

  it('a Questionnaire whose enableWhen names no question, and que-12 as its text says (more than one enableWhen)', () => {
    const q = { resourceType: 'Questionnaire', status: 'draft', item: [{ linkId: 'a', type: 'boolean' }, { linkId: 'b', type: 'string', enableWhen: [{ question: 'zz', operator: 'exists', answerBoolean: true }, { question: 'a', operator: 'exists', answerBoolean: true }] }] };
    expect(errors(q)).toEqual([
      'Questionnaire.item[1]: que-12: If there are more than one enableWhen, enableBehavior must be specified',
      'Questionnaire.item[1].enableWhen[0]: enableWhen refers to the question "zz", which is not in the Questionnaire.',
    ]);
  });
});
