/** A cell as text: objects as JSON, null and undefined as nothing. Pure. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** Saves rows as a CSV file, made in the page (no second request for what is already here). */
export function downloadCsv(rows: Record<string, unknown>[], filename: string, columns?: string[]): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([toCsv(rows, columns)], { type: 'text/csv' }));
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

/** RFC 4180 CSV of rows: every field quoted when it holds a quote, comma or line break. Pure. */
export function toCsv(rows: Record<string, unknown>[], columns?: string[]): string {
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const field = (v: unknown): string => {
    const s = cellText(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [cols.map(field).join(','), ...rows.map((r) => cols.map((c) => field(r[c])).join(','))].join('\r\n') + '\r\n';
}
