// The connection of the bare Node clients (idle-floor/floor.cjs, restart-floor/lister.cjs): a kept-alive
// HTTPS agent with the CA, and the client certificate or token, of a kubeconfig written as JSON
// (they have no YAML parser). Plain CommonJS, Node's own modules only.
const https = require('node:https');
const fs = require('node:fs');

/** { server, agent, headers } for the first cluster and user of the JSON kubeconfig at `path`. */
function connect(path) {
  const kubeconfig = JSON.parse(fs.readFileSync(path, 'utf8'));
  const cluster = kubeconfig.clusters[0].cluster;
  const user = kubeconfig.users[0].user;
  const b64 = (s) => (s ? Buffer.from(s, 'base64') : undefined);
  const agent = new https.Agent({
    keepAlive: true,
    ca: b64(cluster['certificate-authority-data']),
    cert: b64(user['client-certificate-data']),
    key: b64(user['client-key-data']),
  });
  const headers = user.token ? { authorization: `Bearer ${user.token}` } : {};
  return { server: cluster.server, agent, headers };
}

module.exports = { connect };
