import type { Connection } from '@temporalio/client';

/**
 * The identities (`pid@host` by default) of the workers polling a task queue's workflow tasks,
 * over all of its partitions.
 *
 * The default mode of DescribeTaskQueue answers for the root partition only, and a worker's
 * pollers may all sit on other partitions for minutes (the dev server has four): three workers
 * polling showed as two. The ENHANCED mode merges the partitions. It is marked deprecated in
 * the API but is what the pinned server answers; a server that drops it fails this loudly
 * rather than hiding a worker.
 */
export async function workflowPollers(service: Connection['workflowService'], namespace: string, taskQueue: string): Promise<string[]> {
  const res = await service.describeTaskQueue({
    namespace,
    // The enums' numbers (@temporalio/proto is not one of beltline's dependencies):
    // TASK_QUEUE_KIND_NORMAL, DESCRIBE_TASK_QUEUE_MODE_ENHANCED, TASK_QUEUE_TYPE_WORKFLOW.
    taskQueue: { name: taskQueue, kind: 1 },
    apiMode: 1,
    versions: { unversioned: true },
    taskQueueTypes: [1],
    reportPollers: true,
  });
  const identities = new Set<string>();
  for (const version of Object.values(res.versionsInfo ?? {})) {
    for (const type of Object.values(version.typesInfo ?? {})) {
      for (const p of type.pollers ?? []) if (p.identity) identities.add(p.identity);
    }
  }
  return [...identities];
}
