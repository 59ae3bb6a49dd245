import type { CSSProperties } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { setParams } from '../router';

type Props = {
  /** The URL parameter this input edits. */
  name: string;
  value: string | number;
  type?: 'text' | 'number' | 'date';
  min?: number;
  max?: number;
  placeholder?: string;
  style?: CSSProperties;
};

/**
 * An input bound to one URL parameter, written when the user commits (Enter, Tab, leaving the
 * field). It keeps what the user is typing in its own state: a controlled input re-rendered by
 * something else mid-typing (an answer arriving for an earlier query) would otherwise be reset to
 * the URL's value, and the user's keystrokes would be lost with no change event to commit them.
 */
export function ParamInput({ name, value, type = 'text', ...rest }: Props) {
  const shown = String(value);
  const [draft, setDraft] = useState(shown);
  useEffect(() => setDraft(shown), [shown]);
  return (
    <input
      {...rest}
      // Preact types each input type as its own props shape: the cast keeps one component for three.
      type={type as 'text'}
      value={draft}
      onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
      onChange={(e) => setParams({ [name]: (e.target as HTMLInputElement).value })}
    />
  );
}
