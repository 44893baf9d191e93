#!/usr/bin/env node
// The `ringwire` command: inspect and use channels from a shell. See `ringwire --help`.
import { main } from './cli.js';

process.exitCode = await main(process.argv.slice(2));
