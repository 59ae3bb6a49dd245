import { createHash } from 'node:crypto';

/** API keys are long random strings, so a fast unsalted hash is enough to keep them unrecoverable at rest. */
export const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex');

/** What a listing shows of a secret key. */
export const hintOf = (secret: string): string => `${secret.slice(0, 7)}…`;
