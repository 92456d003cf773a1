import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventSpool } from './spool.js';

describe('the call-event spool', () => {
  let dir: string;
  let now: number;
  const lines: string[] = [];
  const open = (maxEvents = 100, maxAgeMs = 60_000): EventSpool =>
    new EventSpool(path.join(dir, 'spool.sqlite'), { maxEvents, maxAgeMs, deliveredRetentionMs: 10_000 }, (line) => lines.push(line), () => now);
  const key = (callId: string, event: string, agent: string | null = 'op1') => ({ tenant: 'demo', callId, event, agent });

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsunagu-spool-'));
    now = Date.UTC(2026, 0, 5, 9);
    lines.length = 0;
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('hands out events in the order they came, keeps them across a reopen, and takes a repeated event once', () => {
    const spool = open();
    expect(spool.add(key('c1', 'ringing'), '{"n":1}')).toBe(true);
    expect(spool.add(key('c1', 'answered'), '{"n":2}')).toBe(true);
    expect(spool.add(key('c1', 'ringing'), '{"n":1}')).toBe(false);
    spool.delivered(spool.next()!.seq);
    spool.close();

    const again = open();
    expect(again.next()?.body).toBe('{"n":2}');
    expect(again.pending()).toBe(1);
    // Delivered, but remembered: Kamailio sending it again does not deliver it twice.
    expect(again.add(key('c1', 'ringing'), '{"n":1}')).toBe(false);
    again.close();
  });

  it('drops the oldest undelivered event when full, and undelivered events past their age, saying so', () => {
    const spool = open(2, 60_000);
    spool.add(key('c1', 'ringing'), '1');
    spool.add(key('c1', 'missed'), '2');
    spool.add(key('c2', 'ringing'), '3');
    expect(spool.pending()).toBe(2);
    expect(spool.next()?.body).toBe('2');
    expect(lines.join('\n')).toMatch(/spool full \(2 events\): dropped the oldest undelivered event \(call c1, ringing/);

    now += 61_000;
    spool.add(key('c3', 'ringing'), '4');
    spool.prune();
    expect(spool.pending()).toBe(1);
    expect(spool.next()?.body).toBe('4');
    expect(lines.at(-1)).toMatch(/dropped 1 undelivered event\(s\) older than 60 s/);
    spool.close();
  });
});
