#!/usr/bin/env node
// The `cadmap` command. The CLI itself is compiled into dist/ by `npm run build`; this launcher is committed so
// that it exists when npm installs the workspace, and npm links the command then (it links no missing file).
try {
  await import('../dist/bin.js');
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.url ?? error.message).includes('/cli/dist/bin.js')) {
    process.stderr.write('cadmap is not built yet: run `npm run build` (or `npm test`) in the cadmap folder first.\n');
    process.exit(2);
  }
  throw error;
}
