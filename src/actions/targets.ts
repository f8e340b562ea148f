import dns from 'node:dns';
import net from 'node:net';
import { DefinitionError } from '../shared/errors';

/**
 * Where an action may be sent. A webhook URL is chosen by whoever holds the admin key, and the
 * worker that sends it sits inside the network: without this check an action could reach the
 * worker's own services (PostgreSQL's neighbours, cloud metadata at 169.254.169.254, Temporal's
 * HTTP API) with the payload of any event. Loopback, link-local, private and unspecified
 * addresses are refused unless BELTLINE_ACTION_ALLOWED_HOSTS names the host or its network.
 */

const FORBIDDEN: readonly [string, number, 'ipv4' | 'ipv6', string][] = [
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['0.0.0.0', 8, 'ipv4', 'unspecified'],
  ['169.254.0.0', 16, 'ipv4', 'link-local'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['fc00::', 7, 'ipv6', 'private'],
];

const forbidden = FORBIDDEN.map(([prefix, bits, family, kind]) => {
  const list = new net.BlockList();
  list.addSubnet(prefix, bits, family);
  return { list, kind };
});

const family = (ip: string): 'ipv4' | 'ipv6' => (net.isIPv6(ip) ? 'ipv6' : 'ipv4');

/** The kind of address an action must not reach (`loopback`, …), or null. IPv4-mapped IPv6 counts as its IPv4. */
export function forbiddenKind(ip: string): string | null {
  for (const f of forbidden) if (f.list.check(ip, family(ip))) return f.kind;
  return null;
}

/** BELTLINE_ACTION_ALLOWED_HOSTS, parsed: host names, and addresses or networks (CIDR). */
export interface AllowedHosts {
  names: ReadonlySet<string>;
  networks: net.BlockList;
}

/** Parses the comma-separated setting; throws naming an entry that is neither a host name nor an address or CIDR. */
export function parseAllowedHosts(setting: string | undefined): AllowedHosts {
  const names = new Set<string>();
  const networks = new net.BlockList();
  for (const raw of (setting ?? '').split(',')) {
    const entry = raw.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
    if (entry === '') continue;
    const slash = entry.indexOf('/');
    const address = slash < 0 ? entry : entry.slice(0, slash);
    if (net.isIP(address)) {
      const fam = family(address);
      const bits = slash < 0 ? (fam === 'ipv4' ? 32 : 128) : Number(entry.slice(slash + 1));
      if (!Number.isInteger(bits) || bits < 0 || bits > (fam === 'ipv4' ? 32 : 128)) throw new Error(`BELTLINE_ACTION_ALLOWED_HOSTS: ${JSON.stringify(raw.trim())} has no valid prefix length`);
      networks.addSubnet(address, bits, fam);
    } else if (slash < 0 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/.test(entry)) {
      names.add(entry.replace(/\.$/, ''));
    } else {
      throw new Error(`BELTLINE_ACTION_ALLOWED_HOSTS: ${JSON.stringify(raw.trim())} is neither a host name nor an IP address or CIDR`);
    }
  }
  return { names, networks };
}

/** The URL's host as lookups and allow-lists see it: lower case, without IPv6 brackets or a final dot. */
function hostOf(url: URL): string {
  return url.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
}

/** Why `address` (that `host` resolved to) may not be reached, or null when it may. */
function refusal(host: string, address: string, allowed: AllowedHosts): string | null {
  if (allowed.networks.check(address, family(address))) return null;
  const kind = forbiddenKind(address);
  if (!kind) return null;
  const via = host === address ? '' : ` (${host} resolves to ${address})`;
  return `must not target a ${kind} address${via}; allow it with BELTLINE_ACTION_ALLOWED_HOSTS if it is meant`;
}

export type LookupAll = (host: string) => Promise<{ address: string }[]>;

const lookupAll: LookupAll = (host) => dns.promises.lookup(host, { all: true, verbatim: true });

/**
 * At definition: refuses a URL whose host is, or resolves now to, an address actions must not
 * reach (DefinitionError on `url`, a 400). A host that does not resolve now passes: delivery
 * checks again, on the addresses it connects to.
 */
export async function checkActionUrl(url: string, allowed: AllowedHosts, lookup: LookupAll = lookupAll): Promise<void> {
  const host = hostOf(new URL(url));
  if (allowed.names.has(host)) return;
  let addresses: string[];
  if (net.isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await lookup(host)).map((a) => a.address);
    } catch {
      return;
    }
  }
  for (const address of addresses) {
    const why = refusal(host, address, allowed);
    if (why) throw new DefinitionError('url', why);
  }
}

export class ForbiddenTargetError extends Error {}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http.request: the connection goes only to addresses checked here, so a name
 * that resolved to a public address at definition (or a moment ago) and now resolves to a
 * private one is refused, with no window between check and connect.
 */
export function guardedLookup(allowed: AllowedHosts): (host: string, options: dns.LookupOptions, cb: LookupCallback) => void {
  return (host, options, cb) => {
    dns.lookup(host, { ...options, all: true }, (err, addresses) => {
      if (err) return cb(err, []);
      const name = host.toLowerCase().replace(/\.$/, '');
      if (!allowed.names.has(name)) {
        for (const a of addresses) {
          const why = refusal(name, a.address, allowed);
          if (why) return cb(new ForbiddenTargetError(`url ${why}`), []);
        }
      }
      if (options.all) cb(null, addresses);
      else cb(null, addresses[0].address, addresses[0].family);
    });
  };
}

/** At delivery, for an IP literal (which http.request connects to without a lookup). */
export function checkLiteralHost(url: URL, allowed: AllowedHosts): void {
  const host = hostOf(url);
  if (!net.isIP(host) || allowed.names.has(host)) return;
  const why = refusal(host, host, allowed);
  if (why) throw new ForbiddenTargetError(`url ${why}`);
}
