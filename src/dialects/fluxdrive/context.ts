import type { Core } from '../../core/core.js'
import type { Metrics } from '../../http/metrics.js'
import type { Principal } from '../../core/accounts.js'
import type { FastifyRequest } from 'fastify'
import { CairnError } from '../../core/errors.js'

export interface FluxdriveDeps {
  core: Core
  metrics: Metrics
}

/** The authenticated principal, set by the dialect's onRequest hook. */
export function principalOf (req: FastifyRequest): Principal {
  const p = (req as FastifyRequest & { principal?: Principal }).principal
  if (p === undefined) throw new CairnError('unauthenticated', 'Invalid credentials')
  return p
}

/** the space that holds an account's FluxDrive files */
export const DRIVE_SPACE = 'fluxdrive'
