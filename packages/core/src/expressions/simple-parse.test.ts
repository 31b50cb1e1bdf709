import fhirpath from 'fhirpath';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSimpleExpression } from './simple-parse.js';

/** An expression text and whether it is in the subset parseSimpleExpression reads (else it must decline). */
interface Case {
  readonly text: string;
  readonly plain: boolean;
}

const plainName = fc.constantFrom('IncidentId', 'a', 'x1', '_under', 'where', 'exists', 'dateTime', 'coding', 'ref', 'not', 'Years', 'sorted', 'record');
const keywordName = fc.constantFrom('and', 'or', 'as', 'is', 'in', 'contains', 'sort', 'asc', 'desc', 'true', 'false', 'day', 'years', 'T', 'L', 'Z', 'u', 'mod', 'div');
const name: fc.Arbitrary<Case> = fc.oneof(
  { weight: 4, arbitrary: plainName.map((text) => ({ text, plain: true })) },
  { weight: 1, arbitrary: keywordName.map((text) => ({ text, plain: false })) },
);
const stringLiteral: fc.Arbitrary<Case> = fc.oneof(
  fc.constantFrom("''", "'a'", "'two words'", "'H&T'", "'é€'", "'dd/MM/yyyy'", "'%x.y(z)'").map((text) => ({ text, plain: true })),
  fc.constantFrom("'a\\'b'", "'line\\nbreak'", "'😀'", "'a\nb'").map((text) => ({ text, plain: false })),
);
const comma = fc.constantFrom(',', ', ', ',  ', ' ,', ' , ');
const operator = fc.constantFrom(' = ', '=', ' != ', '!=', ' | ', '|', ' and ', ' or ', ' xor ', ' implies ', '  and  ');

const expression: fc.Arbitrary<Case> = fc.letrec<{ expression: Case; operand: Case; term: Case; invocation: Case }>((tie) => ({
  term: fc.oneof(
    { maxDepth: 3, depthIdentifier: 'expression' },
    name,
    name.map((n) => ({ text: `%${n.text}`, plain: n.plain })),
    stringLiteral,
    tie('invocation'),
    fc.tuple(tie('expression'), fc.constantFrom(['(', ')'], ['( ', ' )'])).map(([inner, [open, close]]) => ({ text: `${open}${inner.text}${close}`, plain: inner.plain })),
  ),
  invocation: fc.tuple(name, fc.array(tie('expression'), { maxLength: 2 }), comma, fc.constantFrom(['(', ')'], ['( ', ' )'])).map(([fn, args, separator, [open, close]]) => ({
    text: `${fn.text}${args.length > 0 ? open : '('}${args.map((arg) => arg.text).join(separator)}${args.length > 0 ? close : ')'}`,
    plain: fn.plain && args.every((arg) => arg.plain),
  })),
  operand: fc
    .tuple(tie('term'), fc.array(fc.oneof(name, tie('invocation')), { maxLength: 2 }))
    .map(([first, rest]) => ({ text: [first.text, ...rest.map((step) => step.text)].join('.'), plain: first.plain && rest.every((step) => step.plain) })),
  expression: fc
    .tuple(tie('operand'), fc.array(fc.tuple(operator, tie('operand')), { maxLength: 2 }))
    .map(([first, rest]) => ({ text: first.text + rest.map(([op, operand]) => op + operand.text).join(''), plain: first.plain && rest.every(([, operand]) => operand.plain) })),
}))
  // fhirpath.js's parser slows down sharply on long nested texts
  .expression.filter((each) => each.text.length <= 80);

/** Texts near the subset: spaces, operators, brackets and other characters inserted somewhere. */
const nearMiss = fc
  .tuple(expression, fc.nat(), fc.constantFrom(' ', '.', '(', ')', ',', "'", '%', '`', '$', '1', ' = ', ' and ', '[0]', '|', '\n', '/*c*/', '\\', '<', '~', '!', '-', ' is ', 'and', 'or '))
  .map(([base, at, insert]) => {
    const position = at % (base.text.length + 1);
    return base.text.slice(0, position) + insert + base.text.slice(position);
  });

describe('parseSimpleExpression', () => {
  it('builds the tree fhirpath.js builds for the expressions it reads, and reads every plain one', () => {
    fc.assert(
      fc.property(expression, ({ text, plain }) => {
        const simple = parseSimpleExpression(text);
        if (plain) {
          expect(simple).toBeDefined();
        }
        if (simple !== undefined) {
          expect(simple).toEqual(fhirpath.parse(text));
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('declines or agrees with fhirpath.js on texts near the subset', () => {
    fc.assert(
      fc.property(nearMiss, (text) => {
        const simple = parseSimpleExpression(text);
        if (simple !== undefined) {
          expect(simple).toEqual(fhirpath.parse(text));
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('reads the forms mapping rules are made of', () => {
    for (const text of ['IncidentId', '%record.IncidentId', "CallSource.translate('northwindCallSource').coding('adsCallOrigin')", "ref('patient', %record.IncidentId, PatientNo)", "DateOfBirth.date('dd/MM/yyyy')", "ref('receiving', DestinationOds.odsCode())"]) {
      expect(parseSimpleExpression(text)).toEqual(fhirpath.parse(text));
    }
    for (const text of ["(%submitterOds | %providerOds)", "%record.patients.where(A = %vehicle.CallSign or B = %vehicle.CallSign).exists()", "iif(%record.TreatmentType = 'H&T', %a, %b)", 'TreatmentType.empty() and StopCode.exists()', ' a != b ']) {
      expect(parseSimpleExpression(text)).toEqual(fhirpath.parse(text));
    }
    for (const text of ['a < b', 'a[0]', '$this', '`a b`', "%'x'", '1', 'a ~ b', 'a is T', '-a', 'a and', '(a', 'a . b']) {
      expect(parseSimpleExpression(text)).toBeUndefined();
    }
  });
});
