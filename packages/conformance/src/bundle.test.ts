import { beforeAll, describe, expect, it } from 'vitest';
import { createChecker } from './checker.js';
import type { Checker } from './checker.js';

const org = (id?: string) => ({ resourceType: 'Organization', ...(id ? { id } : {}), name: 'Org' });

describe('Bundle rules', () => {
  let checker: Checker;
  beforeAll(() => {
    checker = createChecker();
  });
  const errors = (bundle: object) => checker.checkBundle(bundle).issues.filter((i) => i.severity === 'error').map((i) => `${i.expression}: ${i.message}`);

  it('fullUrls: absolute, required outside transactions and batches, and a RESTful one names the resource', () => {
    expect(errors({ resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'Organization/1', resource: org('1') }, { resource: org() }] })).toEqual([
      "Bundle.entry[0].fullUrl: The fullUrl must be an absolute URL (not 'Organization/1').",
      'Bundle.entry[1]: The entry has no fullUrl: except in transactions and batches, every entry must have a fullUrl, the identity of its resource.',
    ]);
    expect(errors({ resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'http://acme.example/fhir/Patient/1', resource: org('1') }, { fullUrl: 'http://acme.example/fhir/Organization/2', resource: org() }] })).toEqual([
      "Bundle.entry[0].fullUrl: The fullUrl 'http://acme.example/fhir/Patient/1' looks like a RESTful server URL, so it must end with the resource's type and id (/Organization/1).",
      "Bundle.entry[1].fullUrl: The fullUrl 'http://acme.example/fhir/Organization/2' looks like a RESTful server URL, but the resource has no id.",
    ]);
    expect(errors({ resourceType: 'Bundle', type: 'transaction', entry: [{ resource: org(), request: { method: 'POST', url: 'Organization' } }] })).toEqual([]);
  });

  it('relative references resolve against the referring entry\'s RESTful fullUrl; Type/id alone is not enough', () => {
    const patient = (orgRef: string) => ({ resourceType: 'Patient', id: 'p', managingOrganization: { reference: orgRef } });
    const rest = { resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'http://a.example/Patient/p', resource: patient('Organization/o') }, { fullUrl: 'http://a.example/Organization/o', resource: org('o') }] };
    expect(errors(rest)).toEqual([]);
    const uuid = { resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'urn:uuid:00000000-0000-4000-8000-000000000001', resource: patient('Organization/o') }, { fullUrl: 'http://a.example/Organization/o', resource: org('o') }] };
    expect(errors(uuid)).toEqual([expect.stringContaining('Bundle.entry[0].resource.managingOrganization.reference: Reference Organization/o does not resolve in the Bundle: an entry has that type and id')]);
    const wrongType = { resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'http://a.example/Patient/p', resource: { resourceType: 'Patient', id: 'p', generalPractitioner: [{ reference: 'Practitioner/o' }] } }, { fullUrl: 'http://a.example/Practitioner/o', resource: org('o') }] };
    expect(errors(wrongType)).toContainEqual('Bundle.entry[0].resource.generalPractitioner[0].reference: Reference Practitioner/o resolves to an entry whose resource is a Organization, not a Practitioner.');
    // From a urn:uuid: entry, Type/id reads as urn:uuid:<id>.
    const urn = { resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'urn:uuid:5d9588d8-3cd6-4b32-8fb7-ad13694e069a', resource: { resourceType: 'Patient', generalPractitioner: [{ reference: 'Practitioner/5d9588d8-3cd6-4b32-8fb7-ad13694e069d' }] } }, { fullUrl: 'urn:uuid:5d9588d8-3cd6-4b32-8fb7-ad13694e069d', resource: org() }] };
    expect(errors(urn)).toEqual(['Bundle.entry[0].resource.generalPractitioner[0].reference: Reference Practitioner/5d9588d8-3cd6-4b32-8fb7-ad13694e069d resolves to an entry whose resource is a Organization, not a Practitioner.']);
  });

  it('links: paging relations only in search results, self once', () => {
    expect(errors({ resourceType: 'Bundle', type: 'searchset', link: [{ relation: 'self', url: 'http://a/x' }, { relation: 'self', url: 'http://a/y' }, { relation: 'next', url: 'http://a/z' }] })).toEqual(["Bundle.link[1]: The link relation 'self' can occur only once."]);
    expect(errors({ resourceType: 'Bundle', type: 'collection', link: [{ relation: 'first', url: 'http://a/x' }] })).toEqual(["Bundle.link[0].relation: The link relation 'first' is for search results, and is not allowed in a collection Bundle."]);
  });

  it('a document: every entry reachable from the Composition, references resolved, stylesheet in the Bundle', () => {
    const composition = { resourceType: 'Composition', id: 'c', status: 'final', type: { text: 'note' }, date: '2024-01-01', title: 'T', author: [{ reference: 'urn:uuid:00000000-0000-4000-8000-000000000002' }], subject: { reference: 'urn:uuid:00000000-0000-4000-8000-000000000009' } };
    const doc = {
      resourceType: 'Bundle', type: 'document', identifier: { system: 'urn:ietf:rfc:3986', value: 'urn:uuid:00000000-0000-4000-8000-0000000000aa' }, timestamp: '2024-01-01T00:00:00Z',
      link: [{ relation: 'stylesheet', url: 'Binary/css' }],
      entry: [
        { fullUrl: 'urn:uuid:00000000-0000-4000-8000-000000000001', resource: composition },
        { fullUrl: 'urn:uuid:00000000-0000-4000-8000-000000000002', resource: { resourceType: 'Practitioner', id: 'pr' } },
        { fullUrl: 'urn:uuid:00000000-0000-4000-8000-000000000003', resource: org('lonely') },
      ],
    };
    expect(errors(doc)).toEqual([
      "Bundle.link[0].url: The stylesheet Binary/css does not resolve to an entry of the document.",
      "Bundle.entry[2]: Entry 'urn:uuid:00000000-0000-4000-8000-000000000003' isn't reachable by following references (forward or backward) from the Composition.",
      'Bundle.entry[0].resource.subject.reference: Reference urn:uuid:00000000-0000-4000-8000-000000000009 does not resolve to any entry of the Bundle.',
    ]);
  });
});
