import { hash, verify } from '@node-rs/argon2';
import type { Argon2Config } from '../config.js';
import { WorkLimiter } from './work-limiter.js';

/**
 * Password hashing with argon2id (the library's default algorithm). The parameters travel
 * inside each hash, so hashes made with other settings (the seed's, an older config's) still
 * verify.
 */
export function hashPassword(password: string, settings: Argon2Config): Promise<string> {
  return hash(password, {
    memoryCost: settings.memoryKib,
    timeCost: settings.timeCost,
    parallelism: settings.parallelism,
  });
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    // A malformed stored hash is a failed login, not a server error.
    return false;
  }
}

export interface PasswordCheckLimits {
  maxConcurrentChecks: number;
  maxQueuedChecks: number;
}

/**
 * Checks a password against a throwaway hash so that a login for an unknown user costs the
 * same time as one with a wrong password, and response times do not reveal which logins exist.
 * Checks run through a bounded line (WorkLimiter): past it, `verifyOrDecoy` throws
 * WorkQueueFullError and the login is answered "busy" without any argon2 work.
 */
export class PasswordChecker {
  #decoy: Promise<string> | null = null;
  readonly limiter: WorkLimiter;
  constructor(
    private readonly settings: Argon2Config,
    limits: PasswordCheckLimits = { maxConcurrentChecks: 2, maxQueuedChecks: 32 },
    private readonly verify: (passwordHash: string, password: string) => Promise<boolean> = verifyPassword,
  ) {
    this.limiter = new WorkLimiter(limits.maxConcurrentChecks, limits.maxQueuedChecks);
  }

  verifyOrDecoy(passwordHash: string | null, password: string): Promise<boolean> {
    return this.limiter.run(async () => {
      if (passwordHash !== null) return this.verify(passwordHash, password);
      this.#decoy ??= hashPassword('decoy password, never matches', this.settings);
      await this.verify(await this.#decoy, password);
      return false;
    });
  }
}
