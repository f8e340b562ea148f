import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, REPO_ROOT } from '../../src/config';

/**
 * docker-compose.yml, read as Compose reads it (YAML merge keys included). No Docker engine here,
 * so this checks the file's shape: the all-in-one service, and the `roles` profile's services.
 */

interface Service {
  profiles?: string[];
  image?: string;
  build?: string;
  command?: string[] | string;
  environment?: Record<string, string | number | null>;
  depends_on?: string[] | Record<string, { condition: string }>;
  deploy?: { replicas?: number };
  ports?: string[];
}

const compose = parse(fs.readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const inProfile = (profile: string): string[] => Object.keys(services).filter((n) => services[n].profiles?.includes(profile)).sort();

describe('docker-compose.yml', () => {
  it('keeps the services and the all-in-one beltline service', () => {
    for (const name of ['temporal', 'kafka', 'kafka-topics', 'postgres']) expect(services[name].profiles).toBeUndefined();
    expect(services.beltline.command).toEqual(['bash', '-c', expect.stringContaining('bin/beltline start --role all')]);
  });

  it('has a `roles` profile: a one-shot migrate, then a service per role, two worker replicas', () => {
    expect(inProfile('roles')).toEqual(['bridge', 'collector', 'migrate', 'worker']);
    expect(services.migrate.command).toEqual(['migrate']);
    expect(services.collector.command).toEqual(['start', '--role', 'collector']);
    expect(services.bridge.command).toEqual(['start', '--role', 'bridge']);
    expect(services.worker.command).toEqual(['start', '--role', 'worker']);
    expect(services.worker.deploy?.replicas).toBe(2);
    expect(services.collector.ports).toEqual(['8080:8080']);
    for (const role of ['collector', 'bridge', 'worker']) {
      // Each role starts only once the schema is migrated and the topics exist.
      expect(services[role].depends_on).toMatchObject({
        migrate: { condition: 'service_completed_successfully' },
        'kafka-topics': { condition: 'service_completed_successfully' },
      });
      expect(services[role].environment).toMatchObject({ TEMPORAL_ADDRESS: 'temporal:7233', KAFKA_BROKERS: 'kafka:9092', DATABASE_URL: expect.stringMatching(/@postgres:5432\//) });
    }
    expect(services.migrate.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
  });

  it('runs the roles from the image the Dockerfile builds, whose entrypoint is the beltline CLI', () => {
    for (const name of inProfile('roles')) expect(services[name]).toMatchObject({ image: 'beltline:local', build: '.' });
    const dockerfile = fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/app\/bin\/beltline"\]$/m);
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);
    expect(dockerfile).toMatch(/^RUN npm run build\b/m);
  });

  it('sets only variables beltline reads', () => {
    const names = Object.keys(services)
      .filter((n) => n === 'beltline' || services[n].profiles?.includes('roles'))
      .flatMap((n) => Object.keys(services[n].environment ?? {}));
    expect(names.filter((n) => !CONFIG_VARIABLES.includes(n))).toEqual([]);
  });
});
