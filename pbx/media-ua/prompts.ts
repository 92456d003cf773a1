/**
 * The spoken prompts, made once with espeak-ng and sox (8 kHz μ-law, the PCMU payload) and
 * kept in a cache folder; a later start reuses them. Each prompt is Japanese, a short pause,
 * then English.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { MULAW_SILENCE } from './rtp.js';

const run = promisify(execFile);

export type PromptName = 'enterNumber' | 'notFound' | 'pleaseHold';

/**
 * Important: the Japanese text is written in kana for the synthesizer. espeak-ng has no
 * Japanese kanji readings (it reads each kanji as "Chinese letter"), so the kanji wording of
 * the prompt (お客様番号を入力し、最後にシャープを押してください) is spelled the way it is spoken.
 */
export const PROMPT_TEXTS: Record<PromptName, { ja: string; en: string }> = {
  enterNumber: {
    ja: 'おきゃくさまばんごうを にゅうりょくし、さいごに シャープを おしてください。',
    en: 'Please enter your customer number followed by the hash key.',
  },
  notFound: {
    ja: 'おきゃくさまばんごうが みつかりません。もういちど にゅうりょくしてください。',
    en: 'That customer number was not found. Please try again.',
  },
  pleaseHold: {
    ja: 'ただいま でんわが こみあっております。このまま おまちください。',
    en: 'All our operators are busy. Please hold the line.',
  },
};

/** Bump when the way prompts are made changes, so cached files are made again. */
const RECIPE_VERSION = 1;
const PAUSE_BETWEEN_LANGUAGES = Buffer.alloc(8000 * 0.5, MULAW_SILENCE);
const TOOL_TIMEOUT_MS = 30_000;

export type Prompts = Record<PromptName, Buffer>;

export class PromptError extends Error {
  override name = 'PromptError';
}

async function synthesize(text: string, voice: 'ja' | 'en', workDir: string): Promise<Buffer> {
  const stem = path.join(workDir, randomBytes(6).toString('hex'));
  try {
    await run('espeak-ng', ['-v', voice, '-w', `${stem}.wav`, '--', text], { timeout: TOOL_TIMEOUT_MS });
    await run('sox', [`${stem}.wav`, '-r', '8000', '-c', '1', '-e', 'u-law', '-t', 'raw', `${stem}.ul`], { timeout: TOOL_TIMEOUT_MS });
    return await readFile(`${stem}.ul`);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new PromptError(`could not make a ${voice} prompt with espeak-ng and sox (Debian packages espeak-ng, sox): ${detail}`);
  } finally {
    await rm(`${stem}.wav`, { force: true });
    await rm(`${stem}.ul`, { force: true });
  }
}

/** Loads every prompt from dataDir/prompts, making the missing ones. */
export async function loadPrompts(dataDir: string): Promise<Prompts> {
  const dir = path.join(dataDir, 'prompts');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const entries = await Promise.all(
    (Object.keys(PROMPT_TEXTS) as PromptName[]).map(async (name) => {
      const text = PROMPT_TEXTS[name];
      const digest = createHash('sha256').update(JSON.stringify({ RECIPE_VERSION, text })).digest('hex').slice(0, 16);
      const file = path.join(dir, `${name}-${digest}.ul`);
      try {
        return [name, await readFile(file)] as const;
      } catch {
        const audio = Buffer.concat([await synthesize(text.ja, 'ja', dir), PAUSE_BETWEEN_LANGUAGES, await synthesize(text.en, 'en', dir)]);
        // Written aside and renamed, so a second UA starting at the same time never reads half a file.
        const partial = `${file}.${randomBytes(4).toString('hex')}.part`;
        await writeFile(partial, audio, { mode: 0o600 });
        await rename(partial, file);
        return [name, audio] as const;
      }
    }),
  );
  return Object.fromEntries(entries) as Prompts;
}
