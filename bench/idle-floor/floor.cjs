// The I/O floor of an operator written for Node: what any Node operator must hold at idle, and no
// more. It loads `https` and `http`, lists and then watches the four kinds ours caches over TLS with
// the kubeconfig's client certificate or token, and serves HTTP on loopback (for /metrics and
// probes). No controller logic and no library: its resident memory is the part of ours that Node
// itself costs. Plain CommonJS, so no loader beyond Node's own is involved.
const https = require('node:https');
const http = require('node:http');
const { connect } = require('../json-kubeconfig-agent.cjs');

const { server, agent, headers } = connect(process.argv[2]);
const paths = [
  '/apis/elasticweb.example.com/v1/elasticwebs',
  '/apis/apps/v1/deployments',
  '/api/v1/services',
  '/apis/policy/v1/poddisruptionbudgets',
];
for (const path of paths) {
  https.get(`${server}${path}?limit=500`, { agent, headers }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (d) => (body += d));
    res.on('end', () => {
      const rv = JSON.parse(body).metadata.resourceVersion;
      const watch = `${server}${path}?watch=1&allowWatchBookmarks=true&resourceVersion=${rv}`;
      https.get(watch, { agent, headers }, (w) => w.resume());
    });
  });
}
http.createServer((_req, res) => res.end('ok')).listen(0, '127.0.0.1');
setInterval(() => {}, 1 << 30);
