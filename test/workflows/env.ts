import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { installTemporal } from '../../src/stack/services';
import { BELTS, EVENT_COUNT, EVENT_TYPES, PROJECT, SOURCE } from '../../src/workflows/search-attributes';
import { createTimeSkippingEnvironment } from '../support/time-skipping';

export interface WorkflowEnvironment {
  env: TestWorkflowEnvironment;
  teardown(): Promise<void>;
}

async function open(create: () => Promise<TestWorkflowEnvironment>): Promise<WorkflowEnvironment> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const env = await create();
  return {
    env,
    async teardown() {
      await env.teardown();
      // The SDK's native runtime keeps threads alive that would keep jest from exiting.
      await Runtime.instance().shutdown();
    },
  };
}

/** Temporal's time-skipping test server: durable timers of months pass in milliseconds. */
export function timeSkippingEnvironment(): Promise<WorkflowEnvironment> {
  return open(createTimeSkippingEnvironment);
}

/**
 * A private, in-memory Temporal dev server (the stack's CLI binary) that knows beltline's search
 * attributes, which the time-skipping server does not: for workflows that set them.
 */
export function devServerEnvironment(): Promise<WorkflowEnvironment> {
  return open(async () =>
    TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'existing-path', path: await installTemporal() }, ip: '127.0.0.1', searchAttributes: [EVENT_TYPES, EVENT_COUNT, BELTS, SOURCE, PROJECT], extraArgs: ['--headless'] },
    }),
  );
}

/** The workflows as a worker loads them from source (bundled by the SDK). */
export const WORKFLOWS = require.resolve('../../src/workflows');
