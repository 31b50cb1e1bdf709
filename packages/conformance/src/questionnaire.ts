import type { Severity } from './codes.js';
import { compareDateTimes } from './datetime.js';
import type { FhirPackageRegistry } from './registry.js';
import type { Terminology } from './terminology.js';
import { convertUcum } from './ucum.js';
import { text } from './values.js';

type Json = Record<string, unknown>;

/** Reports one finding of the Questionnaire rules (code CONF_QUESTIONNAIRE). */
export type QuestionnaireReport = (severity: Severity, expression: string, message: string, hint?: string) => void;

const EXT = 'http://hl7.org/fhir/StructureDefinition/';
const SDC = 'http://hl7.org/fhir/uv/sdc/StructureDefinition/';

/** The answer value[x] types each item type accepts (R4 Questionnaire.item.type). */
const answerTypes: Readonly<Record<string, readonly string[]>> = {
  boolean: ['boolean'],
  decimal: ['decimal'],
  integer: ['integer'],
  date: ['date'],
  dateTime: ['dateTime'],
  time: ['time'],
  string: ['string'],
  text: ['string'],
  url: ['uri'],
  attachment: ['Attachment'],
  reference: ['Reference'],
  quantity: ['Quantity'],
  choice: ['Coding', 'date', 'time', 'integer', 'string'],
  'open-choice': ['Coding', 'date', 'time', 'integer', 'string'],
};

/** A QuestionnaireResponse item list and where it sits: the enclosing items, for enableWhen's nearest answers. */
interface Scope {
  readonly items: readonly Json[];
  readonly parent: Scope | undefined;
}

/**
 * Checks a QuestionnaireResponse against its Questionnaire as the HL7 validator does: linkIds and their order and
 * place, required items, enableWhen, repeats, answer types, answer options and value sets, and the item
 * constraints of the core extensions (minValue, maxValue, minLength, maxDecimalPlaces, mimeType, maxSize,
 * unitOption, minOccurs, maxOccurs, optionExclusive, referenceResource and SDC's min/maxQuantity). Also checks a
 * Questionnaire's own enableWhen links.
 */
export class QuestionnaireRules {
  constructor(
    private readonly registry: FhirPackageRegistry,
    private readonly terminology: Terminology,
  ) {}

  checkQuestionnaire(questionnaire: Json, expression: string, report: QuestionnaireReport): void {
    const all = new Map<string, Json>();
    const index = (items: readonly Json[]): void => {
      for (const item of items) {
        if (typeof item['linkId'] === 'string') {all.set(item['linkId'], item);}
        index(records(item['item']));
      }
    };
    index(records(questionnaire['item']));
    const walk = (items: readonly Json[], path: string): void => {
      items.forEach((item, i) => {
        const here = `${path}.item[${i}]`;
        records(item['enableWhen']).forEach((ew, j) => {
          const question = ew['question'];
          if (typeof question !== 'string') {return;}
          const target = all.get(question);
          if (!target) {report('error', `${here}.enableWhen[${j}]`, `enableWhen refers to the question "${question}", which is not in the Questionnaire.`);}
          else if (target === item) {report('error', `${here}.enableWhen[${j}]`, `Item "${String(item['linkId'])}" cannot be enabled by its own answer.`);}
        });
        walk(records(item['item']), here);
      });
    };
    walk(records(questionnaire['item']), expression);
  }

  checkResponse(response: Json, expression: string, report: QuestionnaireReport): void {
    const canonical = response['questionnaire'];
    if (typeof canonical !== 'string') {
      report('information', expression, 'The QuestionnaireResponse names no questionnaire, so its answers were not checked against one.');
      return;
    }
    const questionnaire = this.questionnaire(canonical, response);
    if (!questionnaire) {
      const example = /^https?:\/\/example\.org\//.test(canonical);
      report(example ? 'information' : 'warning', `${expression}.questionnaire`, `Questionnaire ${canonical} is not loaded, so the answers were not checked against it.`, 'Load the package or file that holds it (--package).');
      return;
    }
    const context: ResponseContext = { questionnaire, inProgress: response['status'] === 'in-progress', report, rootItems: records(questionnaire['item']) };
    const items = records(response['item']);
    this.checkItems(context, records(questionnaire['item']), items, expression, { items, parent: undefined });
  }

