/**
 * A fast start for the client commands: `bin/cairn` runs them from here without loading the
 * server's code (the operator commands in ../main.ts open the store and import all of it).
 */
import { Command } from 'commander'
import { clientCommands } from './index.js'

export async function runClient (argv: string[]): Promise<void> {
  const cli = new Command('cairn').description('Cairn: content-addressed file storage (client commands; `cairn --help` lists all)').showHelpAfterError()
  clientCommands(cli)
  await cli.parseAsync(argv)
}

/** the top-level names clientCommands registers */
export function clientCommandNames (): string[] {
  const cli = new Command('cairn')
  clientCommands(cli)
  return cli.commands.map(c => c.name())
}
