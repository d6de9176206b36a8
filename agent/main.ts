/**
 * Entry of the stand-alone agent bundle (`dist/cloudjail-agent.mjs`, agent/build-bundle.ts):
 * `cloudjail-agent [--once] [--dry-run] ...`, `cloudjail-agent status`, `cloudjail-agent uninstall`.
 */
import { Command } from 'commander';
import { runProgram } from '../cli/run-program.js';
import { configureAgentCommand } from './agent-command.js';
import { AGENT_VERSION } from './run-agent.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const program = configureAgentCommand(new Command('cloudjail-agent'))
  .version(AGENT_VERSION)
  .showHelpAfterError()
  .exitOverride();
process.exitCode = await runProgram(program, process.argv);
