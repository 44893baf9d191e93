'use strict';
// Loads the addon built from source by node-gyp. RINGWIRE_NATIVE_BUILD=Debug selects a
// debug (or sanitizer) build made with `node-gyp rebuild --debug`.
const path = require('node:path');
const flavour = process.env.RINGWIRE_NATIVE_BUILD === 'Debug' ? 'Debug' : 'Release';
module.exports = require(path.join(__dirname, 'build', flavour, 'ringwire.node'));
