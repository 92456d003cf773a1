import type { CacheMigration } from './index.js';

/**
 * The attributes the backend derives from each customer's contacts and orders (issue 10 item 8),
 * as the `DerivedAttributes` JSON of the customer the feed last sent; null until one came.
 */
export const migration003: CacheMigration = {
  version: 3,
  name: 'derived_attributes',
  up: `
    ALTER TABLE customers ADD COLUMN derived_json TEXT;
  `,
};
