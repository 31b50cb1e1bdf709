import type { ConformanceCode, Severity } from './codes.js';

/**
 * Bundle rules (https://hl7.org/fhir/R4/bundle.html) as the HL7 validator applies them: resolving references
 * between entries by fullUrl, entry fullUrls, links, and the integrity of documents and messages.
 */

type Json = Record<string, unknown>;

export interface BundleIndex {
  readonly entries: readonly unknown[];
  /** fullUrl (and fullUrl/_history/versionId) ⟶ entries. */
  readonly byFullUrl: ReadonlyMap<string, readonly number[]>;
  /** Type/id (and Type/id/_history/versionId) of the entry resources ⟶ entries. */
  readonly byTypeAndId: ReadonlyMap<string, readonly number[]>;
  /** Entries whose fullUrl (+ meta.versionId) repeats an earlier one: [index, first index]. */
  readonly duplicates: readonly (readonly [number, number])[];
}

/** How a reference from an entry resolves in its Bundle. */
export type Resolution =
  | { readonly kind: 'found'; readonly entry: number }
  /** An absolute URL no entry has: outside the Bundle, not resolvable offline. */
  | { readonly kind: 'external' }
  | { readonly kind: 'missing' }
  | { readonly kind: 'multiple'; readonly count: number }
  /** A relative reference whose Type/id an entry has, but whose fullUrl does not match by the resolution rules. */
  | { readonly kind: 'apparent'; readonly fullUrls: readonly string[] };

/** A reference met while walking an entry (Reference.reference, or a uri/url value for document links). */
export interface EntryLink {
  readonly reference: string;
  readonly expression: string;
  readonly entry: number;
}

export type BundleReport = (code: ConformanceCode, severity: Severity, expression: string, message: string, hint?: string) => void;

