/**
 * Reads kubeconfig files given as arguments and prints them as one JSON array on stdout.
 *
 * rest-config.ts runs this in a throwaway process: the YAML parser, once loaded, would stay in the
 * operator's memory for good (about 9 MiB resident, measured with node 24) to read a few kilobytes
 * once at start.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const files = process.argv.slice(2).map((path) => parse(readFileSync(path, 'utf8')) ?? {});
process.stdout.write(JSON.stringify(files));
