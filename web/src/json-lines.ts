/**
 * JSON pretty-printed exactly as `JSON.stringify(value, null, 2)`, with the line each path starts
 * on (`channels.rules[0].when.op`, the server's way of naming a field), so that a validation
 * message can point at its line in the editor.
 */
export function prettyJson(value: unknown): { text: string; lineOf: Map<string, number> } {
  const parts: string[] = [];
  const lineOf = new Map<string, number>();
  let line = 1;
  const write = (s: string) => {
    parts.push(s);
    for (const c of s) if (c === '\n') line++;
  };
  const walk = (v: unknown, path: string, indent: number): void => {
    if (path) lineOf.set(path, line);
    const pad = ' '.repeat(indent + 2);
    if (Array.isArray(v)) {
      if (v.length === 0) {
        write('[]');
        return;
      }
      write('[\n');
      v.forEach((x, i) => {
        write(pad);
        walk(x === undefined || typeof x === 'function' ? null : x, `${path}[${i}]`, indent + 2);
        write(i < v.length - 1 ? ',\n' : '\n');
      });
      write(`${' '.repeat(indent)}]`);
      return;
    }
    if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v).filter(([, x]) => x !== undefined && typeof x !== 'function');
      if (entries.length === 0) {
        write('{}');
        return;
      }
      write('{\n');
      entries.forEach(([k, x], i) => {
        write(`${pad}${JSON.stringify(k)}: `);
        walk(x, path ? `${path}.${k}` : k, indent + 2);
        write(i < entries.length - 1 ? ',\n' : '\n');
      });
      write(`${' '.repeat(indent)}}`);
      return;
    }
    write(JSON.stringify(v) ?? 'null');
  };
  walk(value, '', 0);
  return { text: parts.join(''), lineOf };
}

/**
 * The line a validation message points at: the longest field path in the message that the
 * document has (a path to a missing key points at its parent), or undefined.
 */
export function lineOfMessage(message: string, lineOf: Map<string, number>): number | undefined {
  const candidates = message.match(/[\w$]+(?:\.[\w$]+|\[\d+\])+|[\w$]+(?=:)/g) ?? [];
  let best: { line: number; length: number } | undefined;
  for (const c of candidates) {
    // `priority.0` (zod's way) and `priority[0]` name the same element.
    let path = c.replace(/\.(\d+)(?=[.[]|$)/g, '[$1]');
    while (path) {
      const line = lineOf.get(path);
      if (line !== undefined) {
        if (!best || path.length > best.length) best = { line, length: path.length };
        break;
      }
      const cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
      path = cut > 0 ? path.slice(0, cut) : '';
    }
  }
  return best?.line;
}
