// Runs in: renderer. The loading/error state of a screen that reads its data through the API.
import type { ApiErrorInfo } from '../../../src-shared/contract/api';
import { toApiErrorInfo } from '../../../src-shared/contract/api';

/** `loading` until the first `run` ends; `error` is the last run's failure, null after a success. */
export class LoadState {
  loading = $state(true);
  error = $state<ApiErrorInfo | null>(null);

  /** Runs `read` (which stores what it read) and records how it went; never throws. */
  async run(read: () => Promise<void>): Promise<void> {
    try {
      await read();
      this.error = null;
    } catch (e) {
      this.error = toApiErrorInfo(e);
    } finally {
      this.loading = false;
    }
  }
}