  private questionnaire(canonical: string, response: Json): Json | undefined {
    if (canonical.startsWith('#')) {
      return records(response['contained']).find((c) => c['resourceType'] === 'Questionnaire' && c['id'] === canonical.slice(1));
    }
    return this.registry.resolve(canonical, 'Questionnaire');
  }

  /** One level: the response items under `expression` against the questionnaire items of that level. */
  private checkItems(context: ResponseContext, qItems: readonly Json[], items: readonly Json[], expression: string, scope: Scope): void {
    const byLinkId = new Map<string, { item: Json; index: number }[]>();
    let lastIndex = -1;
    items.forEach((item, index) => {
      const at = `${expression}.item[${index}]`;
      const linkId = item['linkId'];
      if (typeof linkId !== 'string' || linkId === '') {
        context.report('error', at, 'The item has no linkId.');
        return;
      }
      const position = qItems.findIndex((q) => q['linkId'] === linkId);
      if (position < 0) {
        const elsewhere = findItem(context.rootItems, linkId);
        if (elsewhere) {
          context.report('error', at, `The item with linkId "${linkId}" is in the wrong place: the Questionnaire defines it at another level.`);
          this.checkItem(context, elsewhere, item, at, scope, true);
        } else {
          context.report('error', at, `LinkId "${linkId}" is not found in the Questionnaire.`);
        }
        return;
      }
      if (position < lastIndex) {context.report('error', at, `The item "${linkId}" is out of order: items follow the order of the Questionnaire.`);}
      lastIndex = Math.max(lastIndex, position);
      const list = byLinkId.get(linkId) ?? [];
      list.push({ item, index });
      byLinkId.set(linkId, list);
    });
    for (const qItem of qItems) {
      const linkId = String(qItem['linkId']);
      const present = byLinkId.get(linkId) ?? [];
      const enabled = this.enabled(qItem, scope);
      if (present.length === 0) {
        if (enabled && isRequired(qItem)) {
          context.report(context.inProgress ? 'warning' : 'error', expression, `No response answer found for required item "${linkId}".`);
        }
        continue;
      }
      if (present.length > 1 && qItem['repeats'] !== true) {
        context.report('error', `${expression}.item[${present[1]?.index ?? 0}]`, `Only one response item with linkId "${linkId}" is allowed: the question does not repeat.`);
      }
      for (const { item, index } of present) {
        const at = `${expression}.item[${index}]`;
        if (!enabled && (records(item['answer']).length > 0 || records(item['item']).length > 0)) {
          context.report('error', at, `Item "${linkId}" has an answer, even though it is not enabled (enableWhen).`);
        }
        this.checkItem(context, qItem, item, at, scope, enabled);
      }
    }
  }

