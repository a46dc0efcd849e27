/**
 * The client commands of `cairn` (login, put, get, ls, rm, pin, share, keys, status, ...):
 * a thin layer over @cairn/sdk talking to a server over HTTP, next to the operator commands
 * that open the store directly. See docs/cli.md.
 */
import type { Command } from 'commander'
import { accountCommands } from './account.js'
import { fileCommands } from './files.js'

export function clientCommands (cli: Command): void {
  // `keys list --json`: options after a subcommand are the subcommand's, not its group's
  // (commander needs this on every ancestor; the program itself has no options to lose)
  cli.enablePositionalOptions()
  accountCommands(cli)
  fileCommands(cli)
}
