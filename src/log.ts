import pino from 'pino';

/** One pino logger for the process; modules take children so every line names its component. */
export const rootLogger = pino({
  level: process.env.BELTLINE_LOG_LEVEL ?? 'info',
  base: { pid: process.pid },
});

export function logger(component: string): pino.Logger {
  return rootLogger.child({ component });
}
