/**
 * Makes kube-apiserver reachable from pods: listens on the node address (the bridge) and passes
 * each TCP connection, TLS and all, to kube-apiserver on 127.0.0.1, same port.
 *
 *   node api-forwarder.ts <listen address> <port>
 *
 * Why a forwarder: kube-apiserver binds one address. Host clients (tests, benchmarks, kubectl) keep
 * talking to 127.0.0.1 with nothing in between, and kube-apiserver advertises the node address,
 * so the `kubernetes` Service sends pods here (its certificate covers both addresses). Binding
 * 0.0.0.0 instead would also open the API server on the machine's outside network.
 */
import { connect, createServer } from 'node:net';

const [listenAddress, portText] = process.argv.slice(2);
const port = Number(portText);
if (!listenAddress || !Number.isInteger(port)) {
  console.error('usage: node api-forwarder.ts <listen address> <port>');
  process.exit(2);
}

const server = createServer((client) => {
  const upstream = connect({ host: '127.0.0.1', port });
  client.pipe(upstream).pipe(client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.once('error', close);
  upstream.once('error', close);
  client.once('close', close);
  upstream.once('close', close);
});
server.listen(port, listenAddress, () =>
  console.log(`forwarding ${listenAddress}:${port} -> 127.0.0.1:${port}`),
);
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => process.exit(0));
