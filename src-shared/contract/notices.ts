// Runs in: main, preload and renderer (pure TypeScript, imports only its own folder). What the user
// is told when one of their purchases ends (desktop notification in the app, browser notification in
// headless mode): the spending cap reached, the seller stopped sending, or it simply ended.
import type { PurchaseView } from './api';
import { isFinal } from './states';

export interface EndNotice {
  kind: 'cap' | 'seller-stopped' | 'ended' | 'failed';
  title: string;
  body: string;
}

/** The notice for a purchase that just became final; null while it runs. */
export function purchaseEndNotice(p: PurchaseView): EndNotice | null {
  if (!isFinal(p.state)) return null;
  const reason = p.reason ?? '';
  const what = `'${p.title}'`;
  if (/spending cap/i.test(reason))
    return {
      kind: 'cap',
      title: 'Spending cap reached',
      body: `${what} stopped: its cap is spent. Renew it in Purchases.`,
    };
  if (/seller (ended|cut|stopped)|stopped selling|seller went/i.test(reason))
    return { kind: 'seller-stopped', title: 'The seller stopped sending', body: `${what}: ${reason}.` };
  if (p.state === 'ended')
    return { kind: 'ended', title: 'Purchase ended', body: `${what}${reason ? `: ${reason}` : ''}.` };
  return { kind: 'failed', title: 'Purchase failed', body: `${what}${reason ? `: ${reason}` : ''}.` };
}

/** Remembers each purchase's last state: a notice only on the step into a final state. */
export class PurchaseEndWatch {
  readonly #last = new Map<string, boolean>();
  /** The notice to show for this update, if it is the one that ended the purchase. */
  update(p: PurchaseView): EndNotice | null {
    const was = this.#last.get(p.id);
    const final = isFinal(p.state);
    this.#last.set(p.id, final);
    return was === false && final ? purchaseEndNotice(p) : null;
  }
}
