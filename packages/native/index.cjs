'use strict';
// Loads the addon with node-gyp-build: a build made here from source (build/Release) when
// there is one, else the prebuilt binary shipped for this platform (prebuilds/<platform>-<arch>/,
// made by prebuildify); it throws when neither exists or loads (ringwire turns that into
// ERR_RINGWIRE_NATIVE_UNAVAILABLE). RINGWIRE_NATIVE_BUILD=Debug selects a debug (or sanitizer)
// build made with `node-gyp rebuild --debug` instead.
const path = require('node:path');

module.exports = process.env.RINGWIRE_NATIVE_BUILD === 'Debug'
  ? require(path.join(__dirname, 'build', 'Debug', 'ringwire.node'))
  : require('node-gyp-build')(__dirname);

// Never runs: it names the addon's exports for Node's ESM loader (cjs-module-lexer), so that
// `import { layout } from '@ringwire/native'` works as index.d.cts declares.
0 && (module.exports = {
  layout, platformHasFutex, createSegment, unlinkSegment, setWaitDispatcher, setErrorFactory, Segment,
});
