import { hash, verify } from '@node-rs/argon2';
import type { Argon2Config } from '../config.js';

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

/**
 * Checks a password against a throwaway hash so that a login for an unknown user costs the
 * same time as one with a wrong password, and response times do not reveal which logins exist.
 */
export class PasswordChecker {
  #decoy: Promise<string> | null = null;
  constructor(private readonly settings: Argon2Config) {}

  async verifyOrDecoy(passwordHash: string | null, password: string): Promise<boolean> {
    if (passwordHash !== null) return verifyPassword(passwordHash, password);
    this.#decoy ??= hashPassword('decoy password, never matches', this.settings);
    await verifyPassword(await this.#decoy, password);
    return false;
  }
}