const ABSOLUTE = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const RESTFUL = /^(https?:\/\/.+\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
const RELATIVE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
const FULL_URL_OPTIONAL = new Set(['transaction', 'transaction-response', 'batch', 'batch-response']);
const PAGING = ['first', 'previous', 'next', 'last'];

const isRecord = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

export function indexBundle(bundle: Json): BundleIndex {
  const entries: unknown[] = Array.isArray(bundle['entry']) ? (bundle['entry'] as unknown[]) : [];
  const byFullUrl = new Map<string, number[]>();
  const byTypeAndId = new Map<string, number[]>();
  const seenVersions = new Map<string, number>();
  const duplicates: (readonly [number, number])[] = [];
  const add = (map: Map<string, number[]>, key: string, i: number): void => {
    const list = map.get(key);
    if (list) {list.push(i);}
    else {map.set(key, [i]);}
  };
  entries.forEach((entry, i) => {
    if (!isRecord(entry)) {return;}
    const fullUrl = entry['fullUrl'];
    const resource = entry['resource'];
    const meta = isRecord(resource) ? resource['meta'] : undefined;
    const version = isRecord(meta) && typeof meta['versionId'] === 'string' ? meta['versionId'] : undefined;
    if (typeof fullUrl === 'string') {
      const key = `${fullUrl}|${version ?? ''}`;
      const first = seenVersions.get(key);
      if (first === undefined) {seenVersions.set(key, i);}
      else {duplicates.push([i, first]);}
      add(byFullUrl, fullUrl, i);
      if (version !== undefined) {add(byFullUrl, `${fullUrl}/_history/${version}`, i);}
    }
    if (isRecord(resource) && typeof resource['resourceType'] === 'string' && typeof resource['id'] === 'string') {
      const key = `${resource['resourceType']}/${resource['id']}`;
      add(byTypeAndId, key, i);
      if (version !== undefined) {add(byTypeAndId, `${key}/_history/${version}`, i);}
    }
  });
  return { entries, byFullUrl, byTypeAndId, duplicates };
}

/**
 * Resolves a reference made by an entry: an absolute reference by fullUrl; a relative one against the base of the
 * source entry's RESTful fullUrl (`http://server/Patient/1` ⟶ `http://server/` + `Observation/2`). A relative
 * reference from an entry without a RESTful fullUrl (urn:uuid:) resolves to nothing, even when an entry has that
 * type and id (`apparent`), as in the HL7 validator since R4.
 */
export function resolveInBundle(index: BundleIndex, reference: string, sourceEntry: number): Resolution {
  const ref = reference.includes('#') ? reference.slice(0, reference.indexOf('#')) : reference;
  if (ABSOLUTE.test(ref)) {
    const found = index.byFullUrl.get(ref);
    if (!found) {return ref.startsWith('urn:') ? { kind: 'missing' } : { kind: 'external' };}
    return found.length === 1 ? { kind: 'found', entry: found[0] as number } : { kind: 'multiple', count: found.length };
  }
  const source = index.entries[sourceEntry];
  const fullUrl = isRecord(source) && typeof source['fullUrl'] === 'string' ? source['fullUrl'] : undefined;
  const resource = isRecord(source) ? source['resource'] : undefined;
  const rest = fullUrl ? RESTFUL.exec(fullUrl) : null;
  if (rest?.[1] && isRecord(resource) && rest[2] === resource['resourceType'] && rest[3] === resource['id'] && rest[4] === undefined) {
    const found = index.byFullUrl.get(rest[1] + ref);
    if (found) {return found.length === 1 ? { kind: 'found', entry: found[0] as number } : { kind: 'multiple', count: found.length };}
  }
  const relative = RELATIVE.exec(ref);
  if (relative?.[2] && fullUrl?.startsWith('urn:') && relative[3] === undefined) {
    // From a urn: entry, Type/id stands for the urn with that id (urn:uuid:<id>), as the HL7 validator reads it.
    const found = index.byFullUrl.get(fullUrl.slice(0, fullUrl.lastIndexOf(':') + 1) + relative[2]);
    if (found?.length === 1) {return { kind: 'found', entry: found[0] as number };}
  }
  if (relative) {
    const apparent = index.byTypeAndId.get(ref);
    if (apparent) {
      return { kind: 'apparent', fullUrls: apparent.map((i) => { const e = index.entries[i]; return isRecord(e) && typeof e['fullUrl'] === 'string' ? e['fullUrl'] : '(no fullUrl)'; }) };
    }
  }
  return { kind: 'missing' };
}

/** The rules on the Bundle as a whole: entry fullUrls, links, duplicate fullUrls, and document integrity. */
export function checkBundle(bundle: Json, index: BundleIndex, links: readonly EntryLink[], expression: string, isResourceType: (name: string) => boolean, report: BundleReport): void {
  const type = typeof bundle['type'] === 'string' ? bundle['type'] : '';
  const { entries } = index;
  if (type !== 'history') {
    for (const [i, first] of index.duplicates) {
      const entry = entries[i];
      const fullUrl = isRecord(entry) ? String(entry['fullUrl']) : '';
      report('CONF_DUPLICATE_FULLURL', 'error', `${expression}.entry[${i}].fullUrl`, `fullUrl ${fullUrl} is also used by entry[${first}].`, 'Give every entry its own fullUrl.');
    }
  }
  entries.forEach((entry, i) => {
    if (!isRecord(entry)) {return;}
    const at = `${expression}.entry[${i}]`;
    const fullUrl = entry['fullUrl'];
    const resource = isRecord(entry['resource']) ? entry['resource'] : undefined;
    if (typeof fullUrl !== 'string') {
      if (!FULL_URL_OPTIONAL.has(type) && entry['fullUrl'] === undefined) {
        report('CONF_REFERENCE', 'error', at, 'The entry has no fullUrl: except in transactions and batches, every entry must have a fullUrl, the identity of its resource.', 'Add fullUrl (urn:uuid:… for a new resource).');
      }
      return;
    }
    if (!ABSOLUTE.test(fullUrl)) {
      report('CONF_REFERENCE', 'error', `${at}.fullUrl`, `The fullUrl must be an absolute URL (not '${fullUrl}').`, 'Use urn:uuid:… or the resource\'s absolute URL.');
      return;
    }
    const rest = RESTFUL.exec(fullUrl);
    if (resource && rest?.[2] && isResourceType(rest[2])) {
      const rt = String(resource['resourceType']);
      const id = resource['id'];
      if (typeof id !== 'string') {
        report('CONF_REFERENCE', 'error', `${at}.fullUrl`, `The fullUrl '${fullUrl}' looks like a RESTful server URL, but the resource has no id.`, `Give the resource the id the fullUrl ends with, or use urn:uuid:.`);
      } else if (!fullUrl.replace(/\/_history\/[^/]+$/, '').endsWith(`/${rt}/${id}`)) {
        report('CONF_REFERENCE', 'error', `${at}.fullUrl`, `The fullUrl '${fullUrl}' looks like a RESTful server URL, so it must end with the resource's type and id (/${rt}/${id}).`);
      }
    }
  });
  checkLinks(bundle, type, index, expression, report);
  if (type === 'document' || type === 'message') {checkReachable(bundle, type, index, links, expression, report);}
}

function checkLinks(bundle: Json, type: string, index: BundleIndex, expression: string, report: BundleReport): void {
  const links = Array.isArray(bundle['link']) ? (bundle['link'] as unknown[]) : [];
  const seen = new Set<string>();
  links.forEach((link, i) => {
    if (!isRecord(link) || typeof link['relation'] !== 'string') {return;}
    const relation = link['relation'];
    const at = `${expression}.link[${i}]`;
    const searching = type === 'searchset' || type === 'history';
    if (!searching && PAGING.includes(relation)) {
      report('CONF_REFERENCE', 'error', `${at}.relation`, `The link relation '${relation}' is for search results, and is not allowed in a ${type || 'Bundle'} Bundle.`);
    }
    if ((relation === 'self' || (searching && PAGING.includes(relation))) && seen.has(relation)) {
      report('CONF_REFERENCE', 'error', at, `The link relation '${relation}' can occur only once.`);
    }
    seen.add(relation);
    const url = link['url'];
    if (type === 'document' && relation === 'stylesheet' && typeof url === 'string' && !ABSOLUTE.test(url) && !index.byTypeAndId.has(url)) {
      report('CONF_REFERENCE', 'error', `${at}.url`, `The stylesheet ${url} does not resolve to an entry of the document.`);
    }
  });
}

/**
 * Every entry of a document must be reachable from the Composition (entry 0) by following references forward,
 * or backward to an entry already reached; for a message, from the MessageHeader (a warning).
 */
function checkReachable(bundle: Json, type: string, index: BundleIndex, links: readonly EntryLink[], expression: string, report: BundleReport): void {
  const { entries } = index;
  const targets = entries.map(() => new Set<number>());
  for (const link of links) {
    const resolution = resolveInBundle(index, link.reference, link.entry);
    if (resolution.kind === 'found' && resolution.entry !== link.entry) {targets[link.entry]?.add(resolution.entry);}
  }
  const visited = new Set<number>();
  const visit = (i: number): void => {
    if (visited.has(i)) {return;}
    visited.add(i);
    for (const t of targets[i] ?? []) {visit(t);}
  };
  if (entries.length > 0) {visit(0);}
  for (const link of Array.isArray(bundle['link']) ? (bundle['link'] as unknown[]) : []) {
    if (isRecord(link) && link['relation'] === 'stylesheet' && typeof link['url'] === 'string') {
      for (const i of index.byTypeAndId.get(link['url']) ?? []) {visit(i);}
    }
  }
  let grew = true;
  while (grew) {
    grew = false;
    entries.forEach((_, i) => {
      if (!visited.has(i) && [...(targets[i] ?? [])].some((t) => visited.has(t))) {
        visit(i);
        grew = true;
      }
    });
  }
  entries.forEach((entry, i) => {
    if (visited.has(i) || !isRecord(entry) || !isRecord(entry['resource'])) {return;}
    const name = typeof entry['fullUrl'] === 'string' ? `'${entry['fullUrl']}'` : `entry[${i}]`;
    const root = type === 'document' ? 'the Composition' : 'the MessageHeader';
    report('CONF_REFERENCE', type === 'document' ? 'error' : 'warning', `${expression}.entry[${i}]`, `Entry ${name} isn't reachable by following references (forward or backward) from ${root}.`, `A ${type} holds only what ${root} refers to, directly or through other entries.`);
  });
}
