/**
 * Draws docs/autopilot.svg again from docs/autopilot-run.json (what `npm run demo -- --autopilot`
 * recorded), for when the chart's drawing changes but the run need not be repeated.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { chartTitle } from '../autopilot-demo.ts';
import { renderTimeline, type TimelinePoint } from './plot.ts';

const root = new URL('../..', import.meta.url).pathname;
const run = JSON.parse(readFileSync(`${root}docs/autopilot-run.json`, 'utf8')) as { points: TimelinePoint[] };
writeFileSync(`${root}docs/autopilot.svg`, renderTimeline(run.points, chartTitle));
