import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isDiagnosticCode, validateCqiCase } from '@cadmap/core';
import { invalidCqiCase, validCqiCase } from '../testing/arbitraries.js';
import { cqiEncoder, cqiEncoderForMediaType } from './encoders.js';

const json = cqiEncoder('json');
const xml = cqiEncoder('xml');

describe('CQI wire encoders', () => {
  it('generated valid cases have no diagnostics (the generator is honest)', () => {
    fc.assert(fc.property(validCqiCase, (value) => {
      expect(validateCqiCase(value).diagnostics).toEqual([]);
    }), { numRuns: 200 });
  });

  it('round-trips generated valid cases JSON ⟶ XML ⟶ JSON losslessly', () => {
    fc.assert(fc.property(validCqiCase, (value) => {
      const jsonBody = json.encode(value).body!;
      const fromJson = json.decode(jsonBody);
      expect(fromJson.diagnostics).toEqual([]);
      const xmlBody = xml.encode(fromJson.case).body!;
      const fromXml = xml.decode(xmlBody);
      expect(fromXml.diagnostics).toEqual([]);
      expect(fromXml.case).toEqual(value);
      expect(json.encode(fromXml.case).body).toBe(jsonBody);
    }), { numRuns: 300 });
  });

  it('answers every generated invalid case with the expected coded diagnostic, and encodes no case with errors', () => {
    fc.assert(fc.property(invalidCqiCase, ({ value, expected }) => {
      const { diagnostics, valid } = validateCqiCase(value);
      expect(diagnostics.map((d) => d.code)).toContain(expected);
      for (const d of diagnostics) {
        expect(isDiagnosticCode(d.code)).toBe(true);
        expect(d.expression).toMatch(/^Case(\.|\[|$)/);
      }
      for (const encoder of [json, xml]) {
        const encoded = encoder.encode(value);
        expect(encoded.body === undefined).toBe(!valid);
      }
    }), { numRuns: 300 });
  });

  it('writes the Pathways case shape and reads a Pathways-style export, reporting unknown elements', () => {
    const body = `<?xml version="1.0"?>
<NHSPathways xmlns="http://www.nhspathways.org/webservices/pathways/pathwaysCase">
  <PathwaysCase>
    <PathwaysReleaseID>10.0.0_internalV3</PathwaysReleaseID>
    <CaseID>c1</CaseID>
    <CaseTriageStart>2024-03-01T11:14:52.4312169Z</CaseTriageStart>
    <CaseTriageEnd>2024-03-01T11:17:20.2037808Z</CaseTriageEnd>
    <CallHandlerUserID>JW</CallHandlerUserID>
    <SymptomGroup>1203</SymptomGroup>
    <Colour>red</Colour>
    <FinalDisposition><DispositionCode>Dx012</DispositionCode></FinalDisposition>
    <TriageLineDetails>
      <TriageLine>
        <TimeIn>2024-03-01T11:14:52.7900281Z</TimeIn><TimeOut>2024-03-01T11:15:33.4502502Z</TimeOut>
        <QuestionType>Dx220041</QuestionType><IncludeInReport>True</IncludeInReport><AnswerNumber>0</AnswerNumber>
        <Disposition><DispositionCode>Dx012</DispositionCode><DispositionRational>r</DispositionRational></Disposition>
        <CareAdvice><CxKeywords>a|b</CxKeywords><SymptomDiscriminator>0</SymptomDiscriminator></CareAdvice>
      </TriageLine>
    </TriageLineDetails>
  </PathwaysCase>
</NHSPathways>`;
    const result = xml.decode(body, 'case.xml');
    expect(result.valid).toBe(true);
    expect(result.diagnostics.map((d) => [d.code, d.severity, d.input?.xpath])).toEqual([['CQI_WIRE_SYNTAX', 'warning', '/NHSPathways/PathwaysCase/Colour']]);
    expect(result.case).toMatchObject({
      status: 'complete',
      case: { pathwaysReleaseId: '10.0.0', pathwaysReleaseLabel: '10.0.0_internalV3' },
      symptomGroup: { system: 'https://fhir.nhs.uk/Id/pathways-sg-code', code: '1203' },
      finalDisposition: { code: 'Dx012' },
      triageLines: [{ sequence: 1, nodeKind: 'disposition', includeInReport: true, answerNumber: 0, disposition: { rationale: 'r' }, careAdvice: { keywords: ['a', 'b'] } }],
    });
    expect(result.case?.triageLines[0]?.careAdvice?.symptomDiscriminator).toBeUndefined();
    const encoded = xml.encode(result.case).body!;
    expect(encoded).toContain('<NHSPathways xmlns="http://www.nhspathways.org/webservices/pathways/pathwaysCase">');
    expect(encoded).toMatch(/<FinalDisposition>\s*<DispositionCode>Dx012<\/DispositionCode>/);
  });

  it('reports malformed payloads with where they break', () => {
    expect(xml.decode('<NHSPathways><PathwaysCase></NHSPathways>', 'bad.xml').diagnostics[0]).toMatchObject({ code: 'CQI_WIRE_SYNTAX', input: { file: 'bad.xml', line: 1 } });
    expect(xml.decode('<Other/>').diagnostics[0]?.code).toBe('CQI_WIRE_SYNTAX');
    expect(json.decode('{"a":\n x}', 'bad.json').diagnostics[0]).toMatchObject({ code: 'CQI_WIRE_SYNTAX', input: { file: 'bad.json' } });
    const control = fc.sample(validCqiCase, { numRuns: 1, seed: 1 })[0]!;
    control.case.callReason = 'bell\u0007';
    expect(xml.encode(control)).toEqual({ diagnostics: [expect.objectContaining({ code: 'CQI_WIRE_SYNTAX', expression: 'Case.case.callReason' })] });
    expect(json.encode(control).body).toContain('\\u0007');
  });

  it('chooses the encoder by configuration or media type', () => {
    expect(cqiEncoderForMediaType('application/xml; charset=utf-8')).toBe(xml);
    expect(cqiEncoderForMediaType('application/json')).toBe(json);
    expect(cqiEncoderForMediaType('text/plain')).toBeUndefined();
  });
});
