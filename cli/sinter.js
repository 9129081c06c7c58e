#!/usr/bin/env node
// Launcher for the `sinter` command: loads the TypeScript CLI through tsx's ESM loader and runs it.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
