import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';
import { readServerSentEvents, type ServerSentEvent } from './server-sent-events.js';

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function readAll(chunks: string[]): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  for await (const event of readServerSentEvents(streamOf(chunks))) events.push(event);
  return events;
}

describe('readServerSentEvents', () => {
  it('yields events split across chunks, with any line ending, skipping comments and retry', async () => {
    const events = await readAll([
      'retry: 3000\n\n: a comment\nevent: chan',
      'ged\ndata: {"seq":1}\n\nevent: ping\r\ndata: {}\r',
      '\n\r\ndata: line one\ndata: line two\n\n',
      'event: changed\ndata: {"seq":2}\n',
    ]);
    expect(events).toEqual([
      { event: 'changed', data: '{"seq":1}' },
      { event: 'ping', data: '{}' },
      { event: 'message', data: 'line one\nline two' },
    ]);
  });

  it('counts every chunk as activity, pings included', async () => {
    let activity = 0;
    const stream = streamOf([': keep-alive\n\n', 'event: ping\ndata: {}\n\n']);
    for await (const event of readServerSentEvents(stream, () => activity++)) expect(event.event).toBe('ping');
    expect(activity).toBe(2);
  });
});

describe('backoffDelay', () => {
  it('doubles from the initial delay up to the cap, with up to half of it random', () => {
    const policy = { initialMs: 1000, maxMs: 30_000 };
    expect([0, 1, 2, 3, 4, 5, 6, 40].map((attempt) => backoffDelay(attempt, policy, () => 1))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000,
    ]);
    expect([0, 1, 5].map((attempt) => backoffDelay(attempt, policy, () => 0))).toEqual([500, 1000, 15_000]);
  });
});
