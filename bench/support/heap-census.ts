/**
 * What a process's JS heap holds, by constructor: a V8 heap snapshot (the DevTools protocol's
 * HeapProfiler, from a Chromium page or a Node process's inspector) reduced to a count and a
 * self size per node name, and the difference between two such censuses. bench/memory.ts uses
 * it to say what calls leave behind (RTCPeerConnection, MediaStream, HTMLAudioElement, sip.js
 * sessions, listeners, store entries) rather than only that memory grew.
 */
import WebSocket from 'ws';

export interface CensusEntry {
  count: number;
  bytes: number;
}

/** Node name (a constructor, or a native type such as `system / Context`) → count and self size. */
export type Census = Map<string, CensusEntry>;

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Objects and native objects only: strings, code and arrays are counted under their type. */
const GROUPED_TYPES = new Set(['object', 'native', 'closure', 'regexp']);

export function censusOf(json: string): Census {
  const snapshot = JSON.parse(json) as HeapSnapshot;
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const census: Census = new Map();
  const { nodes, strings } = snapshot;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]!]!;
    const name = GROUPED_TYPES.has(type) ? (type === 'closure' ? '(closure)' : strings[nodes[i + nameAt]!]!) : `(${type})`;
    const entry = census.get(name);
    if (entry) {
      entry.count += 1;
      entry.bytes += nodes[i + sizeAt]!;
    } else census.set(name, { count: 1, bytes: nodes[i + sizeAt]! });
  }
  return census;
}

export interface CensusChange {
  name: string;
  before: number;
  after: number;
  bytes: number;
}

/** The names whose count grew, largest growth in bytes first. */
export function censusGrowth(before: Census, after: Census, limit = 25): CensusChange[] {
  const changes: CensusChange[] = [];
  for (const [name, entry] of after) {
    const was = before.get(name) ?? { count: 0, bytes: 0 };
    if (entry.count > was.count) changes.push({ name, before: was.count, after: entry.count, bytes: entry.bytes - was.bytes });
  }
  return changes.sort((a, b) => b.bytes - a.bytes).slice(0, limit);
}

/** The counts of chosen names, zero when absent. */
export function countsOf(census: Census, names: readonly string[]): Record<string, number> {
  return Object.fromEntries(names.map((name) => [name, census.get(name)?.count ?? 0]));
}

/** The minimal DevTools protocol client both Playwright's CDPSession and a raw socket fit. */
export interface ProtocolClient {
  send(method: string, params?: Record<string, unknown>): Promise<unknown>;
  on(event: string, listener: (params: Record<string, unknown>) => void): void;
  off(event: string, listener: (params: Record<string, unknown>) => void): void;
}

/** Collects garbage, then takes a heap snapshot through the protocol and counts it. */
export async function takeCensus(client: ProtocolClient): Promise<Census> {
  const chunks: string[] = [];
  const onChunk = (params: Record<string, unknown>) => chunks.push(String(params.chunk));
  client.on('HeapProfiler.addHeapSnapshotChunk', onChunk);
  try {
    await client.send('HeapProfiler.enable');
    await client.send('HeapProfiler.collectGarbage');
    await client.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
  } finally {
    client.off('HeapProfiler.addHeapSnapshotChunk', onChunk);
  }
  return censusOf(chunks.join(''));
}

/** One place in the code and the bytes allocated there (by the sampling heap profiler). */
export interface AllocationSite {
  site: string;
  bytes: number;
}

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

/**
 * Starts V8's sampling heap profiler, counting also what garbage collections have freed since:
 * what a stretch of work allocates in all (the churn that makes memory saw up before a GC), not
 * only what it keeps. `stopAllocationSampling` returns the sites that allocated most.
 */
export async function startAllocationSampling(client: ProtocolClient): Promise<void> {
  await client.send('HeapProfiler.enable');
  await client.send('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
}

/** The allocation sites since `startAllocationSampling`, the largest first: `function file:line` and the bytes. */
export async function stopAllocationSampling(client: ProtocolClient, limit = 20): Promise<AllocationSite[]> {
  const { profile } = (await client.send('HeapProfiler.stopSampling')) as { profile: { head: SamplingNode } };
  const bySite = new Map<string, number>();
  const visit = (node: SamplingNode) => {
    if (node.selfSize > 0) {
      const frame = node.callFrame;
      const file = frame.url ? frame.url.slice(frame.url.lastIndexOf('/') + 1) : '(native)';
      const site = `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
      bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
    }
    for (const child of node.children) visit(child);
  };
  visit(profile.head);
  return [...bySite].map(([site, bytes]) => ({ site, bytes })).sort((a, b) => b.bytes - a.bytes).slice(0, limit);
}

/**
 * A Node process's inspector, opened from outside: SIGUSR1 makes Node listen on 127.0.0.1:9229
 * (the benchmark runs in its own network namespace, so the port is free), then the first target's
 * WebSocket carries the protocol. Used to collect the core host's garbage before a reading, as
 * the page's is, and to count its heap.
 */
export async function openNodeInspector(pid: number, port = 9229): Promise<ProtocolClient & { close(): void }> {
  process.kill(pid, 'SIGUSR1');
  let url: string | undefined;
  for (let attempt = 0; attempt < 50 && !url; attempt++) {
    try {
      const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
      url = targets[0]?.webSocketDebuggerUrl;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  if (!url) throw new Error(`the inspector of process ${pid} did not open on port ${port}`);
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  const listeners = new Map<string, Set<(params: Record<string, unknown>) => void>>();
  socket.on('message', (data: WebSocket.RawData) => {
    const message = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string }; method?: string; params?: Record<string, unknown> };
    if (message.id !== undefined) {
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.error) waiter?.reject(new Error(message.error.message));
      else waiter?.resolve(message.result);
    } else if (message.method) for (const listener of listeners.get(message.method) ?? []) listener(message.params ?? {});
  });
  return {
    send(method, params = {}) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        socket.send(JSON.stringify({ id, method, params }));
      });
    },
    on(event, listener) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event)!.add(listener);
    },
    off(event, listener) {
      listeners.get(event)?.delete(listener);
    },
    close() {
      socket.close();
    },
  };
}
