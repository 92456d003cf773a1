import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Configuration } from 'app-builder-lib';
import { getConfig, validateConfiguration } from 'app-builder-lib/out/util/config/config.js';
import { getCollectorByPackageManager, PM } from 'app-builder-lib/out/node-module-collector/index.js';
import { DebugLogger } from 'builder-util/out/DebugLogger.js';
import { TmpDir } from 'builder-util/out/util.js';
import { electronExternals } from '../scripts/build-electron.js';
import { buildIcns, buildIco, ICNS_TYPES, ICO_SIZES, LINUX_ICON_SIZES } from '../scripts/make-icons.js';
import { decodePng, encodePng, pngSize, scaleDown } from '../scripts/png.js';

/**
 * What the desktop installer is made of, checked without building it (building needs the
 * Electron binaries, which this machine cannot fetch): electron-builder's own loader and schema
 * read electron-builder.yml, and electron-builder's own collector lists the node_modules it
 * would pack.
 */

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(path.join(root, file), 'utf8')) as T;

interface PackageJson {
  name: string;
  main?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}
interface LockPackage extends PackageJson {
  version?: string;
  dev?: boolean;
  link?: boolean;
}

const rootPackage = readJson<PackageJson>('package.json');
const backendPackage = readJson<PackageJson>('backend/package.json');
/** Server libraries an operator's laptop must never carry, named and also all of backend/'s. */
const BACKEND_ONLY = new Set([
  'fastify',
  'pg',
  'jsdom',
  'smtp-server',
  'mailparser',
  'nodemailer',
  'kysely',
  'argon2',
  '@node-rs/argon2',
  '@fastify/rate-limit',
  backendPackage.name,
  // Shared with the app but bundled into its files by vite/esbuild, so not a runtime package.
  ...Object.keys(backendPackage.dependencies ?? {}),
]);

async function loadBuilderConfig(): Promise<Configuration> {
  const config = await getConfig(root, path.join(root, 'electron-builder.yml'), null);
  await validateConfiguration(config, new DebugLogger(false));
  return config;
}

function targetsOf(platform: Configuration['linux'] | Configuration['win'] | Configuration['mac']): string[] {
  const target = platform?.target;
  const list = Array.isArray(target) ? target : target ? [target] : [];
  return list.map((entry) => (typeof entry === 'string' ? entry : entry.target));
}

/**
 * The production tree as npm installs it, from package-lock.json: the root's dependencies
 * (and non-optional peers), then theirs, each resolved the way Node resolves them (nearest
 * node_modules up the tree).
 */
function productionTreeFromLock(): Map<string, string> {
  const lock = readJson<{ packages: Record<string, LockPackage> }>('package-lock.json');
  const found = new Map<string, string>();
  const wanted = (pkg: PackageJson) => [
    ...Object.keys(pkg.dependencies ?? {}),
    ...Object.keys(pkg.optionalDependencies ?? {}),
    ...Object.keys(pkg.peerDependencies ?? {}).filter((name) => !pkg.peerDependenciesMeta?.[name]?.optional),
  ];
  const resolve = (from: string, name: string): string | null => {
    for (let base = from; ; ) {
      const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
      if (lock.packages[candidate]) return candidate;
      if (!base) return null;
      const at = base.lastIndexOf('/node_modules/');
      base = at < 0 ? '' : base.slice(0, at);
    }
  };
  const queue: Array<{ from: string; name: string }> = wanted(rootPackage).map((name) => ({ from: '', name }));
  while (queue.length > 0) {
    const { from, name } = queue.shift()!;
    const location = resolve(from, name);
    if (location === null) {
      if (rootPackage.optionalDependencies?.[name]) continue;
      throw new Error(`package-lock.json has no entry for ${name} (needed by ${from || 'the root package'})`);
    }
    if (found.has(location)) continue;
    const entry = lock.packages[location]!;
    found.set(location, name);
    for (const dependency of wanted(entry)) queue.push({ from: location, name: dependency });
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'dist') out.push(...sourceFiles(relative));
    } else if (/\.(ts|tsx|mts|cts|js|mjs|cjs)$/.test(entry.name)) {
      out.push(relative);
    }
  }
  return out;
}

