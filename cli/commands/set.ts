/**
 * `cloudjail set <jail> <setting> <value>`: changes a jail's maxretry, findtime or bantime at
 * runtime, without a deploy (stored in the table; the detector reads it within a minute). `reset`
 * restores the configured value. `cloudjail status <jail>` shows the settings in force.
 */
import type { Command } from 'commander';
import {
  OVERRIDABLE,
  type OverridableSetting,
  parseOverrideValue,
  withSetting,
} from '../../lambda/core/policy/jail-overrides.js';
import { addConnectionOptions, type ConnectionOptions, withContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { printJson, printLines } from '../input.js';
import { jailSettings, settingsLines } from '../jail-settings.js';

interface SetOptions extends ConnectionOptions {
  readonly json?: boolean;
}

export function register(program: Command): void {
  addConnectionOptions(
    program
      .command('set')
      .description(
        `change a jail's ${OVERRIDABLE.join(', ')} at runtime, without a deploy (value "reset": back to the configuration)`,
      )
      .argument('<jail>', 'a configured jail')
      .argument('<setting>', OVERRIDABLE.join(' | '))
      .argument(
        '<value>',
        'a number (maxretry), a duration (10m, 1h, 3d; bantime -1 = permanent), or reset',
      )
      .option('--json', 'one JSON object on stdout: {"jail", "settings"}'),
  )
    .addHelpText(
      'after',
      '\nThe detector uses the new value within a minute. bantime applies to bans created from then on;\nmaxretry and findtime to the next decisions. Exit codes: 0 set, 2 bad setting or value, 4 unknown jail, 1 store/AWS error.',
    )
    .action(async (jail: string, setting: string, value: string, options: SetOptions) => {
      const parsed = parseOverrideValue(setting, value);
      if ('problem' in parsed) throw new CliError(parsed.problem);
      await withContext(options, async (ctx) => {
        const cfg = ctx.config.jails.find((j) => j.name === jail);
        if (!cfg) {
          throw new CliError(
            `no jail ${JSON.stringify(jail)} (jails: ${ctx.config.jails.map((j) => j.name).join(', ')}; the manual jail has no detector settings)`,
            ExitCode.NotFound,
          );
        }
        const all = await ctx.store.listJailOverrides();
        const current = all.find((o) => o.jail === jail) ?? { jail };
        const next = withSetting(current, setting as OverridableSetting, parsed.value);
        await ctx.store.putJailOverride(next);
        const settings = jailSettings(cfg, [...all.filter((o) => o.jail !== jail), next]);
        if (options.json) {
          printJson({ jail, settings });
          return;
        }
        printLines([
          parsed.value === undefined
            ? `${jail}: ${setting} reset to the configured value`
            : `${jail}: ${setting} set to ${value} (in force within a minute; no deploy needed)`,
          ...settingsLines(settings),
        ]);
      });
    });
}
