import { v5 as uuidv5 } from 'uuid';

/** Namespace of all cadmap UUIDv5 identifiers unless a mapping declares its own. */
export const cadmapNamespace = '7f3c5a8e-2d1b-5c4e-9a6f-0b8d2e4c6a1f';

/** The namespace a mapping uses: its declared one, else one derived from the mapping id. */
export function mappingNamespace(mappingId: string, declared?: string): string {
  return declared ?? uuidv5(`mapping/${mappingId}`, cadmapNamespace);
}

/** The key parts of a natural key joined into one string. */
export const joinKey = (parts: readonly string[]): string => parts.join('|');

/** Deterministic UUIDv5 of an entry: same namespace, type and natural key ⟶ same UUID. */
export function entryUuid(namespace: string, resourceType: string, naturalKey: string): string {
  return uuidv5(`${resourceType}/${naturalKey}`, namespace);
}

export const entryFullUrl = (namespace: string, resourceType: string, naturalKey: string): string =>
  `urn:uuid:${entryUuid(namespace, resourceType, naturalKey)}`;
