import type { Page } from '@playwright/test';

/**
 * The app's screen pop marks (renderer/src/phone/screen-pop-marks.ts) as the benchmarks read
 * them: observed in the page as they are made, since the app takes each off the performance
 * timeline at once (a kept mark costs the renderer about 1 KB of native memory).
 */

export interface ObservedMark {
  at: number;
  detail: { callId?: string; phase?: string; from?: string; customerId?: string | null; committedAt?: number } | null;
}

/** By the mark's name without its `screenpop:` prefix (`invite`, `painted`, …). */
export type ObservedMarks = Record<string, ObservedMark[]>;

interface PageRecord {
  counts: Record<string, number>;
  marks: ObservedMarks | null;
}

/**
 * Starts observing the marks in the page. `keep`: `marks` keeps each mark with its time and
 * detail (bench:screenpop pairs them up by call); `counts` only how many of each were made, so
 * that the page being measured (bench:memory) keeps nothing per call for the benchmark.
 */
export async function observeScreenPopMarks(page: Page, keep: 'marks' | 'counts'): Promise<void> {
  // No named functions inside: tsx would wrap them in a helper the page does not have.
  await page.evaluate((keepMarks) => {
    const record: PageRecord = { counts: {}, marks: keepMarks ? {} : null };
    (window as unknown as { __benchScreenPop: PageRecord }).__benchScreenPop = record;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        if (!entry.name.startsWith('screenpop:')) continue;
        const name = entry.name.slice('screenpop:'.length);
        record.counts[name] = (record.counts[name] ?? 0) + 1;
        if (record.marks) (record.marks[name] ??= []).push({ at: entry.startTime, detail: (entry as PerformanceMark).detail as ObservedMark['detail'] });
      }
    }).observe({ type: 'mark' });
  }, keep === 'marks');
}

/** Forgets what was observed so far: what follows is measured on its own. */
export async function forgetScreenPopMarks(page: Page): Promise<void> {
  await page.evaluate(() => {
    const record = (window as unknown as { __benchScreenPop?: PageRecord }).__benchScreenPop;
    if (!record) throw new Error('observeScreenPopMarks was not called on this page');
    record.counts = {};
    if (record.marks) record.marks = {};
  });
}

/** The marks observed (with `keep: 'marks'`). */
export async function observedScreenPopMarks(page: Page): Promise<ObservedMarks> {
  const marks = await page.evaluate(() => (window as unknown as { __benchScreenPop?: PageRecord }).__benchScreenPop?.marks ?? null);
  if (!marks) throw new Error("observeScreenPopMarks(page, 'marks') was not called on this page");
  return marks;
}

/** How many marks of each name were observed. */
export async function screenPopMarkCounts(page: Page): Promise<Record<string, number>> {
  const counts = await page.evaluate(() => (window as unknown as { __benchScreenPop?: PageRecord }).__benchScreenPop?.counts ?? null);
  if (!counts) throw new Error('observeScreenPopMarks was not called on this page');
  return counts;
}

/**
 * Waits until every call whose INVITE was marked got its pop painted (or, with `refused`, was
 * refused as busy), at most `timeoutMs`: a call given up before its pop was painted never gets
 * a `painted` mark.
 */
export async function waitForScreenPopsPaired(page: Page, options: { refused: boolean; timeoutMs: number }): Promise<void> {
  await page
    .waitForFunction(
      (countRefused) => {
        const counts = (window as unknown as { __benchScreenPop?: PageRecord }).__benchScreenPop?.counts ?? {};
        return (counts.painted ?? 0) + (countRefused ? (counts.refused ?? 0) : 0) >= (counts.invite ?? 0);
      },
      options.refused,
      { timeout: options.timeoutMs },
    )
    .catch(() => undefined);
}
