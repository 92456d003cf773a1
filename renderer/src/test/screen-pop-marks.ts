/**
 * The screen pop's marks as a measurement sees them (renderer/src/phone/screen-pop-marks.ts
 * takes each off the timeline as soon as it is made): observed as they are made.
 */
export function observeMarks(name: string): { details(): Record<string, unknown>[]; disconnect(): void } {
  const details: Record<string, unknown>[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.name === name) details.push((entry as PerformanceMark).detail as Record<string, unknown>);
    }
  });
  observer.observe({ type: 'mark' });
  return { details: () => details, disconnect: () => observer.disconnect() };
}