  private checkItem(context: ResponseContext, qItem: Json, item: Json, expression: string, scope: Scope, enabled: boolean): void {
    const linkId = String(qItem['linkId']);
    const type = typeof qItem['type'] === 'string' ? qItem['type'] : undefined;
    const text = item['text'];
    if (typeof text === 'string' && text !== '' && typeof qItem['text'] === 'string' && text !== qItem['text']) {
      context.report('error', `${expression}.text`, `The item text "${text}" does not match the Questionnaire's text for "${linkId}" ("${qItem['text']}").`);
    }
    const answers = records(item['answer']);
    if (enabled && answers.length === 0 && isRequired(qItem) && type !== 'group') {
      context.report(context.inProgress ? 'warning' : 'error', expression, `No response answer found for required item "${linkId}".`);
    }
    if (answers.length > 1 && qItem['repeats'] !== true && type !== 'group' && type !== 'display') {
      context.report('error', `${expression}.answer[1]`, `Only one answer is allowed for "${linkId}": the question does not repeat.`);
    }
    const minOccurs = extensionValue(qItem, `${EXT}questionnaire-minOccurs`);
    const maxOccurs = extensionValue(qItem, `${EXT}questionnaire-maxOccurs`);
    if (type !== 'group' && typeof minOccurs === 'number' && answers.length < minOccurs) {
      context.report('error', expression, `The minimum number of answers for "${linkId}" is ${minOccurs}, but this item has ${answers.length}.`);
    }
    if (type !== 'group' && typeof maxOccurs === 'number' && answers.length > maxOccurs) {
      context.report('error', expression, `The maximum number of answers for "${linkId}" is ${maxOccurs}, but this item has ${answers.length}.`);
    }
    const inner: Scope = { items: records(item['item']), parent: scope };
    answers.forEach((answer, i) => {
      const at = `${expression}.answer[${i}]`;
      if (type === 'group') {
        context.report('error', at, `Items of type group cannot have answers ("${linkId}"); nest the questions as items of the group.`);
        return;
      }
      if (type === 'display') {
        context.report('error', at, `Items of type display cannot have answers ("${linkId}").`);
        return;
      }
      if (type !== undefined) {this.checkAnswer(context, qItem, type, answer, answers, at);}
      const nested = records(answer['item']);
      if (nested.length > 0 || records(qItem['item']).length > 0) {
        this.checkItems(context, records(qItem['item']), nested, at, { items: nested, parent: inner });
      }
    });
    const children = records(item['item']);
    if (type === 'group') {
      this.checkItems(context, records(qItem['item']), children, expression, inner);
    } else if (children.length > 0) {
      context.report('error', expression, type === 'display' ? `Items of type display cannot have child items ("${linkId}").` : `Only group items have child items; the items under the question "${linkId}" belong under its answer.`);
    }
  }

  private checkAnswer(context: ResponseContext, qItem: Json, type: string, answer: Json, answers: readonly Json[], expression: string): void {
    const value = answerValue(answer);
    const allowed = answerTypes[type];
    if (!value) {return;}
    const at = `${expression}.value${upperFirst(value.type)}`;
    if (allowed && !allowed.includes(value.type)) {
      context.report('error', at, `The answer to "${String(qItem['linkId'])}" must be of type ${allowed.join(' or ')}, not ${value.type}.`);
      return;
    }
    const report = (message: string, severity: Severity = 'error'): void => context.report(severity, at, message);
    switch (value.type) {
      case 'date':
      case 'dateTime':
      case 'time':
      case 'integer':
      case 'decimal':
        this.checkRange(qItem, value, report);
        break;
      case 'string':
        this.checkString(qItem, String(value.value), report);
        break;
      case 'Quantity':
        this.checkQuantity(qItem, value.value as Json, report);
        break;
      case 'Attachment':
        this.checkAttachment(qItem, value.value as Json, (message) => context.report('error', expression, message));
        break;
      case 'Reference':
        this.checkReference(qItem, value.value as Json, report);
        break;
      default:
        break;
    }
    if (value.type === 'decimal') {checkDecimalPlaces(qItem, value.value, report);}
    if (type === 'choice' || type === 'open-choice' || records(qItem['answerOption']).length > 0 || typeof qItem['answerValueSet'] === 'string') {
      this.checkOption(qItem, type, value, answers, answer, report);
    }
  }

  private checkRange(qItem: Json, value: AnswerValue, report: (message: string) => void): void {
    const min = typedExtension(qItem, `${EXT}minValue`);
    const max = typedExtension(qItem, `${EXT}maxValue`);
    const compare = (limit: AnswerValue): number | undefined => {
      if (typeof value.value === 'number' && typeof limit.value === 'number') {return Math.sign(value.value - limit.value);}
      if (typeof value.value === 'string' && typeof limit.value === 'string') {return compareDateTimes(value.value, limit.value);}
      return undefined;
    };
    if (min && compare(min) === -1) {report(`The value ${String(value.value)} is less than the allowed minimum of ${String(min.value)}.`);}
    if (max && compare(max) === 1) {report(`The value ${String(value.value)} is greater than the allowed maximum of ${String(max.value)}.`);}
  }

