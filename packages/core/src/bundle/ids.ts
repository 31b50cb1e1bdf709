import { hash } from 'node:crypto';

/** Namespace of all cadmap UUIDv5 identifiers unless a mapping declares its own. */
export const cadmapNamespace = '7f3c5a8e-2d1b-5c4e-9a6f-0b8d2e4c6a1f';

const variantDigits = '89ab';

/**
 * Hashes names under one namespace: the namespace's 16 bytes stay at the start of a buffer, an ASCII name is
 * written after them character by character, and the digest is taken over a view of the buffer kept per length,
 * so a call allocates nothing before the hash (names are short and nearly always ASCII). Other names are
 * encoded as UTF-8 the ordinary way.
 */
class NamespaceHasher {
  private readonly buffer = Buffer.alloc(1024);
  private readonly views: Buffer[] = [];

  constructor(private readonly prefix: Buffer) {
    prefix.copy(this.buffer, 0);
  }

  sha1Hex(name: string): string {
    const buffer = this.buffer;
    let length = 16;
    if (name.length <= buffer.length - 16) {
      for (let i = 0; i < name.length; i++) {
        const code = name.charCodeAt(i);
        if (code > 0x7f) {
          length = -1;
          break;
        }
        buffer[length++] = code;
      }
    } else {
      length = -1;
    }
    const data = length < 0 ? Buffer.concat([this.prefix, Buffer.from(name, 'utf8')]) : (this.views[length] ??= buffer.subarray(0, length));
    return hash('sha1', data, 'hex');
  }
}

const hashers = new Map<string, NamespaceHasher>();

function hasherOf(namespace: string): NamespaceHasher {
  let hasher = hashers.get(namespace);
  if (!hasher) {
    const digits = namespace.replace(/-/g, '');
    if (!/^[0-9a-fA-F]{32}$/.test(digits)) {
      throw new TypeError(`Not a UUID namespace: ${namespace}`);
    }
    hasher = new NamespaceHasher(Buffer.from(digits, 'hex'));
    hashers.set(namespace, hasher);
  }
  return hasher;
}

/**
 * UUIDv5 (RFC 9562 §5.5): SHA-1 of the namespace's 16 bytes followed by the UTF-8 name, with the version and
 * variant bits set. Written out rather than taken from the `uuid` package because it runs once per entry and
 * per reference of every bundle: the one-shot `crypto.hash` over a reused buffer, formatted from its hex digest,
 * is about three times faster than a Hash object per call (a property test checks both agree).
 */
export function uuidV5(name: string, namespace: string): string {
  const digest = hasherOf(namespace).sha1Hex(name);
  const h = (at: number): number => digest.charCodeAt(at);
  const variant = variantDigits.charCodeAt(Number.parseInt(digest[16]!, 16) & 3);
  // one flat string from the digest's characters (slicing and joining five pieces left a chain of partial strings)
  return String.fromCharCode(
    h(0), h(1), h(2), h(3), h(4), h(5), h(6), h(7), 45,
    h(8), h(9), h(10), h(11), 45,
    53, h(13), h(14), h(15), 45,
    variant, h(17), h(18), h(19), 45,
    h(20), h(21), h(22), h(23), h(24), h(25), h(26), h(27), h(28), h(29), h(30), h(31),
  );
}

/** The namespace a mapping uses: its declared one, else one derived from the mapping id. */
export function mappingNamespace(mappingId: string, declared?: string): string {
  return declared ?? uuidV5(`mapping/${mappingId}`, cadmapNamespace);
}

const keyPartSeparator = '|';

/** The key parts of a natural key joined into one string. */
export const joinKey = (parts: readonly string[]): string => (parts.length === 1 ? parts[0]! : parts.join(keyPartSeparator));

/** `joinKey([first, second])` without the array. */
export const joinKeyPair = (first: string, second: string): string => first + keyPartSeparator + second;

/** Deterministic UUIDv5 of an entry: same namespace, type and natural key ⟶ same UUID. */
export function entryUuid(namespace: string, resourceType: string, naturalKey: string): string {
  return uuidV5(`${resourceType}/${naturalKey}`, namespace);
}

/** The fullUrls of one resource type in one namespace, by natural key. */
export class FullUrls {
  private readonly byKey = new Map<string, string>();

  constructor(
    private readonly namespace: string,
    private readonly resourceType: string,
  ) {}

  /** `urn:uuid:` fullUrl of the entry with this natural key. */
  of(naturalKey: string): string {
    let url = this.byKey.get(naturalKey);
    if (url === undefined) {
      url = `urn:uuid:${entryUuid(this.namespace, this.resourceType, naturalKey)}`;
      if (this.byKey.size >= fullUrlCacheLimit) {
        this.byKey.clear();
      }
      this.byKey.set(naturalKey, url);
    }
    return url;
  }
}

/** namespace → resourceType → its fullUrls */
const fullUrlTables = new Map<string, Map<string, FullUrls>>();
const fullUrlCacheLimit = 2_000;

/**
 * The fullUrls of a resource type, cached: a reference (`ref()`) and the entry it points at compute the same
 * value, and shared entries (organisations, vehicles, sites) recur across records. Callers that compute many
 * fullUrls of one type keep the table rather than look it up each time.
 */
export function fullUrlsOf(namespace: string, resourceType: string): FullUrls {
  let byType = fullUrlTables.get(namespace);
  if (!byType) {
    byType = new Map();
    fullUrlTables.set(namespace, byType);
  }
  let table = byType.get(resourceType);
  if (!table) {
    table = new FullUrls(namespace, resourceType);
    byType.set(resourceType, table);
  }
  return table;
}

/** `urn:uuid:` fullUrl of an entry (cached, see {@link fullUrlsOf}). */
export function entryFullUrl(namespace: string, resourceType: string, naturalKey: string): string {
  return fullUrlsOf(namespace, resourceType).of(naturalKey);
}
