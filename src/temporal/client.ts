import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config';

export async function connectClient(cfg: Config): Promise<Client> {
  const connection = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS });
  return new Client({ connection, namespace: cfg.TEMPORAL_NAMESPACE });
}
