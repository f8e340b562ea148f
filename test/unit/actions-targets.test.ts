import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkActionUrl, checkLiteralHost, forbiddenKind, guardedLookup, parseAllowedHosts, type LookupAll } from '../../src/actions/targets';

const none = parseAllowedHosts('');
/** A resolver that answers what the test says, as DNS would. */
const resolvesTo = (...addresses: string[]): LookupAll => async () => addresses.map((address) => ({ address }));
const fieldOf = async (p: Promise<void>): Promise<string | undefined> => p.then(() => undefined, (err: { field?: string }) => err.field ?? 'no field');

describe('action targets', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
  ])('%s is %s', (ip, kind) => {
    expect(forbiddenKind(ip)).toBe(kind);
  });

  it.each(['93.184.216.34', '172.32.0.1', '8.8.8.8', '2606:2800:220:1:248:1893:25c8:1946'])('%s is public', (ip) => {
    expect(forbiddenKind(ip)).toBeNull();
  });

  it('refuses a private, loopback or link-local URL at definition, naming the field url', async () => {
    for (const url of ['http://127.0.0.1:8099/hook', 'http://10.0.0.5/hook', 'http://[::1]/x', 'http://169.254.169.254/latest/meta-data', 'http://2130706433/', 'http://0x7f.1/']) {
      await expect(checkActionUrl(url, none)).rejects.toThrow(/^url: must not target a (loopback|private|link-local) address/);
    }
    // A name that resolves to a private address, as `localhost` or an internal DNS name does.
    expect(await fieldOf(checkActionUrl('https://hooks.internal.example/x', none, resolvesTo('93.184.216.34', '10.0.0.7')))).toBe('url');
    await expect(checkActionUrl('https://hooks.internal.example/x', none, resolvesTo('10.0.0.7'))).rejects.toThrow(/hooks\.internal\.example resolves to 10\.0\.0\.7/);
    // Public, or not resolvable now (delivery checks again): accepted.
    await expect(checkActionUrl('https://offers.example/hook', none, resolvesTo('93.184.216.34'))).resolves.toBeUndefined();
    await expect(checkActionUrl('https://offers.example/hook', none, () => Promise.reject(new Error('ENOTFOUND')))).resolves.toBeUndefined();
  });

  it('lets BELTLINE_ACTION_ALLOWED_HOSTS allow hosts, addresses and networks', async () => {
    const allowed = parseAllowedHosts(' 127.0.0.1, 10.20.0.0/16, hooks.internal.example, [fd00::1] ');
    await expect(checkActionUrl('http://127.0.0.1:8099/hook', allowed)).resolves.toBeUndefined();
    await expect(checkActionUrl('http://10.20.3.4/hook', allowed)).resolves.toBeUndefined();
    await expect(checkActionUrl('http://[fd00::1]/hook', allowed)).resolves.toBeUndefined();
    await expect(checkActionUrl('https://HOOKS.internal.example/x', allowed, resolvesTo('10.9.9.9'))).resolves.toBeUndefined();
    await expect(checkActionUrl('http://127.0.0.2/hook', allowed)).rejects.toThrow(/loopback/);
    await expect(checkActionUrl('http://10.21.0.1/hook', allowed)).rejects.toThrow(/private/);
    expect(() => parseAllowedHosts('10.0.0.0/33')).toThrow(/BELTLINE_ACTION_ALLOWED_HOSTS: "10.0.0.0\/33"/);
    expect(() => parseAllowedHosts('http://x')).toThrow(/neither a host name nor/);
  });

  it('refuses at delivery a literal address, and a name that resolves to a forbidden one when connecting', async () => {
    expect(() => checkLiteralHost(new URL('http://127.0.0.1:1/'), none)).toThrow(/url must not target a loopback address/);
    expect(() => checkLiteralHost(new URL('http://127.0.0.1:1/'), parseAllowedHosts('127.0.0.0/8'))).not.toThrow();
    expect(() => checkLiteralHost(new URL('https://offers.example/'), none)).not.toThrow();

    // A real connection by name: `localhost` resolves to loopback, so nothing reaches the server.
    let reached = 0;
    const server = http.createServer((_req, res) => {
      reached++;
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const get = (lookup: ReturnType<typeof guardedLookup>): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = http.get({ host: 'localhost', port, family: 4, lookup }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
      });
    try {
      await expect(get(guardedLookup(none))).rejects.toThrow(/url must not target a loopback address \(localhost resolves to 127\.0\.0\.1\)/);
      expect(reached).toBe(0);
      expect(await get(guardedLookup(parseAllowedHosts('localhost')))).toBe(200);
      expect(reached).toBe(1);
    } finally {
      server.close();
    }
  });
});
