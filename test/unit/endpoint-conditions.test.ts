/** The EndpointSlice summary the traffic test prints beside a refused request. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endpointConditions } from '../support/endpoint-slices.ts';

test('each endpoint of every slice, sorted, with its ready/serving/terminating conditions as letters', () => {
  const lines = endpointConditions({
    items: [
      {
        endpoints: [
          { addresses: ['10.77.0.9'], conditions: { ready: true, serving: true, terminating: false } },
          { addresses: ['10.77.0.12'], conditions: { ready: false, serving: true, terminating: true } },
        ],
      },
      // A slice with no endpoints has no `endpoints` field at all; conditions left unset count as false.
      {},
      { endpoints: [{ addresses: ['10.77.0.3'] }] },
    ],
  });
  assert.deepEqual(lines, ['10.77.0.12 -ST', '10.77.0.3 ---', '10.77.0.9 RS-']);
});
