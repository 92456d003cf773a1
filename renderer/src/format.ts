import type { CountryCode } from 'libphonenumber-js';
import { DEFAULT_REGION, formatPhoneForDisplay } from '../../shared/phone.js';
import type { Language } from './i18n/index.js';

const dateTimeFormats = new Map<Language, Intl.DateTimeFormat>();

/** Local date and time in the UI language (2024/05/01 9:30 or May 1, 2024, 9:30 AM). */
export function formatDateTime(iso: string, language: Language): string {
  let format = dateTimeFormats.get(language);
  if (!format) {
    format = new Intl.DateTimeFormat(language, { dateStyle: 'medium', timeStyle: 'short' });
    dateTimeFormats.set(language, format);
  }
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : format.format(date);
}

/**
 * Formatted numbers by region and number: a ringing call's card renders its caller's number
 * several times, and each libphonenumber parse costs the main thread (bench:screenpop's trace).
 */
const formattedPhones = new Map<string, string>();
const FORMATTED_PHONES_KEPT = 500;

/** Numbers of the tenant's own region are shown the national way (03-1234-5678), others internationally. */
export function formatPhone(e164: string, tenantRegion: string | undefined): string {
  const region = tenantRegion && /^[A-Z]{2}$/.test(tenantRegion) ? (tenantRegion as CountryCode) : DEFAULT_REGION;
  const key = `${region} ${e164}`;
  let formatted = formattedPhones.get(key);
  if (formatted === undefined) {
    formatted = formatPhoneForDisplay(e164, region);
    if (formattedPhones.size >= FORMATTED_PHONES_KEPT) formattedPhones.delete(formattedPhones.keys().next().value as string);
    formattedPhones.set(key, formatted);
  }
  return formatted;
}

/** A duration as a running clock: 04:05, or 1:02:03 past an hour. */
export function formatDuration(totalSeconds: number): string {
  const seconds = Math.max(0, Math.floor(totalSeconds));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}
