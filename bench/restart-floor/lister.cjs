// The list floor of a restart: what any operator written for Node that caches these kinds as JSON
// must do before it can verify anything. It lists each path given (every page, 500 objects a page,
// all paths at once, as informers start together) over TLS with the kubeconfig's token or client
// certificate, and JSON.parses every page; nothing is kept, transformed or reconciled. When the last
// page is in it prints {"doneAt": Date.now(), "items": N} and exits. Plain CommonJS and no library, so
// only Node itself is measured.
const https = require('node:https');
const { connect } = require('../json-kubeconfig-agent.cjs');

const { server, agent, headers } = connect(process.argv[2]);
const paths = process.argv.slice(3);

function page(path, token) {
  const sep = path.includes('?') ? '&' : '?';
  const url = `${server}${path}${sep}limit=500${token ? `&continue=${encodeURIComponent(token)}` : ''}`;
  return new Promise((resolve, reject) => {
    https
      .get(url, { agent, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => {
          if (res.statusCode !== 200)
            reject(new Error(`${path}: HTTP ${res.statusCode}: ${body.slice(0, 200)}`));
          else resolve(JSON.parse(body));
        });
      })
      .on('error', reject);
  });
}

async function list(path) {
  let items = 0;
  let token;
  do {
    const p = await page(path, token);
    items += p.items.length;
    token = p.metadata.continue || undefined;
  } while (token);
  return items;
}

Promise.all(paths.map(list)).then(
  (counts) => {
    process.stdout.write(
      `${JSON.stringify({ doneAt: Date.now(), items: counts.reduce((a, b) => a + b, 0) })}\n`,
    );
    process.exit(0);
  },
  (err) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  },
);
