import type { Config } from '../config';

type UiConfig = Pick<Config, 'BELTLINE_TEMPORAL_UI_URL' | 'TEMPORAL_ADDRESS' | 'TEMPORAL_UI_PORT'>;

/**
 * Where Temporal's Web UI is: BELTLINE_TEMPORAL_UI_URL, or, with Temporal on this machine (the
 * local stack's dev server), its UI on TEMPORAL_UI_PORT; otherwise none, as the UI of a remote
 * Temporal cannot be guessed. Pure.
 */
export function temporalUiBase(cfg: UiConfig): string | null {
  if (cfg.BELTLINE_TEMPORAL_UI_URL) return cfg.BELTLINE_TEMPORAL_UI_URL.replace(/\/+$/, '');
  const host = cfg.TEMPORAL_ADDRESS.replace(/:\d+$/, '');
  return ['127.0.0.1', 'localhost', '[::1]'].includes(host) ? `http://127.0.0.1:${cfg.TEMPORAL_UI_PORT}` : null;
}

/** Where the Web UI shows a workflow, after its base URL. */
export function temporalUiPath(cfg: Pick<Config, 'TEMPORAL_NAMESPACE'>, workflowId: string): string {
  return `/namespaces/${encodeURIComponent(cfg.TEMPORAL_NAMESPACE)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** A workflow's page in the Web UI, when the UI is known. */
export function workflowUiUrl(cfg: UiConfig & Pick<Config, 'TEMPORAL_NAMESPACE'>, workflowId: string): string | null {
  const base = temporalUiBase(cfg);
  return base === null ? null : `${base}${temporalUiPath(cfg, workflowId)}`;
}
