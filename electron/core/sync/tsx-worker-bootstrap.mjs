// Entry of a worker thread whose real entry is TypeScript (dev, tests, browser shell): loads it
// through tsx's API. Not `execArgv: ['--import', 'tsx']`: on Node 20, hooks registered that way
// inside a worker do not apply to the worker's own entry file ("Unknown file extension .ts").
import { pathToFileURL } from 'node:url';
import { workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

await tsImport(pathToFileURL(workerData.tsEntry).href, import.meta.url);