/**
 * Every module specifier of a file: static imports, re-exports, dynamic import() and require();
 * with `runtimeOnly`, not the type-only ones (they are erased by the bundler).
 */
function importsOf(file: string, options: { runtimeOnly?: boolean } = {}): string[] {
  let text = fs.readFileSync(path.join(root, file), 'utf8');
  if (options.runtimeOnly) text = text.replace(/\b(?:import|export)\s+type\s[^;]*?\bfrom\s*(['"])[^'"]+\1/g, '');
  const specifiers: string[] = [];
  for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)(['"])([^'"]+)\1/gm)) {
    specifiers.push(match[2]!);
  }
  return specifiers;
}

function bareName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function hasNativeBinding(name: string): boolean {
  const dir = path.join(root, 'node_modules', name);
  return fs.existsSync(path.join(dir, 'binding.gyp')) || fs.existsSync(path.join(dir, 'prebuilds'));
}

describe('electron-builder.yml', () => {
  it('is valid for electron-builder and names the app', async () => {
    const config = await loadBuilderConfig();
    expect(config.appId).toBe('jp.tsunagu.agent');
    expect(config.productName).toBe('Tsunagu');
    expect(config.extraMetadata?.main).toBe('dist/electron/main.cjs');
    expect(rootPackage.main).toBe('dist/electron/main.cjs');
  });

  it('builds AppImage and deb, NSIS, and dmg, each with its own icon file', async () => {
    const config = await loadBuilderConfig();
    expect(targetsOf(config.linux).sort()).toEqual(['AppImage', 'deb']);
    expect(targetsOf(config.win)).toEqual(['nsis']);
    expect(targetsOf(config.mac)).toEqual(['dmg']);
    expect(config.win?.icon).toBe('resources/icon.ico');
    expect(config.mac?.icon).toBe('resources/icon.icns');
    expect(config.linux?.icon).toBe('resources/icons');
    for (const file of [config.win!.icon!, config.mac!.icon!, config.linux!.icon!, config.mac!.entitlements!]) {
      expect(fs.existsSync(path.join(root, file)), file).toBe(true);
    }
  });

  it('sets the fuses: no RunAsNode, NODE_OPTIONS or --inspect; cookie encryption; only a validated app.asar', async () => {
    const config = await loadBuilderConfig();
    expect(config.asar).not.toBe(false);
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableCookieEncryption: true,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    });
  });

  it('rebuilds every native runtime dependency for Electron and unpacks it from the asar', async () => {
    const config = await loadBuilderConfig();
    expect(config.npmRebuild).toBe(true);
    const unpacked = [config.asarUnpack ?? []].flat();
    const native = Object.keys(rootPackage.dependencies ?? {}).filter(hasNativeBinding);
    expect(native).toContain('better-sqlite3-multiple-ciphers');
    for (const name of native) expect(unpacked).toContain(`node_modules/${name}/**/*`);
  });
});

describe('what the desktop app carries', () => {
  it('its production dependency tree (package-lock.json) holds no backend-only package', () => {
    const tree = [...productionTreeFromLock().values()];
    expect(tree).toContain('better-sqlite3-multiple-ciphers');
    expect(tree.filter((name) => BACKEND_ONLY.has(name))).toEqual([]);
  });

  it("electron-builder's own collector packs the same: the native module and its loaders, no server library, not the backend workspace", async () => {
    const temp = new TmpDir('tsunagu-packaging-test');
    try {
      const collector = getCollectorByPackageManager(PM.NPM, root, temp);
      const { nodeModules } = await collector.getNodeModules({ packageName: rootPackage.name });
      const names = nodeModules.map((module) => module.name);
      expect(names).toContain('better-sqlite3-multiple-ciphers');
      expect(names.filter((name) => BACKEND_ONLY.has(name))).toEqual([]);
      const fromLock = new Set(productionTreeFromLock().values());
      expect(names.filter((name) => !fromLock.has(name))).toEqual([]);
    } finally {
      await temp.cleanup();
    }
  }, 120_000);

  it('the Electron bundles leave out exactly Electron and the runtime dependencies, and the shell uses no other native module', () => {
    const externals = electronExternals(rootPackage);
    expect(externals.sort()).toEqual(['electron', ...Object.keys(rootPackage.dependencies ?? {})].sort());
    // A native module the shell imports but the installer does not carry would be bundled by
    // esbuild and fail to load in the packaged app.
    const shellFiles = sourceFiles('electron').filter((file) => !/\.test\.tsx?$/.test(file) && !file.includes(`${path.sep}testing${path.sep}`));
    const nativeImports = shellFiles.flatMap((file) =>
      importsOf(file, { runtimeOnly: true })
        .filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('node:'))
        .map(bareName)
        .filter((name) => name !== 'electron' && hasNativeBinding(name) && !externals.includes(name))
        .map((name) => `${file}: ${name}`),
    );
    expect(nativeImports).toEqual([]);
  });

  it('backend/ imports nothing from electron/ or renderer/', () => {
    const crossings: string[] = [];
    for (const file of sourceFiles('backend')) {
      for (const specifier of importsOf(file)) {
        if (!specifier.startsWith('.')) continue;
        const target = path.relative(root, path.resolve(root, path.dirname(file), specifier));
        if (/^(electron|renderer)(\/|$)/.test(target)) crossings.push(`${file} → ${specifier}`);
      }
    }
    expect(crossings).toEqual([]);
  });
});

