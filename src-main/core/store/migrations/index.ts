// Numbered migrations, applied in order, each in one transaction (Signal Desktop's habit).
// Never edit a migration that has shipped: add the next number.
import m001 from './001_initial';
import m004 from './004_market';
import m005 from './005_money';
import m006 from './006_roles';
import m012 from './012_assets';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  { version: 1, name: 'initial', sql: m001 },
  { version: 4, name: 'market', sql: m004 },
  { version: 5, name: 'money', sql: m005 },
  { version: 6, name: 'roles', sql: m006 },
  { version: 12, name: 'assets', sql: m012 },
];
