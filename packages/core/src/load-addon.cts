// Loads @ringwire/native with CommonJS `require`, in the ESM build as in the CommonJS one: a
// file of its own because an ES module cannot catch the failure of its own static imports,
// and because `import.meta.url` (createRequire's usual anchor) does not exist in CommonJS.
// native.ts turns a failure into ERR_RINGWIRE_NATIVE_UNAVAILABLE.

/** The addon's exports; throws whatever require() threw when it cannot be found or loaded. */
export function loadAddon(): unknown {
  return require('@ringwire/native');
}
