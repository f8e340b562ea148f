import { useEffect, useRef } from 'preact/hooks';
import { EditorState, type Extension } from '@codemirror/state';
import { EditorView, keymap, lineNumbers, highlightActiveLine } from '@codemirror/view';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { bracketMatching, defaultHighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { json } from '@codemirror/lang-json';
import { javascript } from '@codemirror/lang-javascript';
import { python } from '@codemirror/lang-python';
import { sql } from '@codemirror/lang-sql';
import { linter, lintGutter, type Diagnostic } from '@codemirror/lint';

export type Language = 'json' | 'javascript' | 'python' | 'sql';

const languages: Record<Language, () => Extension> = { json, javascript, python, sql };

export interface EditorProps {
  value: string;
  onChange: (value: string) => void;
  language: Language;
  /** Problems to mark in the text (the JSON Schema editor's ajv errors); called on every change. */
  lint?: (text: string) => Diagnostic[];
  /** For tests and labels: the editor's accessible name. */
  label: string;
  minHeight?: string;
}

/**
 * CodeMirror 6, held by a ref: Preact renders the frame once and CodeMirror owns what is inside,
 * so typing never re-renders the page. A `value` changed from outside (loading a version) is
 * pushed into the editor; the editor's own edits are reported through `onChange`.
 */
export function Editor({ value, onChange, language, lint, label, minHeight = '12rem' }: EditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | undefined>(undefined);
  const changed = useRef(onChange);
  changed.current = onChange;
  const linted = useRef(lint);
  linted.current = lint;

  useEffect(() => {
    const extensions: Extension[] = [
      lineNumbers(),
      history(),
      bracketMatching(),
      highlightActiveLine(),
      syntaxHighlighting(defaultHighlightStyle),
      keymap.of([...defaultKeymap, ...historyKeymap]),
      languages[language](),
      EditorView.lineWrapping,
      EditorView.theme({ '&': { minHeight }, '.cm-scroller': { minHeight, fontFamily: 'ui-monospace, monospace' } }),
      EditorView.contentAttributes.of({ 'aria-label': label }),
      EditorView.updateListener.of((u) => {
        if (u.docChanged) changed.current(u.state.doc.toString());
      }),
    ];
    if (linted.current) {
      extensions.push(lintGutter(), linter((v) => linted.current?.(v.state.doc.toString()) ?? [], { delay: 150 }));
    }
    view.current = new EditorView({ state: EditorState.create({ doc: value, extensions }), parent: host.current as HTMLDivElement });
    return () => view.current?.destroy();
    // The editor is made once per language; later values arrive through the effect below.
  }, [language]);

  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
  }, [value]);

  return <div class="editor" data-editor={label} ref={host} />;
}

/**
 * Sets an editor's text from a test or a script: `window.__setEditor(label, text)`. Typing into
 * CodeMirror with synthetic keys is slow and fights its auto-indent; this replaces the document
 * as one user edit, so `onChange` and the linter run as they would for typing.
 */
export function exposeEditors(): void {
  (window as unknown as { __setEditor: (label: string, text: string) => boolean }).__setEditor = (label, text) => {
    const el = document.querySelector(`[data-editor="${CSS.escape(label)}"] .cm-editor`);
    const v = el ? EditorView.findFromDOM(el as HTMLElement) : null;
    if (!v) return false;
    v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: text }, userEvent: 'input' });
    return true;
  };
}
