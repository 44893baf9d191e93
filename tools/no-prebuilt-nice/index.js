// See package.json: loading this fails, as a missing optional dependency would.
throw new Error('@napi-rs/nice is not installed in ringwire (no prebuilt binaries); piscina niceIncrement is unavailable');
