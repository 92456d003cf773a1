import type { CallMeHours } from '../../../shared/callme.js';

/**
 * The tenant's hours for "call me": when a request may be offered at once, and otherwise the
 * next opening it is booked for. Times are judged in the tenant's time zone (DST included).
 */

interface LocalParts {
  year: number;
  month: number;
  day: number;
  weekday: number;
  minutes: number;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      weekday: 'short',
      hour: 'numeric',
      minute: 'numeric',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Whether the runtime knows this IANA time zone (an unknown one is refused when hours are set). */
export function isKnownTimeZone(timeZone: string): boolean {
  try {
    formatterOf(timeZone);
    return true;
  } catch {
    return false;
  }
}

function localParts(at: number, timeZone: string): LocalParts {
  const parts = Object.fromEntries(formatterOf(timeZone).formatToParts(new Date(at)).map((part) => [part.type, part.value]));
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    weekday: WEEKDAYS.indexOf(parts.weekday ?? ''),
    minutes: Number(parts.hour) * 60 + Number(parts.minute),
  };
}

function minutesOf(hhmm: string): number {
  const [hours, minutes] = hhmm.split(':').map(Number);
  return (hours ?? 0) * 60 + (minutes ?? 0);
}

/** The instant at which the wall clock of `timeZone` shows this date and minute of the day. */
function zonedInstant(year: number, month: number, day: number, minutes: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day, 0, minutes);
  const offsetAt = (instant: number) => {
    const local = localParts(instant, timeZone);
    return Date.UTC(local.year, local.month - 1, local.day, 0, local.minutes) - Math.floor(instant / 60_000) * 60_000;
  };
  const first = wall - offsetAt(wall);
  // Once more at the first guess: across a DST change the offset there is the one that holds.
  return wall - offsetAt(first);
}

export function isOpen(hours: CallMeHours, at: Date): boolean {
  const local = localParts(at.getTime(), hours.timeZone);
  return hours.days.includes(local.weekday) && local.minutes >= minutesOf(hours.opensAt) && local.minutes < minutesOf(hours.closesAt);
}

/** `at` itself when open then, else the next opening (null: the hours never open). */
export function nextOpening(hours: CallMeHours, at: Date): Date | null {
  if (isOpen(hours, at)) return at;
  const opens = minutesOf(hours.opensAt);
  for (let day = 0; day <= 8; day += 1) {
    const local = localParts(at.getTime() + day * 86_400_000, hours.timeZone);
    if (!hours.days.includes(local.weekday)) continue;
    const opening = zonedInstant(local.year, local.month, local.day, opens, hours.timeZone);
    if (opening > at.getTime()) return new Date(opening);
  }
  return null;
}
