/**
 * Where a process spent its CPU over a stretch of work: V8's sampling CPU profiler through the
 * DevTools protocol (a Chromium page, or a Node process's inspector), reduced to the time per
 * function, its own (self) and with what it called (total). bench/memory.ts compares an early
 * batch of calls with a late one, per call, to find the work that grows with past calls.
 */
import fs from 'node:fs';
import type { ProtocolClient } from './heap-census.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

/** One function (name, file and line) and the milliseconds the samples put in it. */
export interface FunctionTime {
  site: string;
  selfMs: number;
  totalMs: number;
}

/** Starts sampling every `intervalUs` microseconds. */
export async function startCpuProfile(client: ProtocolClient, intervalUs = 250): Promise<void> {
  await client.send('Profiler.enable');
  await client.send('Profiler.setSamplingInterval', { interval: intervalUs });
  await client.send('Profiler.start');
}

function siteOf(node: ProfileNode): string {
  const frame = node.callFrame;
  const file = frame.url ? frame.url.slice(frame.url.lastIndexOf('/') + 1) : '';
  return `${frame.functionName || '(anonymous)'}${file ? ` ${file}:${frame.lineNumber + 1}` : ''}`;
}

/** The time per function, self and total (a recursive function's total counted once per sample). */
export function functionTimes(profile: CpuProfile): Map<string, FunctionTime> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const times = new Map<string, FunctionTime>();
  const entry = (site: string) => {
    let time = times.get(site);
    if (!time) times.set(site, (time = { site, selfMs: 0, totalMs: 0 }));
    return time;
  };
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    // A sample's time is the gap to the next one.
    const ms = (deltas[i + 1] ?? 0) / 1000;
    let node = byId.get(samples[i]!);
    if (!node) continue;
    entry(siteOf(node)).selfMs += ms;
    const counted = new Set<string>();
    for (; node; node = byId.get(parentOf.get(node.id) ?? -1)) {
      const site = siteOf(node);
      if (counted.has(site)) continue;
      counted.add(site);
      entry(site).totalMs += ms;
    }
  }
  return times;
}

/**
 * Stops the profiler started by `startCpuProfile` and returns the time per function; with
 * `saveAs`, the profile is also written there as it came (a .cpuprofile DevTools opens, with the
 * columns a source map needs for the page's minified code).
 */
export async function stopCpuProfile(client: ProtocolClient, saveAs?: string): Promise<Map<string, FunctionTime>> {
  const { profile } = (await client.send('Profiler.stop')) as { profile: CpuProfile };
  await client.send('Profiler.disable');
  if (saveAs) fs.writeFileSync(saveAs, JSON.stringify(profile));
  return functionTimes(profile);
}

export interface FunctionGrowth {
  site: string;
  earlyMs: number;
  lateMs: number;
}

/** The functions whose total time per unit of work grew most from `early` to `late`. */
export function timeGrowth(early: Map<string, FunctionTime>, earlyUnits: number, late: Map<string, FunctionTime>, lateUnits: number, limit = 25): FunctionGrowth[] {
  const sites = new Set([...early.keys(), ...late.keys()]);
  return [...sites]
    .map((site) => ({ site, earlyMs: (early.get(site)?.totalMs ?? 0) / earlyUnits, lateMs: (late.get(site)?.totalMs ?? 0) / lateUnits }))
    .sort((a, b) => b.lateMs - b.earlyMs - (a.lateMs - a.earlyMs))
    .slice(0, limit);
}
