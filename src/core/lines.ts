/**
 * Text chunks (a file or a request body, decoded) as arrays of lines, one array per chunk, so
 * callers loop over big batches instead of awaiting every line. A last line without a newline
 * still counts.
 */
export async function* linesOf(chunks: AsyncIterable<string>): AsyncGenerator<string[]> {
  let rest = '';
  for await (const chunk of chunks) {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    yield lines;
  }
  if (rest !== '') yield [rest];
}
