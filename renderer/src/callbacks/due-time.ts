/**
 * When a callback flagged in the wrap-up is due: a preset the operator picks in one click, or a
 * time of their own. Times are the operator's local clock; what is sent is an ISO instant.
 */
export const DUE_PRESETS = ['30m', '1h', 'tomorrowMorning', 'custom'] as const;
export type DuePreset = (typeof DUE_PRESETS)[number];

/** "Tomorrow morning" is the start of the next working morning at this hour, local time. */
export const MORNING_HOUR = 9;

/**
 * The due instant of a preset, or of the custom `datetime-local` value ("2026-12-07T14:30").
 * null when the custom value is empty or not a time; a time in the past is the caller's to refuse.
 */
export function callbackDueAt(preset: DuePreset, custom: string, now: Date): string | null {
  switch (preset) {
    case '30m':
      return new Date(now.getTime() + 30 * 60_000).toISOString();
    case '1h':
      return new Date(now.getTime() + 60 * 60_000).toISOString();
    case 'tomorrowMorning': {
      const morning = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, MORNING_HOUR, 0, 0, 0);
      return morning.toISOString();
    }
    case 'custom': {
      if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(custom)) return null;
      const at = new Date(custom);
      return Number.isNaN(at.getTime()) ? null : at.toISOString();
    }
    default: {
      const unknown: never = preset;
      throw new Error(`unknown due preset ${String(unknown)}`);
    }
  }
}

/** A task is overdue once its due time (none: the moment it was flagged) has passed. */
export function isOverdue(task: { dueAt: string | null; flaggedAt: string }, now: number): boolean {
  return Date.parse(task.dueAt ?? task.flaggedAt) < now;
}
