#!/usr/bin/env node
// Entry point of the `cloudjail` command. The CLI is written in TypeScript and runs through tsx's
// loader, so no build step sits between `npm ci` and a working command.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv);