  private checkString(qItem: Json, text: string, report: (message: string) => void): void {
    const minLength = extensionValue(qItem, `${EXT}minLength`);
    const maxLength = qItem['maxLength'];
    if (typeof minLength === 'number' && text.length < minLength) {report(`The answer "${text}" is shorter than the minimum length of ${minLength}.`);}
    if (typeof maxLength === 'number' && text.length > maxLength) {report(`The answer "${text}" is longer than the maximum length of ${maxLength}.`);}
  }

  private checkQuantity(qItem: Json, quantity: Json, report: (message: string) => void): void {
    checkDecimalPlaces(qItem, quantity['value'], report);
    const units = extensions(qItem, `${EXT}questionnaire-unitOption`).map((e) => e['valueCoding']).filter(isRecord);
    const shown = (q: Json): string => `${text(q['value'])} ${text(q['unit'] ?? q['code'])}`.trim() + (typeof q['code'] === 'string' ? ` (${q['system'] === UCUM ? 'UCUM' : text(q['system'])}#${q['code']})` : '');
    if (units.length > 0 && !units.some((u) => u['code'] === quantity['code'] && (u['system'] === undefined || u['system'] === quantity['system']))) {
      report(`The value ${shown(quantity)} has a unit that is not allowed (allowed: ${units.map((u) => `${text(u['display'] ?? u['code'])} (${u['system'] === UCUM ? 'UCUM' : text(u['system'])}#${text(u['code'])})`).join(', ')}).`);
    }
    for (const [url, word, sign] of [[`${SDC}sdc-questionnaire-minQuantity`, 'minimum', -1], [`${SDC}sdc-questionnaire-maxQuantity`, 'maximum', 1]] as const) {
      const limit = extensionValue(qItem, url);
      if (!isRecord(limit) || typeof limit['value'] !== 'number' || typeof quantity['value'] !== 'number') {continue;}
      const formal = (q: Json): boolean => typeof q['code'] === 'string' && (q['system'] === undefined || q['system'] === UCUM);
      if (!formal(quantity) || !formal(limit)) {
        report(`The quantity ${shown(quantity)} cannot be compared to the allowed ${word} of ${shown(limit)} because no formal (UCUM) units are given.`);
        continue;
      }
      const converted = quantity['code'] === limit['code'] ? quantity['value'] : convertUcum(quantity['value'], String(quantity['code']), String(limit['code']));
      if (converted === undefined) {
        report(`The quantity ${shown(quantity)} cannot be compared to the allowed ${word} of ${shown(limit)}: the units are not comparable.`);
      } else if (Math.sign(converted - limit['value']) === sign) {
        report(`The quantity ${shown(quantity)} is ${sign < 0 ? 'less' : 'greater'} than the allowed ${word} of ${shown(limit)}.`);
      }
    }
  }

  private checkAttachment(qItem: Json, attachment: Json, report: (message: string) => void): void {
    const mimeTypes = extensions(qItem, `${EXT}mimeType`).map((e) => e['valueCode']).filter((v): v is string => typeof v === 'string');
    const contentType = attachment['contentType'];
    if (mimeTypes.length > 0 && typeof contentType === 'string' && !mimeTypes.includes(contentType)) {
      report(`The mime type ${contentType} is not allowed for this answer (allowed: ${mimeTypes.join(', ')}).`);
    }
    const maxSize = extensionValue(qItem, `${EXT}maxSize`);
    if (typeof maxSize === 'number') {
      const data = attachment['data'];
      const size = typeof data === 'string' ? Buffer.from(data, 'base64').length : typeof attachment['size'] === 'number' ? attachment['size'] : undefined;
      if (size !== undefined && size > maxSize) {report(`The attachment is too large (allowed: ${maxSize} bytes, found: ${size}).`);}
    }
  }

  private checkReference(qItem: Json, reference: Json, report: (message: string) => void): void {
    const ref = reference['reference'];
    if (typeof ref !== 'string') {return;}
    const m = /^(?:https?:\/\/\S+\/)?([A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/.exec(ref);
    if (!m && !ref.startsWith('#') && !/^urn:(uuid|oid):\S+$/.test(ref)) {
      report(`The reference "${ref}" is not a valid reference (Type/id, an absolute URL, urn:uuid: or #id).`);
      return;
    }
    const type = m?.[1];
    if (type !== undefined && !this.registry.isResourceType(type)) {
      report(`The resource type ${type} in the reference ${ref} is not a FHIR resource type.`);
      return;
    }
    const allowed = extensions(qItem, `${EXT}questionnaire-referenceResource`).map((e) => e['valueCode']).filter((v): v is string => typeof v === 'string');
    if (type !== undefined && allowed.length > 0 && !allowed.includes(type)) {
      report(`The resource type ${type} in the reference ${ref} is not allowed here (allowed: ${allowed.join(', ')}).`);
    }
  }

  private checkOption(qItem: Json, itemType: string, value: AnswerValue, answers: readonly Json[], answer: Json, report: (message: string, severity?: Severity) => void): void {
    const open = itemType === 'open-choice';
    const options = records(qItem['answerOption']);
    const valueSet = qItem['answerValueSet'];
    if (options.length > 0) {
      const matched = options.find((o) => {
        const option = answerValue(o);
        return option !== undefined && option.type === value.type && sameAnswer(option.value, value.value);
      });
      if (!matched) {
        if (!(open && value.type === 'string')) {report(`The answer ${describeValue(value)} is not one of the options of the question.`);}
        return;
      }
      const exclusive = extensionValue(matched, `${EXT}questionnaire-optionExclusive`) === true;
      if (exclusive && answers.length > 1) {
        report(`The answer ${describeValue(value)} is an exclusive option: no other answer can be selected with it.`);
        void answer;
      }
      return;
    }
    if (typeof valueSet === 'string') {
      if (value.type === 'Coding') {
        const coding = value.value as Json;
        if (typeof coding['code'] !== 'string') {return;}
        const result = this.terminology.check(valueSet, typeof coding['system'] === 'string' ? coding['system'] : undefined, coding['code']);
        if (result.status === 'not-member' && !open) {report(`The code ${text(coding['system'])}#${coding['code']} is not in the answer value set ${valueSet} of the question.`);}
        else if (result.status === 'unavailable') {report(`The answer could not be checked against ${valueSet}: ${result.what} is not available offline.`, 'warning');}
      } else if (value.type === 'string' && !open) {
        const result = this.terminology.check(valueSet, undefined, String(value.value));
        if (result.status === 'not-member') {report(`The value "${String(value.value)}" is not in the list of allowed values (value set ${valueSet}).`);}
      }
    }
  }

  /** enableWhen: all (or, with enableBehavior any, one) of its conditions hold for the nearest answers to each question. */
  private enabled(qItem: Json, scope: Scope): boolean {
    const conditions = records(qItem['enableWhen']);
    if (conditions.length === 0) {return true;}
    const results = conditions.map((condition) => {
      const question = condition['question'];
      const operator = condition['operator'];
      if (typeof question !== 'string') {return false;}
      const given = answerValue(condition, 'answer');
      const found = nearestAnswers(scope, question);
      if (operator === 'exists') {return (found.length > 0) === (given?.value === true);}
      if (!given) {return false;}
      return found.some((a) => {
        const value = answerValue(a);
        if (!value) {return false;}
        const order = compareAnswers(value, given);
        switch (operator) {
          case '=': return order === 0;
          case '!=': return order !== 0;
          case '>': return order !== undefined && order > 0;
          case '<': return order !== undefined && order < 0;
          case '>=': return order !== undefined && order >= 0;
          case '<=': return order !== undefined && order <= 0;
          default: return false;
        }
      });
    });
    return qItem['enableBehavior'] === 'any' ? results.some(Boolean) : results.every(Boolean);
  }
}

interface ResponseContext {
  readonly questionnaire: Json;
  readonly inProgress: boolean;
  readonly report: QuestionnaireReport;
  readonly rootItems: readonly Json[];
}

interface AnswerValue {
  readonly type: string;
  readonly value: unknown;
}

const UCUM = 'http://unitsofmeasure.org';

/** The first `value[x]` (or `answer[x]`) of an object, with its type. */
function answerValue(owner: Json, stem = 'value'): AnswerValue | undefined {
  for (const [key, value] of Object.entries(owner)) {
    if (key.length > stem.length && key.startsWith(stem) && /[A-Z]/.test(key.charAt(stem.length))) {
      const suffix = key.slice(stem.length);
      const type = /^[A-Z][a-z]/.test(suffix) && ['Boolean', 'Decimal', 'Integer', 'Date', 'DateTime', 'Time', 'String', 'Uri'].includes(suffix) ? suffix.charAt(0).toLowerCase() + suffix.slice(1) : suffix;
      return { type, value };
    }
  }
  return undefined;
}

/** The answers to a question in the nearest enclosing scope that has that question. */
function nearestAnswers(scope: Scope | undefined, linkId: string): Json[] {
  for (let s = scope; s; s = s.parent) {
    const found: Json[] = [];
    const search = (items: readonly Json[]): void => {
      for (const item of items) {
        const answers = records(item['answer']);
        if (item['linkId'] === linkId) {found.push(...answers);}
        search(records(item['item']));
        for (const a of answers) {search(records(a['item']));}
      }
    };
    search(s.items);
    if (found.length > 0) {return found;}
  }
  return [];
}

function compareAnswers(a: AnswerValue, b: AnswerValue): number | undefined {
  if (a.type !== b.type) {return undefined;}
  if (typeof a.value === 'number' && typeof b.value === 'number') {return Math.sign(a.value - b.value);}
  if (typeof a.value === 'boolean' && typeof b.value === 'boolean') {return a.value === b.value ? 0 : 1;}
  if (typeof a.value === 'string' && typeof b.value === 'string') {
    if (a.type === 'date' || a.type === 'dateTime' || a.type === 'time') {return compareDateTimes(a.value, b.value);}
    return a.value === b.value ? 0 : a.value < b.value ? -1 : 1;
  }
  return sameAnswer(a.value, b.value) ? 0 : 1;
}

/** Equality of answer values; Codings match on system (when both give one) and code. */
function sameAnswer(a: unknown, b: unknown): boolean {
  if (isRecord(a) && isRecord(b)) {
    if ('code' in a || 'code' in b) {
      return a['code'] === b['code'] && (a['system'] === undefined || b['system'] === undefined || a['system'] === b['system']);
    }
    if ('reference' in a || 'reference' in b) {return a['reference'] === b['reference'];}
    return JSON.stringify(a) === JSON.stringify(b);
  }
  return a === b;
}

function describeValue(value: AnswerValue): string {
  if (value.type === 'Coding' && isRecord(value.value)) {return `${text(value.value['system'])}#${text(value.value['code'])}`;}
  return JSON.stringify(value.value);
}

function checkDecimalPlaces(qItem: Json, value: unknown, report: (message: string) => void): void {
  const places = extensionValue(qItem, `${EXT}maxDecimalPlaces`);
  if (typeof places !== 'number' || typeof value !== 'number') {return;}
  const text = String(value);
  const dot = text.indexOf('.');
  const actual = dot < 0 || text.includes('e') ? 0 : text.length - dot - 1;
  if (actual > places) {report(`The value ${text} has too many decimal places (at most ${places}).`);}
}

function isRequired(qItem: Json): boolean {
  const minOccurs = extensionValue(qItem, `${EXT}questionnaire-minOccurs`);
  return qItem['required'] === true || (typeof minOccurs === 'number' && minOccurs > 0);
}

function findItem(items: readonly Json[], linkId: string): Json | undefined {
  for (const item of items) {
    if (item['linkId'] === linkId) {return item;}
    const inner = findItem(records(item['item']), linkId);
    if (inner) {return inner;}
  }
  return undefined;
}

function extensions(owner: Json, url: string): Json[] {
  return records(owner['extension']).filter((e) => e['url'] === url);
}

function extensionValue(owner: Json, url: string): unknown {
  const extension = extensions(owner, url)[0];
  return extension ? answerValue(extension)?.value : undefined;
}

function typedExtension(owner: Json, url: string): AnswerValue | undefined {
  const extension = extensions(owner, url)[0];
  return extension ? answerValue(extension) : undefined;
}

function records(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function upperFirst(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
