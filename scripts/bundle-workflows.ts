import fs from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';

/** Prebuilds the workflow bundle so a production worker starts without running webpack. */
async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../src/workflows'),
    logger: new DefaultLogger('WARN'),
  });
  const out = path.resolve(__dirname, '..', 'workflow-bundle.js');
  await fs.writeFile(out, code);
  console.log(`workflow bundle written to ${out}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
