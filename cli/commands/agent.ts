/** `cloudjail agent [status|uninstall]`: the host ban agent (agent/agent-command.ts). */
import type { Command } from 'commander';
import { configureAgentCommand } from '../../agent/agent-command.js';

export function register(program: Command): void {
  configureAgentCommand(program.command('agent'));
}
