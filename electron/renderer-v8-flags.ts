/**
 * V8's flags for the app's renderer (Chromium's `--js-flags`): `app.commandLine.appendSwitch`
 * in Electron (electron/main.ts), the window's command line in the browser shell
 * (scripts/start.ts); bench:memory passes them too.
 *
 * `--optimize-for-size`: V8 grows the page's heap in smaller steps and collects sooner. Each call
 * leaves megabytes of short-lived garbage in the page (sip.js parsing SIP messages most of it,
 * bench:memory BENCH_ALLOC=1): with V8's default sizing the renderer held 40-80 MB of it after a
 * busy spell of calls until a full collection, which put host + renderer over 250 MB.
 *
 * Important: Electron's own main process (the core's host there) takes js-flags only from its
 * command line, so this reaches the renderers, not the host.
 */
export const RENDERER_JS_FLAGS = '--optimize-for-size';
