import { createHash } from 'node:crypto';

/** Namespace of all cadmap UUIDv5 identifiers unless a mapping declares its own. */
export const cadmapNamespace = '7f3c5a8e-2d1b-5c4e-9a6f-0b8d2e4c6a1f';

const namespaceBytes = new Map<string, Buffer>();
const hex = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function parseNamespace(namespace: string): Buffer {
  let bytes = namespaceBytes.get(namespace);
  if (!bytes) {
    const digits = namespace.replace(/-/g, '');
    if (!/^[0-9a-fA-F]{32}$/.test(digits)) {
      throw new TypeError(`Not a UUID namespace: ${namespace}`);
    }
    bytes = Buffer.from(digits, 'hex');
    namespaceBytes.set(namespace, bytes);
  }
  return bytes;
}

/**
 * UUIDv5 (RFC 9562 §5.5): SHA-1 of the namespace's 16 bytes followed by the UTF-8 name, with the version and
 * variant bits set. Written out rather than taken from the `uuid` package because it runs once per entry and
 * per reference of every bundle, and the package re-parses and re-validates the namespace on every call (a
 * property test checks both agree).
 */
export function uuidV5(name: string, namespace: string): string {
  const digest = createHash('sha1').update(parseNamespace(namespace)).update(name, 'utf8').digest();
  const b6 = (digest[6]! & 0x0f) | 0x50;
  const b8 = (digest[8]! & 0x3f) | 0x80;
  const h = (i: number): string => hex[digest[i]!]!;
  return `${h(0)}${h(1)}${h(2)}${h(3)}-${h(4)}${h(5)}-${hex[b6]!}${h(7)}-${hex[b8]!}${h(9)}-${h(10)}${h(11)}${h(12)}${h(13)}${h(14)}${h(15)}`;
}

/** The namespace a mapping uses: its declared one, else one derived from the mapping id. */
export function mappingNamespace(mappingId: string, declared?: string): string {
  return declared ?? uuidV5(`mapping/${mappingId}`, cadmapNamespace);
}

/** The key parts of a natural key joined into one string. */
export const joinKey = (parts: readonly string[]): string => parts.join('|');

/** Deterministic UUIDv5 of an entry: same namespace, type and natural key ⟶ same UUID. */
export function entryUuid(namespace: string, resourceType: string, naturalKey: string): string {
  return uuidV5(`${resourceType}/${naturalKey}`, namespace);
}

/** namespace → resourceType → natural key → fullUrl */
const fullUrlCache = new Map<string, Map<string, Map<string, string>>>();
const fullUrlCacheLimit = 20_000;

/**
 * `urn:uuid:` fullUrl of an entry. Cached, because a reference (`ref()`) and the entry it points at compute the
 * same value, and shared entries (organisations, vehicles, sites) recur across records.
 */
export function entryFullUrl(namespace: string, resourceType: string, naturalKey: string): string {
  let byType = fullUrlCache.get(namespace);
  if (!byType) {
    byType = new Map();
    fullUrlCache.set(namespace, byType);
  }
  let byKey = byType.get(resourceType);
  if (!byKey) {
    byKey = new Map();
    byType.set(resourceType, byKey);
  }
  let url = byKey.get(naturalKey);
  if (url === undefined) {
    url = `urn:uuid:${entryUuid(namespace, resourceType, naturalKey)}`;
    if (byKey.size >= fullUrlCacheLimit) {
      byKey.clear();
    }
    byKey.set(naturalKey, url);
  }
  return url;
}
