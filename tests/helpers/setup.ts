// Run by vitest before every test file (setupFiles in each vitest config): after the file's own
// afterAll hooks (hooks run as a stack), the temp dirs its tests made with `tempDir` are removed.
import { afterAll } from 'vitest';
import { removeTempDirs } from './cli';

afterAll(removeTempDirs);
