// Entry of a bench:agents worker thread: Node 20 does not pass `--import tsx` on to worker
// threads, so the TypeScript loader is registered here before the agents' module is loaded.
import { register } from 'tsx/esm/api';

register();
await import('./agent-client.ts');
