/**
 * Facts about the machine that a real node's record keeps and its cleanup compares: sysctls, the
 * boot, a process's start time (to tell it from a later process with the same pid), and the
 * nftables tables and chains. Reading and writing only; no policy.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** /proc/sys path of a dotted sysctl name. */
function sysctlPath(name: string): string {
  return join('/proc/sys', ...name.split('.'));
}

/** A sysctl's value, or undefined when this kernel has none of that name. */
export function readSysctl(name: string): string | undefined {
  try {
    return readFileSync(sysctlPath(name), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Writes a sysctl (root only). */
export function writeSysctl(name: string, value: string): void {
  writeFileSync(sysctlPath(name), value);
}

/** This boot's id: a record from another boot names pids and namespaces that mean other things now. */
export function bootId(): string {
  return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}

/** Field 22 of /proc/<pid>/stat (start time in ticks since boot), or undefined if no such process. */
export function startTimeOf(pid: number): string | undefined {
  try {
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** `family name` of every nftables table. */
export async function nftTables(): Promise<string[]> {
  try {
    const { stdout } = await run('nft', ['list', 'tables']);
    return stdout
      .split('\n')
      .map((l) => l.trim().replace(/^table /, ''))
      .filter(Boolean);
  } catch {
    return [];
  }
}

/** The parts of `nft -j` output the cleanup reads. */
export interface NftObject {
  chain?: { name: string };
  rule?: { chain: string; handle: number; expr: unknown[] };
}

/** The objects of one table (`family name`), from `nft -j`. */
export async function nftTable(table: string): Promise<NftObject[]> {
  const { stdout } = await run('nft', ['-j', 'list', 'table', ...table.split(' ')], { maxBuffer: 64 << 20 });
  return (JSON.parse(stdout) as { nftables: NftObject[] }).nftables;
}

/** The chain names of each table. */
export async function nftChainsOf(tables: string[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of tables) {
    out[table] = (await nftTable(table).catch(() => [])).flatMap((o) => (o.chain ? [o.chain.name] : []));
  }
  return out;
}
