/**
 * Types for the prom-client files prom.ts imports one by one: prom-client declares only its index.
 * Each is the CommonJS module's `module.exports`, as Node hands it to an ES module import.
 */
declare module 'prom-client/lib/registry.js' {
  const Registry: typeof import('prom-client').Registry;
  export default Registry;
}
declare module 'prom-client/lib/counter.js' {
  const Counter: typeof import('prom-client').Counter;
  export default Counter;
}
declare module 'prom-client/lib/gauge.js' {
  const Gauge: typeof import('prom-client').Gauge;
  export default Gauge;
}
declare module 'prom-client/lib/histogram.js' {
  const Histogram: typeof import('prom-client').Histogram;
  export default Histogram;
}
/** Each default metric: a function that registers its metrics in the registry of the config. */
declare module 'prom-client/lib/metrics/*' {
  const metric: (registry: import('prom-client').Registry, config: object) => void;
  export default metric;
}
