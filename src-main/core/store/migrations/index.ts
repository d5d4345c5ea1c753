// Numbered migrations, applied in order, each in one transaction (Signal Desktop's habit).
// Never edit a migration that has shipped: add the next number.
import m001 from './001_initial';
import m004 from './004_market';
import m005 from './005_money';
import m006 from './006_roles';
import m007 from './007_relay_money';
import m008 from './008_rpc';
import m009 from './009_vouchers';
import m010 from './010_activity';
import m011 from './011_streams';
import m012 from './012_assets';
import m013 from './013_portmap';
import m014 from './014_nat';
import m015 from './015_mesh';
import m016 from './016_role_health';
import m017 from './017_nonce_pool';
import m018 from './018_purchase_latency';
import m019 from './019_mesh_auto';
import m020 from './020_listing_full';

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
  { version: 7, name: 'relay money', sql: m007 },
  { version: 8, name: 'rpc', sql: m008 },
  { version: 9, name: 'vouchers', sql: m009 },
  { version: 10, name: 'activity', sql: m010 },
  { version: 11, name: 'streams', sql: m011 },
  { version: 12, name: 'assets', sql: m012 },
  { version: 13, name: 'portmap', sql: m013 },
  { version: 14, name: 'nat', sql: m014 },
  { version: 15, name: 'mesh', sql: m015 },
  { version: 16, name: 'role health', sql: m016 },
  { version: 17, name: 'nonce pool', sql: m017 },
  { version: 18, name: 'purchase latency', sql: m018 },
  { version: 19, name: 'mesh auto', sql: m019 },
  { version: 20, name: 'listing full', sql: m020 },
];
