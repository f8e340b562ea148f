import { diffLines } from 'diff';

/** The part of a belt definition that makes its behaviour, as the console edits and compares it. */
export interface BeltDefinitionText {
  beltType: string;
  eventTypes: string[];
  outputTypes: { name: string; version?: string }[];
  extractorFn: string;
}

export interface DiffLine {
  kind: 'add' | 'del' | 'same';
  text: string;
}

/**
 * A definition as lines to compare: its settings first, then its source, so a version that only
 * changed its input types shows that too.
 */
export function definitionText(def: BeltDefinitionText): string {
  const outputs = def.outputTypes.map((o) => (o.version && o.version !== 'latest' ? `${o.name}@${o.version}` : o.name)).join(', ');
  const source = def.extractorFn.replace(/\r\n/g, '\n');
  return [`beltType: ${def.beltType}`, `eventTypes: ${def.eventTypes.join(', ')}`, `outputTypes: ${outputs}`, '', source.endsWith('\n') ? source : `${source}\n`].join('\n');
}

/** Line diff of two texts, one entry per line, marked as added, removed or kept. */
export function lineDiff(before: string, after: string): DiffLine[] {
  const out: DiffLine[] = [];
  for (const part of diffLines(before, after)) {
    const kind = part.added ? 'add' : part.removed ? 'del' : 'same';
    const lines = part.value.split('\n');
    // diffLines keeps each line's newline: the split leaves one empty string after the last.
    if (lines[lines.length - 1] === '') lines.pop();
    for (const text of lines) out.push({ kind, text });
  }
  return out;
}