describe('icons (npm run icons)', () => {
  it('are what scripts/make-icons.ts derives from resources/icon.png', () => {
    const source = decodePng(fs.readFileSync(path.join(root, 'resources/icon.png')));
    expect([source.width, source.height]).toEqual([512, 512]);
    const png = (size: number) => encodePng(scaleDown(source, size));
    for (const size of LINUX_ICON_SIZES) {
      const file = fs.readFileSync(path.join(root, `resources/icons/${size}x${size}.png`));
      expect(pngSize(file)).toEqual({ width: size, height: size });
      expect(file.equals(png(size)), `${size}x${size}.png`).toBe(true);
    }
    const ico = fs.readFileSync(path.join(root, 'resources/icon.ico'));
    expect(ico.equals(buildIco(new Map(ICO_SIZES.map((size) => [size, png(size)]))))).toBe(true);
    const icns = fs.readFileSync(path.join(root, 'resources/icon.icns'));
    expect(icns.equals(buildIcns(new Map(Object.entries(ICNS_TYPES).map(([type, size]) => [type, png(size)]))))).toBe(true);
  });

  it('hold the sizes each platform asks for: ICO up to 256 px, ICNS up to 512 px', () => {
    const ico = fs.readFileSync(path.join(root, 'resources/icon.ico'));
    expect(ico.readUInt16LE(2)).toBe(1);
    const icoSizes = Array.from({ length: ico.readUInt16LE(4) }, (_, index) => {
      const at = 6 + index * 16;
      const image = ico.subarray(ico.readUInt32LE(at + 12), ico.readUInt32LE(at + 12) + ico.readUInt32LE(at + 8));
      return pngSize(image).width;
    });
    expect(icoSizes).toEqual([...ICO_SIZES]);

    const icns = fs.readFileSync(path.join(root, 'resources/icon.icns'));
    expect(icns.toString('latin1', 0, 4)).toBe('icns');
    expect(icns.readUInt32BE(4)).toBe(icns.length);
    const icnsEntries: Record<string, number> = {};
    for (let at = 8; at < icns.length; at += icns.readUInt32BE(at + 4)) {
      icnsEntries[icns.toString('latin1', at, at + 4)] = pngSize(icns.subarray(at + 8, at + icns.readUInt32BE(at + 4))).width;
    }
    expect(icnsEntries).toEqual(ICNS_TYPES);
  });
});
