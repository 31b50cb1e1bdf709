import type { Diagnostic, InputSpan, RuleSpan, Severity } from '@cadmap/core';

/**
 * Every code the conformance checker emits, with what it means and the FHIR IssueType used in OperationOutcome
 * (http://hl7.org/fhir/R4/valueset-issue-type.html). Codes are stable; add new ones, never rename.
 */
export const conformanceCodes = {
  CONF_CARDINALITY: { issueType: 'structure', meaning: 'An element occurs fewer times than its min or more than its max.' },
  CONF_UNKNOWN_ELEMENT: { issueType: 'structure', meaning: 'A property is not defined for this type or profile.' },
  CONF_TYPE: { issueType: 'structure', meaning: 'A value has the wrong type or JSON shape (object, array, primitive).' },
  CONF_PRIMITIVE: { issueType: 'value', meaning: 'A primitive value does not match the format of its FHIR type.' },
  CONF_FIXED: { issueType: 'value', meaning: 'A value differs from the fixed[x] value the profile requires.' },
  CONF_PATTERN: { issueType: 'value', meaning: 'A value does not contain the pattern[x] value the profile requires.' },
  CONF_SLICE: { issueType: 'structure', meaning: 'A slicing rule is broken: slice cardinality, closed slicing or slice order.' },
  CONF_EXTENSION: { issueType: 'extension', meaning: 'An extension is unknown, used out of its context or malformed.' },
  CONF_BINDING: { issueType: 'code-invalid', meaning: 'A code is not in the value set the element is bound to.' },
  CONF_CODE_INVALID: { issueType: 'code-invalid', meaning: 'A code does not exist in its (locally available) code system.' },
  CONF_CODE_SYSTEM_UNAVAILABLE: { issueType: 'not-supported', meaning: 'The code system (or value set) needed to check a code is not available offline.' },
  CONF_NOT_CHECKED_OFFLINE: { issueType: 'informational', meaning: 'A SNOMED CT or dm+d intensional value set cannot be checked offline.' },
  CONF_INVARIANT: { issueType: 'invariant', meaning: 'A FHIRPath constraint (invariant) of the element is not met.' },
  CONF_INVARIANT_ERROR: { issueType: 'processing', meaning: 'A FHIRPath constraint could not be evaluated.' },
  CONF_REFERENCE: { issueType: 'not-found', meaning: 'A reference does not resolve inside the Bundle or its target type is not allowed.' },
  CONF_DUPLICATE_FULLURL: { issueType: 'duplicate', meaning: 'Two Bundle entries share a fullUrl.' },
  CONF_PROFILE_UNKNOWN: { issueType: 'not-supported', meaning: 'A profile (meta.profile, option or type profile) cannot be resolved.' },
  CONF_RESOURCE_TYPE: { issueType: 'structure', meaning: 'A resource has no or an unknown resourceType.' },
  CONF_INPUT: { issueType: 'invalid', meaning: 'An input to check is not FHIR JSON: unreadable, invalid JSON or not an object.' },
  CONF_QUESTIONNAIRE: { issueType: 'business-rule', meaning: 'A QuestionnaireResponse does not match its Questionnaire (linkId, answer type, required, enableWhen, options, repeats, item limits), or a Questionnaire links enableWhen to no question.' },
  CONF_FORMAT: { issueType: 'structure', meaning: 'The XML or JSON form breaks a rule of the format: element order, attributes, namespaces, text content, duplicate JSON properties.' },
  CONF_PACKAGE: { issueType: 'processing', meaning: 'A FHIR package or definition could not be loaded or a snapshot could not be generated.' },
} as const satisfies Record<string, { issueType: string; meaning: string }>;

/** The closed union of conformance diagnostic codes. */
export type ConformanceCode = keyof typeof conformanceCodes;

/**
 * One conformance finding. Same shape as core's {@link Diagnostic}, with the code drawn from
 * {@link ConformanceCode}.
 */
export interface ConformanceIssue extends Diagnostic<ConformanceCode> {
  /** FHIRPath of the element concerned, e.g. `Bundle.entry[2].resource.identifier[0].system`. */
  readonly expression: string;
  /** Constraint key, slice name or other short id that helps tooling group issues. */
  readonly ruleKey?: string;
}

export type { Diagnostic, InputSpan, RuleSpan, Severity };
