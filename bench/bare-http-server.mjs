// The ceiling for the ingest benchmark: a bare node:http server that reads a JSON body,
// parses it and answers {"success":true}, doing no validation and no storage.
// GET /lag answers the largest event-loop delay (ms) seen since the last GET /lag: the
// machine's own floor for the collector's event-loop figure.
import { createServer } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const port = Number(process.argv[2] ?? 8200);
const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();
createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/lag') {
    res.end(String(lag.max / 1e6));
    lag.reset();
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    try {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"success":true}');
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{"error":{"code":"invalid_json"}}');
    }
  });
}).listen(port, '127.0.0.1', () => process.stdout.write(`listening on http://127.0.0.1:${port}\n`));
